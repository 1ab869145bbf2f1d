package migrate

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beadsctl/beadsctl/schema"
)

// corpusEnviron is the caller's environment the corpus is evaluated with.
var corpusEnviron = []string{"HOME=/home/ci", "PATH=/usr/bin"}

// TestImportCorpus converts every ecosystem file of testdata/ecosystem,
// compares the result with its golden beads.hcl, loads that with
// schema.Load under the base and every profile, and checks mapped values.
func TestImportCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/ecosystem/*")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, file := range files {
		if strings.HasSuffix(file, ".golden") {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			// The ecosystem file sits beside the beads.hcl written, as in a project.
			out := t.TempDir()
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			eco := filepath.Join(out, filepath.Base(file))
			if err := os.WriteFile(eco, src, 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := ImportFile(eco, corpusEnviron, ImportOptions{
				Home:   "/home/ci",
				Exists: func(string) bool { return false },
			})
			if err != nil {
				t.Fatal(err)
			}
			golden := file + ".hcl.golden"
			got := strings.ReplaceAll(string(res.HCL), out, "$OUT")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./migrate -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("beads.hcl (-want +got):\n%s", diff)
			}
			path := filepath.Join(out, "beads.hcl")
			if err := os.WriteFile(path, res.HCL, 0o644); err != nil {
				t.Fatal(err)
			}
			cfgs := map[string]*schema.Config{}
			for _, p := range append([]string{""}, res.Profiles...) {
				cfg, _, diags := schema.Load(path, p, corpusEnviron)
				if diags.HasErrors() {
					t.Fatalf("profile %q: %s\n%s", p, diags.Error(), res.HCL)
				}
				cfgs[p] = cfg
			}
			if check := corpusChecks[filepath.Base(file)]; check != nil {
				check(t, cfgs, res)
				checked++
			} else {
				t.Errorf("no value checks for %s: add them to corpusChecks", file)
			}
		})
	}
	if checked < 6 {
		t.Errorf("checked %d corpus files, want at least 6", checked)
	}
}

func daemonOf(t *testing.T, cfg *schema.Config, name string) schema.Daemon {
	t.Helper()
	for _, d := range cfg.Daemons {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no daemon %q in %v", name, cfg.Daemons)
	return schema.Daemon{}
}

func hasWarning(res *Result, field string) bool {
	return slices.ContainsFunc(res.Warnings, func(w Warning) bool { return w.Field == field })
}

type checkFunc func(t *testing.T, cfgs map[string]*schema.Config, res *Result)

var corpusChecks = map[string]checkFunc{
	"badenv.config.js": func(t *testing.T, cfgs map[string]*schema.Config, res *Result) {
		d := daemonOf(t, cfgs[""], "web")
		if diff := cmp.Diff(map[string]string{"PORT": "8080"}, d.Environment); diff != "" {
			t.Errorf("environment (-want +got):\n%s", diff)
		}
		if p := daemonOf(t, cfgs["production"], "web"); p.Environment["NODE_ENV"] != "production" || len(p.Environment) != 2 {
			t.Errorf("production environment %v", p.Environment)
		}
		var left []string
		for _, w := range res.Warnings {
			if strings.Contains(w.Message, "cannot name an environment variable") {
				left = append(left, w.Field+" "+w.Message)
			}
		}
		if len(left) != 4 {
			t.Errorf("warnings for the names left out: %q, want 4", left)
		}
	},
	"seed.config.cjs": func(t *testing.T, cfgs map[string]*schema.Config, res *Result) {
		d := daemonOf(t, cfgs[""], "beads-daemon")
		want := []string{"bd", "daemon", "--start", "--foreground", "--interval", "5s"}
		if diff := cmp.Diff(want, d.Argv()); diff != "" {
			t.Errorf("argv (-want +got):\n%s", diff)
		}
		eq(t, "policy", d.Restart.Policy, "always")
		eq(t, "delay", d.Restart.Delay, 5*time.Second)
		eq(t, "max_restarts", d.Restart.MaxRestarts, 10)
		eq(t, "min_uptime", d.Restart.MinUptime, 10*time.Second)
		eq(t, "memory", d.Limits.Memory, uint64(200<<20))
		eq(t, "stop timeout", d.Stop.Timeout, 5*time.Second)
		eq(t, "out", d.Logs.Out, filepath.Join(d.Root, ".beads/pm2-out.log"))
		eq(t, "error", d.Logs.Error, filepath.Join(d.Root, ".beads/pm2-error.log"))
		eq(t, "combined", d.Logs.Combined, filepath.Join(d.Root, ".beads/pm2-combined.log"))
		eq(t, "timestamps", d.Logs.Timestamps, true)
		eq(t, "date_format", d.Logs.DateFormat, "YYYY-MM-DD HH:mm:ss Z")
		eq(t, "health", d.Health.Check, "beads-rpc")
		eq(t, "env", d.Environment["BD_AUTO_START_DAEMON"], "true")
		eq(t, "profiles", strings.Join(res.Profiles, ","), "development,production")
		eq(t, "production NODE_ENV", daemonOf(t, cfgs["production"], "beads-daemon").Environment["NODE_ENV"], "production")
		eq(t, "development keeps base env", daemonOf(t, cfgs["development"], "beads-daemon").Environment["BD_AUTO_START_DAEMON"], "true")
		if !hasWarning(res, "kill_signal") {
			t.Error("no warning about PM2's SIGINT default")
		}
	},
	"multi.config.js": func(t *testing.T, cfgs map[string]*schema.Config, res *Result) {
		web := daemonOf(t, cfgs[""], "web")
		if diff := cmp.Diff([]string{"node", "--max-old-space-size=256", "./server.js", "--port", "8080"}, web.Argv()); diff != "" {
			t.Errorf("web argv (-want +got):\n%s", diff)
		}
		eq(t, "backoff", web.Restart.Backoff, "exponential")
		eq(t, "delay", web.Restart.Delay, 100*time.Millisecond)
		eq(t, "max_delay", web.Restart.MaxDelay, 15*time.Second)
		eq(t, "max_restarts", web.Restart.MaxRestarts, 5)
		eq(t, "signal", web.Stop.Signal, "SIGTERM")
		eq(t, "PORT", web.Environment["PORT"], "8080")
		eq(t, "DEBUG", web.Environment["DEBUG"], "false")
		eq(t, "combined", web.Logs.Combined, filepath.Join(web.Root, "logs/web.log"))
		eq(t, "out", web.Logs.Out, "")
		eq(t, "staging", daemonOf(t, cfgs["staging"], "web").Environment["API_URL"], "https://staging.example.invalid")
		w := daemonOf(t, cfgs[""], "worker")
		if diff := cmp.Diff([]string{"python3", "worker.py", "--queue", "jobs high", "--verbose"}, w.Argv()); diff != "" {
			t.Errorf("worker argv (-want +got):\n%s", diff)
		}
		eq(t, "worker dir", w.Dir, filepath.Join(w.Root, "services/worker"))
		eq(t, "worker out (PM2: relative to cwd)", w.Logs.Out, filepath.Join(w.Root, "services/worker/out.log"))
		eq(t, "worker error", w.Logs.Error, "")
		eq(t, "policy", w.Restart.Policy, "on-failure")
		eq(t, "min_uptime", w.Restart.MinUptime, 5*time.Second)
		eq(t, "memory", w.Limits.Memory, uint64(1<<30))
		eq(t, "concurrency", daemonOf(t, cfgs["production"], "worker").Environment["QUEUE_CONCURRENCY"], "8")
		for _, f := range []string{"watch", "cron_restart", "instances", "exec_mode"} {
			if !hasWarning(res, f) {
				t.Errorf("no warning for %s", f)
			}
		}
	},
	"computed.config.js": func(t *testing.T, cfgs map[string]*schema.Config, res *Result) {
		d := daemonOf(t, cfgs[""], "beads")
		eq(t, "interval", d.Interval, 5*time.Second)
		eq(t, "argv", strings.Join(d.Argv(), " "), "bd daemon --start --foreground --interval 5s")
		eq(t, "memory", d.Limits.Memory, uint64(200<<20))
		eq(t, "delay", d.Restart.Delay, 5*time.Second)
		eq(t, "policy (CI unset)", d.Restart.Policy, "always")
		eq(t, "combined (log_file: true)", d.Logs.Combined, filepath.Join(d.Root, ".beadsctl/logs/beads.log"))
		eq(t, "out via __dirname", d.Logs.Out, filepath.Join(d.Root, ".beads/out.log"))
		eq(t, "error via path.resolve", d.Logs.Error, filepath.Join(d.Root, ".beads/err.log"))
		eq(t, "HOME_HINT", d.Environment["HOME_HINT"], "ci")
		eq(t, "WORKERS", d.Environment["WORKERS"], "true")
		eq(t, "profiles", strings.Join(res.Profiles, ","), "development,production,staging")
		eq(t, "staging", daemonOf(t, cfgs["staging"], "beads").Environment["NODE_ENV"], "staging")
		if !hasWarning(res, "post_start") {
			t.Error("no warning for the function post_start")
		}
	},
	"ecosystem.json": func(t *testing.T, cfgs map[string]*schema.Config, res *Result) {
		d := daemonOf(t, cfgs[""], "beads")
		eq(t, "interval", d.Interval, 10*time.Second)
		eq(t, "policy", d.Restart.Policy, "never")
		eq(t, "timeout", d.Stop.Timeout, 8*time.Second)
		eq(t, "combined", d.Logs.Combined, filepath.Join(d.Root, ".beads/pm2.log"))
		eq(t, "out", d.Logs.Out, "")
		eq(t, "mode", d.Environment["BEADS_DAEMON_MODE"], "poll")
		eq(t, "production mode", daemonOf(t, cfgs["production"], "beads").Environment["BEADS_DAEMON_MODE"], "events")
	},
	"esm.config.mjs": func(t *testing.T, cfgs map[string]*schema.Config, res *Result) {
		d := daemonOf(t, cfgs[""], "beads")
		eq(t, "memory", d.Limits.Memory, uint64(300<<20))
		eq(t, "min_uptime", d.Restart.MinUptime, 2*time.Second)
		eq(t, "out", d.Logs.Out, filepath.Join(d.Root, ".beads/logs/out.log"))
		eq(t, "HOME_SET", d.Environment["HOME_SET"], "yes")
		eq(t, "development", daemonOf(t, cfgs["development"], "beads").Environment["NODE_ENV"], "development")
	},
	"exports.config.js": func(t *testing.T, cfgs map[string]*schema.Config, res *Result) {
		d := daemonOf(t, cfgs[""], "sync-job")
		eq(t, "argv", strings.Join(d.Argv(), " "), "bash scripts/sync.sh once --dry-run")
		eq(t, "memory", d.Limits.Memory, uint64(512<<10))
		eq(t, "delay", d.Restart.Delay, 250*time.Millisecond)
		eq(t, "max_restarts (PM2 default)", d.Restart.MaxRestarts, 16)
		eq(t, "stop timeout (PM2 default)", d.Stop.Timeout, 1600*time.Millisecond)
		for _, f := range []string{"wait_ready", "listen_timeout", "deploy", "name"} {
			if !hasWarning(res, f) {
				t.Errorf("no warning for %s", f)
			}
		}
	},
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestSandbox(t *testing.T) {
	tests := map[string]struct {
		src     string
		file    string
		wantErr string
	}{
		"fs":           {src: `const fs = require('fs'); module.exports = {apps: []}`, wantErr: `require("fs")`},
		"child":        {src: `require('child_process').execSync('true')`, wantErr: `require("child_process")`},
		"process.exit": {src: `process.exit(1)`, wantErr: "no member 'exit'"},
		"loop":         {src: `while (true) {}`, wantErr: "did not finish evaluating in time"},
		"syntax":       {src: `module.exports = {`, wantErr: "x.config.js"},
		"nothing":      {src: `module.exports = undefined`, wantErr: "exports nothing"},
		"named export": {src: "export const apps = []\nexport default {apps}", file: "x.mjs", wantErr: "only `export default`"},
		"no default":   {src: "export const apps = []", file: "x.mjs", wantErr: "must `export default`"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			file := tc.file
			if file == "" {
				file = "x.config.js"
			}
			start := time.Now()
			_, err := ReadEcosystem(file, []byte(tc.src), EvalOptions{Dir: "/p", Timeout: 200 * time.Millisecond})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
			if time.Since(start) > 2*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
	if _, err := ReadEcosystem("big.js", make([]byte, MaxSourceSize+1), EvalOptions{}); err == nil {
		t.Error("a source over MaxSourceSize was evaluated")
	}
	var loopErr error
	_, loopErr = ReadEcosystem("l.js", []byte("for(;;){}"), EvalOptions{Timeout: 50 * time.Millisecond})
	if !errors.Is(loopErr, ErrTimeout) {
		t.Errorf("loop: %v is not ErrTimeout", loopErr)
	}
	v, err := ReadEcosystem("e.js", []byte(`module.exports = {apps: [{name: process.env.APP, script: require('path').join(__dirname, 'x'), cwd: process.cwd()}]}`),
		EvalOptions{Dir: "/proj", Environ: []string{"APP=from-env"}})
	if err != nil {
		t.Fatal(err)
	}
	app := v.(map[string]any)["apps"].([]any)[0].(map[string]any)
	eq(t, "name", app["name"].(string), "from-env")
	eq(t, "script", app["script"].(string), "/proj/x")
	eq(t, "cwd", app["cwd"].(string), "/proj")
}

func TestConvertApp(t *testing.T) {
	v := map[string]any{"apps": []any{
		map[string]any{"name": "a", "script": "bd", "args": "daemon --start"},
		map[string]any{"name": "b", "script": "bd", "args": "daemon --start"},
	}}
	res, err := Convert(v, ImportOptions{App: "b", SourceDir: "/p", Exists: func(string) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "daemons", strings.Join(res.Daemons, ","), "b")
	if _, err := Convert(v, ImportOptions{App: "zz", SourceDir: "/p"}); err == nil || !strings.Contains(err.Error(), `no app named "zz" in the ecosystem file; its apps: a, b`) {
		t.Errorf("err = %v", err)
	}
	// PM2 runs ./bd from the app's cwd before bd on PATH.
	res, err = Convert(v, ImportOptions{App: "a", SourceDir: "/p", Exists: func(p string) bool { return p == "/p/bd" }})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.HCL), `command = "./bd"`) {
		t.Errorf("want ./bd:\n%s", res.HCL)
	}
}

// TestConvertEnvFile: PM2's env_file names a dotenv file; it was written as a
// profile named "file" (env "file" {}), then a warning that env files were
// not read. It is env_file now, resolved against the app's cwd, and no profile.
func TestConvertEnvFile(t *testing.T) {
	v := map[string]any{"apps": []any{map[string]any{
		"name": "web", "script": "sleep", "env_file": ".env", "cwd": "app",
		"env_production": map[string]any{"NODE_ENV": "production"},
	}}}
	res, err := Convert(v, ImportOptions{SourceDir: "/p", OutDir: "/p", Exists: func(string) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"production"}, res.Profiles); diff != "" {
		t.Errorf("profiles (-want +got):\n%s", diff)
	}
	if strings.Contains(string(res.HCL), `env "file"`) {
		t.Errorf("env_file became a profile:\n%s", res.HCL)
	}
	if !strings.Contains(string(res.HCL), `env_file = "app/.env"`) {
		t.Errorf("no env_file = \"app/.env\":\n%s", res.HCL)
	}
	for _, w := range res.Warnings {
		if w.Field == "env_file" {
			t.Errorf("env_file still warned: %+v", w)
		}
	}
}
