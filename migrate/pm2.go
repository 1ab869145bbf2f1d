package migrate

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/beadsctl/beadsctl/schema"
)

// ImportOptions tune Convert.
type ImportOptions struct {
	// App, when set, converts only the app of that name.
	App string
	// Source names the ecosystem file in the header comment.
	Source string
	// SourceDir is the folder PM2 resolved relative paths against: the folder
	// `pm2 start` ran in, which is the ecosystem file's in every usual setup.
	SourceDir string
	// OutDir is the folder of the beads.hcl written (relative paths in it
	// resolve against it); SourceDir when empty.
	OutDir string
	// Home replaces a leading ~ in log paths, as PM2 does.
	Home string
	// Exists tells whether a file exists; PM2 runs a script found in the app's
	// cwd before one on PATH. nil: os.Stat.
	Exists func(path string) bool
}

// Warning is something that has no equivalent in beads.hcl or changes meaning.
type Warning struct {
	App     string `json:"app"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (w Warning) String() string {
	return fmt.Sprintf("app %q: %s: %s", w.App, w.Field, w.Message)
}

// Result is a converted ecosystem file.
type Result struct {
	// HCL is the formatted beads.hcl.
	HCL []byte
	// Daemons are the daemon names, in the order of the apps.
	Daemons  []string
	Warnings []Warning
	// Profiles are the env profile names written (from env_<name>), sorted.
	Profiles []string
}

// ImportFile reads and converts an ecosystem file in one step.
func ImportFile(file string, environ []string, opts ImportOptions) (*Result, error) {
	src, err := readBounded(file)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	if opts.SourceDir == "" {
		opts.SourceDir = filepath.Dir(abs)
	}
	if opts.Source == "" {
		opts.Source = filepath.Base(file)
	}
	v, err := ReadEcosystem(filepath.Base(file), src, EvalOptions{Dir: filepath.Dir(abs), Environ: environ, Home: opts.Home})
	if err != nil {
		return nil, err
	}
	return Convert(v, opts)
}

func readBounded(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, MaxSourceSize+1)
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil {
			break
		}
	}
	return buf[:n], nil
}

// interpreters maps script extensions to the interpreter PM2 picks
// (pm2/lib/API/interpreter.json); other non-binary scripts run under node.
var interpreters = map[string]string{
	".sh": "bash", ".py": "python", ".rb": "ruby", ".php": "php", ".pl": "perl",
	".js": "node", ".cjs": "node", ".mjs": "node", ".coffee": "coffee", ".ls": "lsc", ".ts": "bun", ".tsx": "bun",
}

// handled are the PM2 options Convert maps; the others are reported.
var handled = map[string]bool{
	"name": true, "script": true, "args": true, "cwd": true, "interpreter": true, "exec_interpreter": true,
	"interpreter_args": true, "node_args": true, "env": true, "autorestart": true, "max_memory_restart": true,
	"restart_delay": true, "exp_backoff_restart_delay": true, "max_restarts": true, "min_uptime": true,
	"kill_timeout": true, "kill_signal": true, "stop_exit_codes": true, "out_file": true, "output": true,
	"error_file": true, "error": true, "log_file": true, "log": true, "time": true, "log_date_format": true,
	"merge_logs": true, "combine_logs": true, "instances": true, "exec_mode": true, "port": true,
	"disable_logs": true,
}

// unsupported explains the options with no equivalent, by name.
var unsupported = map[string]string{
	"watch":                 "beadsctl does not restart on file changes; run `beadsctl restart` after a change, or keep a file watcher outside",
	"ignore_watch":          "beadsctl has no file watching",
	"watch_options":         "beadsctl has no file watching",
	"watch_delay":           "beadsctl has no file watching",
	"cron_restart":          "beadsctl has no scheduled restarts; use cron or a systemd timer running `beadsctl restart`",
	"wait_ready":            "beadsctl does not wait for process.send('ready'); a daemon is online when it runs, and healthy when its health check passes (bd: the RPC answers)",
	"listen_timeout":        "beadsctl does not wait for a ready message; apply --timeout bounds the wait for online/healthy",
	"shutdown_with_message": "beadsctl stops with a signal (stop.signal), never with an IPC message",
	"treekill":              "beadsctl always signals the whole process group",
	"autostart":             "apply starts every daemon declared; remove the daemon block, or `beadsctl stop` it after apply",
	"increment_var":         "beadsctl runs one instance",
	"instance_var":          "beadsctl runs one instance",
	"namespace":             "beadsctl groups daemons by project folder, not by namespace",
	"vizion":                "beadsctl does not track versioning metadata",
	"source_map_support":    "no equivalent (a Node.js option)",
	"pid_file":              "beadsctl records pids in .beadsctl/state.json, with their start times",
	"filter_env":            "beadsctl starts daemons with the agent's environment plus environment; nothing is filtered",
	"append_env_to_name":    "daemon names do not change with the profile",
	"log_type":              "log lines are written as text (with timestamps when logs.timestamps is set), not JSON",
	"force":                 "beadsctl never starts a daemon twice",
	"post_update":           "no equivalent",
	"max":                   "no equivalent",
}

// Convert maps the value an ecosystem file exports (see ReadEcosystem) to a
// formatted beads.hcl: one daemon block per app, one env block per env_<name>.
func Convert(exported any, opts ImportOptions) (*Result, error) {
	if opts.OutDir == "" {
		opts.OutDir = opts.SourceDir
	}
	if opts.Exists == nil {
		opts.Exists = func(p string) bool { _, err := os.Stat(p); return err == nil }
	}
	apps, topWarn, err := appsOf(exported)
	if err != nil {
		return nil, err
	}
	res := &Result{Warnings: topWarn}
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	comment(root, fmt.Sprintf("beads.hcl: converted by `beadsctl import pm2` from %s.", orDefault(opts.Source, "an ecosystem file")))
	comment(root, "PM2 durations in milliseconds became Go durations; comments mark every other conversion.")
	root.AppendNewline()

	profiles := map[string]map[string]map[string]string{} // profile -> daemon -> env
	seen := map[string]bool{}
	var names []string
	var all []string // every app's name, for a --app that names none
	for i, app := range apps {
		c := &converter{app: app, opts: opts}
		c.name = c.appName(i)
		all = append(all, c.name)
		if opts.App != "" && c.name != opts.App && str(app["name"]) != opts.App {
			continue
		}
		if seen[c.name] {
			return nil, fmt.Errorf("two apps are named %q; beads.hcl needs unique daemon names", c.name)
		}
		seen[c.name] = true
		names = append(names, c.name)
		if err := c.daemon(root); err != nil {
			return nil, err
		}
		root.AppendNewline()
		res.Warnings = append(res.Warnings, c.warns...)
		for p, env := range c.profiles {
			if profiles[p] == nil {
				profiles[p] = map[string]map[string]string{}
			}
			profiles[p][c.name] = env
		}
	}
	if len(names) == 0 {
		if opts.App != "" {
			if len(all) == 0 {
				return nil, fmt.Errorf("no app named %q: the ecosystem file declares no apps", opts.App)
			}
			return nil, fmt.Errorf("no app named %q in the ecosystem file; its apps: %s", opts.App, strings.Join(all, ", "))
		}
		return nil, fmt.Errorf("the ecosystem file declares no apps")
	}
	for _, p := range slices.Sorted(maps.Keys(profiles)) {
		res.Profiles = append(res.Profiles, p)
		pb := root.AppendNewBlock("env", []string{p}).Body()
		for _, d := range names {
			env, ok := profiles[p][d]
			if !ok {
				continue
			}
			db := pb.AppendNewBlock("daemon", []string{d}).Body()
			db.SetAttributeValue("environment", strMap(env))
		}
		root.AppendNewline()
	}
	res.Daemons = names
	res.HCL = append(bytes.TrimRight(hclwrite.Format(f.Bytes()), "\n"), '\n')
	return res, nil
}

// appsOf finds the app list: {apps: [...]}, {pm2: [...]}, an array, or one app.
func appsOf(v any) ([]map[string]any, []Warning, error) {
	var warns []Warning
	var list any = v
	if m, ok := v.(map[string]any); ok {
		switch {
		case m["apps"] != nil:
			list = m["apps"]
		case m["pm2"] != nil:
			list = m["pm2"]
		case m["script"] != nil:
			list = []any{m}
		default:
			return nil, nil, fmt.Errorf("the ecosystem file exports an object without apps (keys: %s)", strings.Join(slices.Sorted(maps.Keys(m)), ", "))
		}
		for _, k := range []string{"deploy", "static"} {
			if m[k] != nil {
				warns = append(warns, Warning{App: "*", Field: k, Message: "PM2 " + k + " settings have no equivalent in beads.hcl; ignored"})
			}
		}
	}
	switch l := list.(type) {
	case map[string]any:
		return []map[string]any{l}, warns, nil
	case []any:
		var apps []map[string]any
		for i, a := range l {
			m, ok := a.(map[string]any)
			if !ok {
				return nil, nil, fmt.Errorf("apps[%d] is %s, not an object", i, describe(a))
			}
			apps = append(apps, m)
		}
		return apps, warns, nil
	}
	return nil, nil, fmt.Errorf("apps is %s, not a list of objects", describe(list))
}

type converter struct {
	app      map[string]any
	opts     ImportOptions
	name     string
	warns    []Warning
	profiles map[string]map[string]string
}

func (c *converter) warn(field, format string, args ...any) {
	c.warns = append(c.warns, Warning{App: c.name, Field: field, Message: fmt.Sprintf(format, args...)})
}

var invalidName = lazyRegexp(`[^A-Za-z0-9_.-]+`)

// lazyRegexp compiles expr the first time it is used, not when beadsctl
// starts (every command paid for the package-level regexps of every package).
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

func (c *converter) appName(i int) string {
	n := str(c.app["name"])
	if n == "" {
		s := str(c.app["script"])
		n = strings.TrimSuffix(filepath.Base(s), filepath.Ext(s))
	}
	clean := strings.TrimLeft(invalidName().ReplaceAllString(n, "-"), "-_.")
	if clean == "" {
		clean = fmt.Sprintf("app%d", i+1)
	}
	return clean
}

func (c *converter) daemon(root *hclwrite.Body) error {
	app := c.app
	for _, k := range slices.Sorted(maps.Keys(app)) {
		if reflect.ValueOf(app[k]).Kind() == reflect.Func {
			c.warn(k, "is a function; PM2 does not call it either, so it is ignored")
			delete(app, k)
		}
	}
	if n := str(app["name"]); n != "" && n != c.name {
		c.warn("name", "%q is not a valid daemon name; written as %q", n, c.name)
	}
	script := str(app["script"])
	if script == "" {
		return fmt.Errorf("app %q has no script", c.name)
	}
	blk := root.AppendNewBlock("daemon", []string{c.name})
	b := blk.Body()

	// PM2 resolves the app's cwd against the folder it was started in, and
	// log files against the app's cwd; beads.hcl resolves both against its own folder.
	cwd := str(app["cwd"])
	appDir := c.opts.SourceDir
	if cwd != "" {
		appDir = c.abs(c.opts.SourceDir, cwd)
	}

	command, args, note := c.command(script, appDir)
	args = append(args, c.args()...)
	interval := ""
	if filepath.Base(command) == "bd" && len(args) > 0 && args[0] == "daemon" {
		args, interval = cutInterval(args)
	}
	setComment(b, "command", cty.StringVal(command), note)
	argsNote := ""
	if _, ok := app["args"].(string); ok {
		argsNote = "args: split from a string as a shell would"
	}
	setComment(b, "args", strList(args), argsNote)
	if interval != "" {
		setComment(b, "interval", cty.StringVal(interval), "from args: --interval "+interval)
	}
	if rel := c.rel(appDir); rel != "." {
		setComment(b, "dir", cty.StringVal(rel), "cwd: "+strconv.Quote(cwd))
	}
	env := c.env(app["env"], "env")
	if p := app["port"]; p != nil {
		if env == nil {
			env = map[string]string{}
		}
		env["PORT"] = scalar(p)
	}
	c.envFile(b, appDir)
	if len(env) > 0 {
		b.SetAttributeValue("environment", strMap(env))
	}
	for _, k := range slices.Sorted(maps.Keys(app)) {
		if k == "env_file" {
			continue // PM2's env_file names a dotenv file, not a profile called "file"
		}
		if name, ok := strings.CutPrefix(k, "env_"); ok {
			if invalidName().MatchString(name) || name == "" {
				c.warn(k, "%q cannot be an env profile name; ignored", name)
				continue
			}
			if c.profiles == nil {
				c.profiles = map[string]map[string]string{}
			}
			c.profiles[name] = c.env(app[k], k)
			if c.profiles[name] == nil {
				c.profiles[name] = map[string]string{}
			}
		}
	}
	c.restart(b)
	c.limits(b)
	c.stop(b)
	c.logs(b, appDir)
	c.unsupported()
	return nil
}

// envFile maps PM2's env_file (a dotenv file, or a list of them) to
// env_file, each path resolved as PM2 resolves the app's files (against its
// cwd) and written relative to beads.hcl.
func (c *converter) envFile(b *hclwrite.Body, appDir string) {
	v, ok := c.app["env_file"]
	if !ok || v == nil {
		return
	}
	var written []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			written = append(written, scalar(e))
		}
	default:
		written = []string{scalar(v)}
	}
	var paths []cty.Value
	changed := false
	for _, s := range written {
		p := s
		if strings.HasPrefix(p, "~/") && c.opts.Home != "" {
			p = filepath.Join(c.opts.Home, p[2:])
		}
		p = c.rel(c.abs(appDir, p))
		changed = changed || p != s
		paths = append(paths, cty.StringVal(p))
	}
	note := "environment below wins over the file"
	if changed {
		note = "env_file: " + strings.Join(written, ", ") + "; " + note
	}
	if len(paths) == 1 {
		setComment(b, "env_file", paths[0], note)
		return
	}
	setComment(b, "env_file", cty.ListVal(paths), note)
}

func (c *converter) command(script, appDir string) (command string, args []string, note string) {
	interp := str(c.app["interpreter"])
	if interp == "" {
		interp = str(c.app["exec_interpreter"])
	}
	iargs := c.stringsOf("interpreter_args")
	if len(iargs) == 0 {
		iargs = c.stringsOf("node_args")
	}
	// PM2 runs a script found in the app's cwd before one on PATH.
	if !strings.ContainsRune(script, '/') && c.opts.Exists(filepath.Join(appDir, script)) {
		script = "./" + script
		note = "PM2 ran the script in cwd, not one on PATH"
	}
	if interp == "" {
		ext := filepath.Ext(script)
		interp = interpreters[ext]
		switch {
		case interp != "":
			note = joinNote(note, fmt.Sprintf("PM2 runs %s scripts with %s", ext, interp))
		case ext == "":
			interp = "none" // a binary, which PM2 detects and runs directly
		default:
			interp = "node"
			note = joinNote(note, "PM2 runs scripts that are not binaries with node")
		}
	}
	if interp == "none" {
		if len(iargs) > 0 {
			c.warn("interpreter_args", "ignored: the script runs without an interpreter")
		}
		return script, nil, note
	}
	return interp, append(iargs, script), joinNote(note, "interpreter "+interp+" runs script "+strconv.Quote(script))
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// args reads args as a list, or as a string split as a shell would.
func (c *converter) args() []string {
	switch v := c.app["args"].(type) {
	case nil:
		return nil
	case string:
		return shellSplit(v)
	}
	return c.stringsOf("args")
}

func (c *converter) stringsOf(key string) []string {
	switch v := c.app[key].(type) {
	case nil:
		return nil
	case string:
		return shellSplit(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			out = append(out, scalar(e))
		}
		return out
	default:
		c.warn(key, "is %s, not a list or a string; ignored", describe(v))
		return nil
	}
}

// shellSplit splits a command line at blanks, honouring single and double
// quotes and backslashes.
func shellSplit(s string) []string {
	var out []string
	var cur strings.Builder
	in, quote, esc := false, rune(0), false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc, in = false, true
		case r == '\\' && quote != '\'':
			esc = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// cutInterval moves bd's --interval D out of args.
func cutInterval(args []string) ([]string, string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--interval" && i+1 < len(args) {
			iv := args[i+1]
			return append(append([]string{}, args[:i]...), args[i+2:]...), iv
		}
		if v, ok := strings.CutPrefix(a, "--interval="); ok {
			return append(append([]string{}, args[:i]...), args[i+1:]...), v
		}
	}
	return args, ""
}

func (c *converter) env(v any, field string) map[string]string {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		c.warn(field, "is %s, not an object; ignored", describe(v))
		return nil
	}
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		x := m[k]
		if !schema.ValidEnvName(k) {
			// beads.hcl would refuse it, and so the whole file.
			c.warn(field, "%q cannot name an environment variable; ignored", k)
			continue
		}
		switch x.(type) {
		case map[string]any, []any:
			c.warn(field, "%s is %s; PM2 passes it as %q, so beads.hcl does too", k, describe(x), "[object Object]")
			out[k] = "[object Object]"
			continue
		case nil:
			continue
		}
		if reflect.ValueOf(x).Kind() == reflect.Func {
			c.warn(field, "%s is a function; ignored", k)
			continue
		}
		out[k] = scalar(x)
	}
	return out
}

func (c *converter) restart(root *hclwrite.Body) {
	app := c.app
	var b *hclwrite.Body
	body := func() *hclwrite.Body {
		if b == nil {
			b = root.AppendNewBlock("restart", nil).Body()
		}
		return b
	}
	policy := ""
	if v, ok := app["autorestart"]; ok && !truthy(v) {
		policy = "never"
		setComment(body(), "policy", cty.StringVal("never"), "autorestart: false")
	}
	if codes := c.stringsOf("stop_exit_codes"); len(codes) > 0 {
		switch {
		case policy == "never":
		case len(codes) == 1 && codes[0] == "0":
			setComment(body(), "policy", cty.StringVal("on-failure"), "stop_exit_codes: [0]")
		default:
			c.warn("stop_exit_codes", "beadsctl cannot single out exit codes %s: restart.policy is \"always\" (every exit restarts) or \"on-failure\" (exit 0 does not)", strings.Join(codes, ", "))
		}
	}
	if v, ok := app["exp_backoff_restart_delay"]; ok {
		if d, ok := c.ms("exp_backoff_restart_delay", v); ok {
			setComment(body(), "delay", cty.StringVal(goDuration(d)), "exp_backoff_restart_delay: "+scalar(v))
			body().SetAttributeValue("backoff", cty.StringVal("exponential"))
			setComment(body(), "max_delay", cty.StringVal("15s"), "PM2 caps its exponential backoff at 15s")
			if _, both := app["restart_delay"]; both {
				c.warn("restart_delay", "ignored, as PM2 does when exp_backoff_restart_delay is set")
			}
		}
	} else if v, ok := app["restart_delay"]; ok {
		if d, ok := c.ms("restart_delay", v); ok {
			setComment(body(), "delay", cty.StringVal(goDuration(d)), "restart_delay: "+scalar(v))
		}
	}
	if v, ok := app["max_restarts"]; ok {
		if n, ok := intOf(v); ok && n >= 0 {
			body().SetAttributeValue("max_restarts", cty.NumberIntVal(n))
		} else {
			c.warn("max_restarts", "%s is not a whole number; ignored", scalar(v))
		}
	} else {
		setComment(body(), "max_restarts", cty.NumberIntVal(16), "PM2's default (beadsctl's is 10)")
	}
	if v, ok := app["min_uptime"]; ok {
		if d, ok := c.ms("min_uptime", v); ok {
			setComment(body(), "min_uptime", cty.StringVal(goDuration(d)), "min_uptime: "+scalar(v))
		}
	} else {
		setComment(body(), "min_uptime", cty.StringVal("1s"), "PM2's default (beadsctl's is 10s)")
	}
}

func (c *converter) limits(root *hclwrite.Body) {
	v, ok := c.app["max_memory_restart"]
	if !ok {
		return
	}
	s := scalar(v)
	if _, err := schema.ParseSize(s); err != nil {
		c.warn("max_memory_restart", "%v; no memory limit written", err)
		return
	}
	b := root.AppendNewBlock("limits", nil).Body()
	if _, isString := v.(string); isString {
		b.SetAttributeValue("memory", cty.StringVal(s))
	} else {
		setComment(b, "memory", cty.StringVal(s), "bytes")
	}
}

func (c *converter) stop(root *hclwrite.Body) {
	app := c.app
	var b *hclwrite.Body
	if v, ok := app["kill_signal"]; ok {
		b = root.AppendNewBlock("stop", nil).Body()
		if sig, err := schema.ParseSignal(scalar(v)); err == nil {
			b.SetAttributeValue("signal", cty.StringVal(sig))
		} else {
			c.warn("kill_signal", "%v; beadsctl will send SIGTERM", err)
		}
	} else {
		bd := ""
		if filepath.Base(str(app["script"])) == "bd" {
			bd = " (bd stops the same way on either)"
		}
		c.warn("kill_signal", "not set: PM2 stops with SIGINT, beadsctl with SIGTERM%s; set stop.signal = \"SIGINT\" to keep PM2's", bd)
	}
	if v, ok := app["kill_timeout"]; ok {
		if d, ok := c.ms("kill_timeout", v); ok {
			if b == nil {
				b = root.AppendNewBlock("stop", nil).Body()
			}
			setComment(b, "timeout", cty.StringVal(goDuration(d)), "kill_timeout: "+scalar(v)+", then SIGKILL")
		}
	} else {
		if b == nil {
			b = root.AppendNewBlock("stop", nil).Body()
		}
		setComment(b, "timeout", cty.StringVal("1600ms"), "PM2's default kill_timeout (beadsctl's is 5s)")
	}
}

func (c *converter) logs(root *hclwrite.Body, appDir string) {
	app := c.app
	b := root.AppendNewBlock("logs", nil).Body()
	path := func(field string, alias string) (string, bool, string) {
		v, ok := app[field]
		if !ok && alias != "" {
			v, ok = app[alias]
			field = alias
		}
		if !ok || v == nil {
			return "", false, ""
		}
		s := scalar(v)
		if s == "/dev/null" || s == "NULL" {
			return "", true, field + ": " + s
		}
		if strings.HasPrefix(s, "~/") && c.opts.Home != "" {
			s = filepath.Join(c.opts.Home, s[2:])
		}
		r := c.rel(c.abs(appDir, s))
		if r == scalar(v) {
			return r, true, ""
		}
		return r, true, field + ": " + strconv.Quote(scalar(v))
	}
	out, hasOut, outNote := path("out_file", "output")
	errf, hasErr, errNote := path("error_file", "error")
	combined, hasComb, combNote := "", false, ""
	switch v := app["log_file"]; v.(type) {
	case bool:
		if v.(bool) {
			combined, hasComb, combNote = filepath.Join(schema.DefaultLogDir, c.name+".log"), true, "log_file: true (PM2 wrote ~/.pm2/logs/"+c.name+".log)"
		}
	default:
		combined, hasComb, combNote = path("log_file", "log")
	}
	if truthy(app["disable_logs"]) {
		out, errf, hasOut, hasErr, outNote, errNote = "", "", true, true, "disable_logs: true", "disable_logs: true"
	}
	if hasOut && hasErr && out != "" && out == errf {
		if !hasComb || combined == out {
			combined, hasComb, combNote = out, true, "out_file and error_file are one file"
			out, errf, outNote, errNote = "", "", "written to combined", "written to combined"
		} else {
			c.warn("error_file", "is out_file too; beadsctl writes stderr only to combined %q", combined)
			errf, errNote = "", "same file as out_file"
		}
	}
	if hasComb && combined != "" && (combined == out || combined == errf) {
		c.warn("log_file", "%q is also out_file or error_file; beadsctl would write its lines twice, so no combined log is written", combined)
		hasComb = false
	}
	if hasOut {
		setComment(b, "out", cty.StringVal(out), outNote)
	} else {
		comment(b, fmt.Sprintf("out: PM2 wrote ~/.pm2/logs/%s-out.log; beadsctl's default is %s", c.name, filepath.Join(schema.DefaultLogDir, c.name+".out.log")))
	}
	if hasErr {
		setComment(b, "error", cty.StringVal(errf), errNote)
	} else {
		comment(b, fmt.Sprintf("error: PM2 wrote ~/.pm2/logs/%s-error.log; beadsctl's default is %s", c.name, filepath.Join(schema.DefaultLogDir, c.name+".err.log")))
	}
	if hasComb {
		setComment(b, "combined", cty.StringVal(combined), combNote)
	}
	df := str(app["log_date_format"])
	if truthy(app["time"]) || df != "" {
		note := "time: true"
		if df != "" && !truthy(app["time"]) {
			note = "PM2 prefixes timestamps when log_date_format is set"
		}
		setComment(b, "timestamps", cty.True, note)
	}
	if df != "" {
		setComment(b, "date_format", cty.StringVal(df), "moment.js tokens, Go layout "+strconv.Quote(schema.MomentToGoLayout(df)))
	}
}

func (c *converter) unsupported() {
	app := c.app
	if v, ok := app["instances"]; ok {
		if n, ok := intOf(v); !ok || n != 1 {
			c.warn("instances", "%s: beadsctl runs one process per daemon; declare more daemon blocks to run several (bd allows one daemon per workspace)", scalar(v))
		}
	}
	if m := str(app["exec_mode"]); strings.HasPrefix(m, "cluster") {
		c.warn("exec_mode", "cluster mode (Node.js cluster, shared ports) has no equivalent; the daemon runs as one forked process")
	}
	for _, k := range slices.Sorted(maps.Keys(app)) {
		if handled[k] || strings.HasPrefix(k, "env_") {
			continue
		}
		why, known := unsupported[k]
		if !known {
			why = "not a PM2 option beadsctl knows"
		}
		if k == "autostart" && truthy(app[k]) || k == "treekill" && truthy(app[k]) || k == "watch" && !truthy(app[k]) ||
			k == "wait_ready" && !truthy(app[k]) || k == "vizion" || k == "source_map_support" || k == "namespace" {
			continue // the value changes nothing
		}
		c.warn(k, "%s; ignored", why)
	}
}

// ms reads a PM2 duration: a number of milliseconds, or a string with a unit.
func (c *converter) ms(field string, v any) (time.Duration, bool) {
	if n, ok := intOf(v); ok && n >= 0 {
		return time.Duration(n) * time.Millisecond, true
	}
	if s, ok := v.(string); ok {
		if d, err := schema.ParseDuration(s); err == nil {
			return d, true
		}
	}
	c.warn(field, "%s is not milliseconds; ignored", scalar(v))
	return 0, false
}

// goDuration writes d in its shortest Go form: "5s", "1m", "1500ms".
func goDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}

func (c *converter) abs(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// rel writes an absolute path relative to the output folder when it is inside it.
func (c *converter) rel(p string) string {
	r, err := filepath.Rel(c.opts.OutDir, p)
	if err != nil || strings.HasPrefix(r, "..") {
		return p
	}
	return filepath.ToSlash(r)
}

func comment(b *hclwrite.Body, text string) {
	b.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte("# " + text + "\n")}})
}

// setComment sets an attribute with a trailing comment (none when note is "").
func setComment(b *hclwrite.Body, name string, v cty.Value, note string) {
	if note == "" {
		b.SetAttributeValue(name, v)
		return
	}
	toks := hclwrite.TokensForValue(v)
	toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenComment, Bytes: []byte("# " + note)})
	b.SetAttributeRaw(name, toks)
}

func strList(ss []string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vs := make([]cty.Value, len(ss))
	for i, s := range ss {
		vs[i] = cty.StringVal(s)
	}
	return cty.TupleVal(vs)
}

func strMap(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	vs := map[string]cty.Value{}
	for k, v := range m {
		vs[k] = cty.StringVal(v)
	}
	return cty.ObjectVal(vs)
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// scalar is v as JavaScript's String(v) writes it.
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func intOf(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) {
			return int64(x), true
		}
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// truthy is JavaScript's truthiness for the values an ecosystem file holds.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != "" && x != "false"
	case int64:
		return x != 0
	case float64:
		return x != 0
	}
	return true
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
