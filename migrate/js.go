package migrate

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// MaxSourceSize bounds the ecosystem file read. goja has no heap cap, so the
// size of the source (together with the time limit) is the only memory bound:
// a small file can still build a large array in the time allowed, which is
// the accepted risk of evaluating a config file the user wrote.
const MaxSourceSize = 1 << 20

// DefaultEvalTimeout is how long the JavaScript of an ecosystem file may run.
const DefaultEvalTimeout = 2 * time.Second

// EvalOptions is what the sandbox gives the script.
type EvalOptions struct {
	// Dir is __dirname and what process.cwd() and path.resolve start from (PM2
	// resolves relative paths against the folder it was started in, which is
	// the folder of the ecosystem file in every setup we know).
	Dir string
	// Environ is process.env (KEY=VALUE pairs, os.Environ() in the CLI).
	Environ []string
	// Home is os.homedir() (from Environ's HOME when empty).
	Home string
	// Timeout bounds the evaluation (DefaultEvalTimeout when 0).
	Timeout time.Duration
}

// ErrTimeout is wrapped when the script runs past the time limit.
var ErrTimeout = errors.New("ecosystem file did not finish evaluating in time")

// ReadEcosystem evaluates an ecosystem file (.js, .cjs, .mjs or .json) and
// returns what it exports, as plain Go values (map[string]any, []any, string,
// float64/int64, bool; functions stay goja values and are reported by Convert).
func ReadEcosystem(file string, src []byte, opts EvalOptions) (any, error) {
	if len(src) > MaxSourceSize {
		return nil, fmt.Errorf("%s: %d bytes is larger than the %d bytes an ecosystem file may have", file, len(src), MaxSourceSize)
	}
	if strings.HasSuffix(file, ".json") {
		// JSON is evaluated as a JavaScript expression with the same sandbox:
		// PM2 itself accepts JSON5-ish files, and goja's parser is strict enough.
		src = append([]byte("module.exports = "), src...)
	} else if strings.HasSuffix(file, ".mjs") || looksLikeESM(src) {
		var err error
		if src, err = esmToCommonJS(src); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	return evaluate(file, string(src), opts)
}

func evaluate(file, src string, opts EvalOptions) (any, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultEvalTimeout
	}
	vm := goja.New()
	vm.SetFieldNameMapper(goja.UncapFieldNameMapper())
	env := map[string]string{}
	for _, kv := range opts.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	if opts.Home == "" {
		opts.Home = env["HOME"]
	}
	if err := installGlobals(vm, opts, env); err != nil {
		return nil, err
	}
	timer := time.AfterFunc(opts.Timeout, func() { vm.Interrupt(ErrTimeout) })
	defer timer.Stop()

	wrapped := "(function (exports, require, module, __filename, __dirname) {\n" + src + "\n})"
	prog, err := goja.Compile(file, wrapped, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	fnv, err := vm.RunProgram(prog)
	if err != nil {
		return nil, jsError(file, err)
	}
	fn, ok := goja.AssertFunction(fnv)
	if !ok {
		return nil, fmt.Errorf("%s: internal error: wrapper is not a function", file)
	}
	module := vm.NewObject()
	exports := vm.NewObject()
	_ = module.Set("exports", exports)
	_, err = fn(goja.Undefined(), exports, vm.Get("require"), module, vm.ToValue(path.Join(opts.Dir, path.Base(file))), vm.ToValue(opts.Dir))
	if err != nil {
		return nil, jsError(file, err)
	}
	out := module.Get("exports")
	if out == nil || goja.IsUndefined(out) || goja.IsNull(out) {
		return nil, fmt.Errorf("%s exports nothing (module.exports is %v)", file, out)
	}
	if o, ok := out.(*goja.Object); ok {
		if d := o.Get("default"); d != nil && !goja.IsUndefined(d) && len(o.Keys()) == 1 {
			out = d
		}
	}
	return out.Export(), nil
}

func jsError(file string, err error) error {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		return fmt.Errorf("%s: %w (limit %v): does it loop forever?", file, ErrTimeout, DefaultEvalTimeout)
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return fmt.Errorf("%s: %s", file, ex.Error())
	}
	return fmt.Errorf("%s: %w", file, err)
}

// installGlobals sets require (path and os only), process (env, cwd, platform)
// and console (a no-op). Nothing reaches the file system, the network or this
// process: no fs, child_process, net, process.exit.
func installGlobals(vm *goja.Runtime, opts EvalOptions, env map[string]string) error {
	pathMod := pathModule(vm, opts.Dir)
	osMod := osModule(vm, opts.Home)
	require := func(call goja.FunctionCall) goja.Value {
		name := call.Argument(0).String()
		switch strings.TrimPrefix(name, "node:") {
		case "path":
			return pathMod
		case "os":
			return osMod
		}
		panic(vm.NewGoError(fmt.Errorf("require(%q): beadsctl import evaluates ecosystem files in a sandbox that offers only the modules path and os; compute this value by hand or write the result into the file", name)))
	}
	process := vm.NewObject()
	envObj := vm.NewObject()
	for k, v := range env {
		_ = envObj.Set(k, v)
	}
	_ = process.Set("env", envObj)
	_ = process.Set("cwd", func() string { return opts.Dir })
	_ = process.Set("platform", runtime.GOOS)
	_ = process.Set("argv", []any{"node", "pm2"})
	console := vm.NewObject()
	for _, m := range []string{"log", "info", "warn", "error", "debug"} {
		_ = console.Set(m, func(goja.FunctionCall) goja.Value { return goja.Undefined() })
	}
	for k, v := range map[string]any{"require": require, "process": process, "console": console} {
		if err := vm.Set(k, v); err != nil {
			return err
		}
	}
	return nil
}

// pathModule is Node's path (POSIX flavour) for what ecosystem files use.
func pathModule(vm *goja.Runtime, cwd string) *goja.Object {
	strs := func(call goja.FunctionCall) []string {
		var out []string
		for _, a := range call.Arguments {
			out = append(out, a.String())
		}
		return out
	}
	m := vm.NewObject()
	_ = m.Set("sep", "/")
	_ = m.Set("delimiter", ":")
	_ = m.Set("join", func(call goja.FunctionCall) goja.Value {
		p := path.Join(strs(call)...)
		if p == "" {
			p = "."
		}
		return vm.ToValue(p)
	})
	_ = m.Set("resolve", func(call goja.FunctionCall) goja.Value {
		p := cwd
		for _, s := range strs(call) {
			if path.IsAbs(s) {
				p = s
			} else if s != "" {
				p = path.Join(p, s)
			}
		}
		return vm.ToValue(path.Clean(p))
	})
	_ = m.Set("normalize", func(s string) string { return path.Clean(s) })
	_ = m.Set("dirname", func(s string) string { return path.Dir(s) })
	_ = m.Set("basename", func(call goja.FunctionCall) goja.Value {
		b := path.Base(call.Argument(0).String())
		if ext := call.Argument(1); !goja.IsUndefined(ext) {
			b = strings.TrimSuffix(b, ext.String())
		}
		return vm.ToValue(b)
	})
	_ = m.Set("extname", func(s string) string { return path.Ext(s) })
	_ = m.Set("isAbsolute", func(s string) bool { return path.IsAbs(s) })
	_ = m.Set("relative", func(from, to string) string {
		return relPath(path.Join(cwd, from), path.Join(cwd, to))
	})
	_ = m.Set("posix", m)
	return m
}

func relPath(from, to string) string {
	r, err := filepath.Rel(from, to)
	if err != nil {
		return to
	}
	return filepath.ToSlash(r)
}

// osModule is a small part of Node's os: facts of this machine that ecosystem
// files compute values from (home folder, cpu count, host name).
func osModule(vm *goja.Runtime, home string) *goja.Object {
	m := vm.NewObject()
	host, _ := os.Hostname()
	_ = m.Set("homedir", func() string { return home })
	_ = m.Set("tmpdir", func() string { return os.TempDir() })
	_ = m.Set("hostname", func() string { return host })
	_ = m.Set("platform", func() string { return runtime.GOOS })
	_ = m.Set("type", func() string {
		return map[string]string{"linux": "Linux", "darwin": "Darwin", "windows": "Windows_NT"}[runtime.GOOS]
	})
	_ = m.Set("EOL", "\n")
	_ = m.Set("cpus", func() []any {
		cpus := make([]any, runtime.NumCPU())
		for i := range cpus {
			cpus[i] = map[string]any{"model": "cpu", "speed": 0}
		}
		return cpus
	})
	_ = m.Set("userInfo", func() map[string]any {
		return map[string]any{"username": os.Getenv("USER"), "homedir": home}
	})
	return m
}

var (
	esmImportRE = regexp.MustCompile(`(?m)^\s*import\s+(?:(\*\s+as\s+\w+|\w+|\{[^}]*\})\s+from\s+)?['"]([^'"]+)['"]\s*;?`)
	esmDefault  = regexp.MustCompile(`(?m)^\s*export\s+default\s+`)
	esmOther    = regexp.MustCompile(`(?m)^\s*export\s+`)
)

func looksLikeESM(src []byte) bool { return esmDefault.Match(src) }

// esmToCommonJS rewrites the ES module forms ecosystem.config.mjs files use
// (import of path/os, export default) into CommonJS: goja runs scripts, not
// modules. Other exports are an error, since PM2 reads only the default one.
func esmToCommonJS(src []byte) ([]byte, error) {
	var err error
	out := esmImportRE.ReplaceAllFunc(src, func(m []byte) []byte {
		sub := esmImportRE.FindSubmatch(m)
		binding, mod := strings.TrimSpace(string(sub[1])), string(sub[2])
		switch {
		case binding == "":
			return []byte(fmt.Sprintf("require(%q);", mod))
		case strings.HasPrefix(binding, "*"):
			binding = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(binding, "*")), "as"))
			return []byte(fmt.Sprintf("const %s = require(%q);", binding, mod))
		case strings.HasPrefix(binding, "{"):
			inner := strings.Trim(binding, "{} ")
			inner = regexp.MustCompile(`\s+as\s+`).ReplaceAllString(inner, ": ")
			return []byte(fmt.Sprintf("const { %s } = require(%q);", inner, mod))
		}
		return []byte(fmt.Sprintf("const %s = require(%q);", binding, mod))
	})
	if !esmDefault.Match(out) {
		return nil, errors.New("an ES module ecosystem file must `export default` its configuration")
	}
	out = esmDefault.ReplaceAll(out, []byte("\nmodule.exports = "))
	if loc := esmOther.FindIndex(out); loc != nil {
		err = fmt.Errorf("only `export default` is supported in an ES module ecosystem file (found %q)", strings.TrimSpace(string(out[loc[0]:min(loc[1]+20, len(out))])))
	}
	return out, err
}
