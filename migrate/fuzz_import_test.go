package migrate

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// FuzzImportPM2 feeds arbitrary ecosystem files, JavaScript and JSON, through
// the sandbox and the converter: no panic, no hang past the time limit, and a
// file that converts is a beads.hcl that parses.
func FuzzImportPM2(f *testing.F) {
	f.Add("ecosystem.config.cjs", `module.exports = { apps: [{ name: "beads-daemon", script: "bd", args: "daemon --start --foreground --interval 5s", max_memory_restart: "200M", kill_timeout: 5000, env_production: { NODE_ENV: "production" } }] }`)
	f.Add("ecosystem.config.js", `const path = require('path'); module.exports = { apps: [{ name: 'a', script: path.join(__dirname, 'run.sh'), cwd: __dirname, instances: 2, watch: true }] }`)
	f.Add("ecosystem.config.mjs", `export default { apps: [{ name: "m", script: "node", args: ["x.js"], restart_delay: 100, exp_backoff_restart_delay: 100 }] }`)
	f.Add("ecosystem.config.json", `{"apps": [{"name": "j", "script": "sleep", "args": "1000", "autorestart": false, "log_date_format": "YYYY-MM-DD HH:mm Z"}]}`)
	f.Add("ecosystem.config.js", `module.exports = { apps: [{ name: () => "f", script: require("fs") }] }`)
	f.Add("ecosystem.config.js", `while (true) {}`)
	f.Add("ecosystem.config.js", `module.exports = { apps: [{ name: "x", script: "bd", env: { A: process.env.HOME, B: require("os").homedir() } }] }`)
	f.Add("ecosystem.config.json", `{"apps": [{"name": "", "script": ""}]}`)
	// The sandbox gaps of issue 13 item 11 and their kin (see hostileSources).
	for _, h := range hostileSources {
		f.Add("ecosystem.config.js", h.src)
	}
	f.Fuzz(func(t *testing.T, name, src string) {
		switch filepath.Ext(name) {
		case ".js", ".cjs", ".mjs", ".json":
		default:
			name = "ecosystem.config.js"
		}
		dir := t.TempDir()
		start := time.Now()
		v, err := ReadEcosystem(name, []byte(src), EvalOptions{Dir: dir, Environ: []string{"HOME=" + dir}, Timeout: 200 * time.Millisecond})
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("evaluation took %v with a 200ms limit", d)
		}
		if err != nil {
			return
		}
		res, err := Convert(v, ImportOptions{Source: name, SourceDir: dir, Home: dir, Exists: func(string) bool { return false }})
		if err != nil || res == nil {
			return
		}
		if _, diags := hclsyntax.ParseConfig(res.HCL, "beads.hcl", hcl.InitialPos); diags.HasErrors() {
			t.Errorf("converted file is not HCL:\n%s\n%s", res.HCL, diags.Error())
		}
	})
}
