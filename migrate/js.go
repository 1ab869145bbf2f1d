package migrate

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// MaxSourceSize bounds the ecosystem file read.
const MaxSourceSize = 1 << 20

// MaxEvalMemory bounds how much the Go heap may grow while an ecosystem file
// is evaluated. goja has no heap limit of its own: a watchdog samples the heap
// every few milliseconds and interrupts the script past this much, and the
// builtins that allocate a whole result in one native call (repeat, padStart,
// padEnd, fill, ArrayBuffer) refuse results that large before allocating.
// A real ecosystem file needs well under 1 MB.
const MaxEvalMemory = 128 << 20

// DefaultEvalTimeout is how long the JavaScript of an ecosystem file may run,
// reading what it exports (getters, proxies) included.
const DefaultEvalTimeout = 2 * time.Second

// maxCallDepth bounds JavaScript recursion (goja's default is 2^31 calls).
const maxCallDepth = 10_000

// maxExportNesting and maxExportValues bound the value read from the exports:
// a cycle or a huge generated structure is an error, not a hang.
const (
	maxExportNesting = 64
	maxExportValues  = 100_000
)

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

// ErrMemory is wrapped when the script allocates past MaxEvalMemory.
var ErrMemory = errors.New("ecosystem file used more memory than an ecosystem file may")

// ReadEcosystem evaluates an ecosystem file (.js, .cjs, .mjs or .json) and
// returns what it exports, as plain Go values (map[string]any, []any, string,
// float64/int64, bool; functions stay goja values and are reported by Convert).
func ReadEcosystem(file string, src []byte, opts EvalOptions) (any, error) {
	if len(src) > MaxSourceSize {
		return nil, fmt.Errorf("%s: %d bytes is larger than the %d bytes an ecosystem file may have", file, len(src), MaxSourceSize)
	}
	if off := nestingBudgetExceeded(string(src)); off >= 0 {
		line, col := lineCol(string(src), off)
		return nil, fmt.Errorf("%s:%d:%d: more than %d brackets and operators that can nest: beadsctl does not parse it, since JavaScript nested that deep "+
			"exhausts the parser's stack and memory (a Go fatal error no limit catches); an ecosystem file is a few KB: write its values out plainly", file, line, col, maxNestingTokens)
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

// evaluate runs src and reads what it exports into plain Go values. Every
// entry into JavaScript (the program, the module wrapper, the getters, proxy
// traps and toString of what it exports, the message of what it throws) runs
// under the watchdog; a panic of the engine is an error.
func evaluate(file, src string, opts EvalOptions) (v any, err error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultEvalTimeout
	}
	vm := goja.New()
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%s: the JavaScript engine failed while evaluating it (%s)", file, jsDescribe(vm, r))
		}
	}()
	vm.SetFieldNameMapper(goja.UncapFieldNameMapper())
	vm.SetMaxCallStackSize(maxCallDepth)
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
	defer watch(vm, opts.Timeout, MaxEvalMemory)()
	if _, err := vm.RunProgram(preludeProgram()); err != nil {
		return nil, fmt.Errorf("%s: internal error: sandbox prelude: %s", file, jsDescribe(vm, err))
	}

	wrapped := "(function (exports, require, module, __filename, __dirname) {\n" + src + "\n})"
	prog, err := goja.Compile(file, wrapped, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	fnv, err := vm.RunProgram(prog)
	if err != nil {
		return nil, jsError(vm, file, opts, err)
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
		return nil, jsError(vm, file, opts, err)
	}
	var out goja.Value
	var readErr error
	if err := guard(vm, func() {
		out = module.Get("exports")
		if o, ok := out.(*goja.Object); ok {
			if d := o.Get("default"); d != nil && !goja.IsUndefined(d) && len(o.Keys()) == 1 {
				out = d
			}
		}
		if out == nil || goja.IsUndefined(out) || goja.IsNull(out) {
			return
		}
		budget := maxExportValues
		v, readErr = plain(out, 0, &budget)
	}); err != nil {
		return nil, jsError(vm, file, opts, err)
	}
	if out == nil || goja.IsUndefined(out) || goja.IsNull(out) {
		return nil, fmt.Errorf("%s exports nothing (module.exports is %v)", file, out)
	}
	if readErr != nil {
		return nil, fmt.Errorf("%s: %w", file, readErr)
	}
	return v, nil
}

// prelude caps what one native call may allocate, since the watchdog can
// interrupt JavaScript only between its steps: a builtin working on an array
// (or array-like) of 2^24 elements runs for seconds and takes gigabytes in one
// step. Every method of Array.prototype and String.prototype, Array itself,
// Array.from, apply and Reflect.apply/construct refuse lengths past maxLen
// (strings: maxStr); repeat and padStart/padEnd refuse results past maxStr;
// binary buffers, which no ecosystem file needs, are removed.
const prelude = `(function (maxLen, maxStr) {
	"use strict";
	var define = Object.defineProperty, names = Object.getOwnPropertyNames, apply = Reflect.apply;
	var construct = Reflect.construct, RangeErr = RangeError, StringOf = String, NumberOf = Number;
	function tooBig(what) { throw new RangeErr(what + " is larger than the beadsctl import sandbox allows"); }
	function len(x) { return x == null ? 0 : NumberOf(x.length); }
	function wrapAll(obj, check) {
		names(obj).forEach(function (k) {
			var d = Object.getOwnPropertyDescriptor(obj, k);
			if (k === "constructor" || typeof d.value !== "function") return;
			var orig = d.value;
			define(obj, k, { value: function () { check(this, arguments, k); return apply(orig, this, arguments); },
				writable: true, configurable: true, enumerable: false });
		});
	}
	wrapAll(Array.prototype, function (self, args, k) { if (len(self) > maxLen) tooBig("an array for " + k); });
	define(Array.prototype, Symbol.iterator, { value: Array.prototype.values, writable: true, configurable: true });
	wrapAll(String.prototype, function (self, args, k) {
		var n = StringOf(self).length;
		if (n > maxStr) tooBig("a string for " + k);
		if (k === "repeat" && n * NumberOf(args[0]) > maxStr) tooBig("the result of repeat");
		if ((k === "padStart" || k === "padEnd") && NumberOf(args[0]) > maxStr) tooBig("the result of " + k);
	});
	var ArrayOf = Array, from = Array.from;
	function CappedArray() {
		if (arguments.length === 1 && typeof arguments[0] === "number" && arguments[0] > maxLen) tooBig("an array");
		return construct(ArrayOf, arguments);
	}
	CappedArray.prototype = ArrayOf.prototype;
	names(ArrayOf).forEach(function (k) {
		if (k !== "prototype" && k !== "length" && k !== "name") define(CappedArray, k, Object.getOwnPropertyDescriptor(ArrayOf, k));
	});
	define(CappedArray, "from", { value: function (x) { if (len(x) > maxLen) tooBig("an array"); return apply(from, ArrayOf, arguments); }, writable: true, configurable: true });
	define(ArrayOf.prototype, "constructor", { value: CappedArray, writable: true, configurable: true });
	define(globalThis, "Array", { value: CappedArray, writable: true, configurable: true });
	var fapply = Function.prototype.apply;
	define(Function.prototype, "apply", { value: function (self, args) { if (len(args) > maxLen) tooBig("an argument list"); return apply(fapply, this, arguments); }, writable: true, configurable: true });
	define(Reflect, "apply", { value: function (f, self, args) { if (len(args) > maxLen) tooBig("an argument list"); return apply(f, self, args); }, writable: true, configurable: true });
	define(Reflect, "construct", { value: function (f, args) { if (len(args) > maxLen) tooBig("an argument list"); return apply(construct, Reflect, arguments); }, writable: true, configurable: true });
	["ArrayBuffer", "SharedArrayBuffer", "DataView", "Atomics", "Int8Array", "Uint8Array", "Uint8ClampedArray",
		"Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array",
		"BigInt64Array", "BigUint64Array"].forEach(function (k) { delete globalThis[k]; });
})(%d, %d)`

// maxNativeLen and maxNativeString are the prelude's caps: an array of 1M
// elements or a string of 16M characters costs a native call well under the
// memory cap and a second.
const (
	maxNativeLen    = 1 << 20
	maxNativeString = 16 << 20
)

// preludeProgram is compiled the first time a file is evaluated, not when
// beadsctl starts: every command paid ~0.5 ms for it (GODEBUG=inittrace=1).
var preludeProgram = sync.OnceValue(func() *goja.Program {
	return goja.MustCompile("prelude.js", fmt.Sprintf(prelude, maxNativeLen, maxNativeString), true)
})

// maxNestingTokens bounds the tokens of a source that can open a level of
// goja's recursive parser. Its parse runs before any limit can interrupt it
// and recurses once per level: 50,000 levels cost 250 MB and 2 s, 400,000
// overflow the Go stack. 20,000 cost under 100 MB; real files have dozens.
const maxNestingTokens = 20_000

// nestingBudgetExceeded returns the offset in src of the token past
// maxNestingTokens, or -1. It counts, wherever they are (strings and comments
// too, so that nothing can hide them), the characters that open a nested
// construct or chain right-recursively: ( [ { ! ? = - + ~ * : and the
// backquote, and the words that nest as unary operators (new, typeof, void,
// delete, await, yield). The nesting depth cannot exceed that count.
func nestingBudgetExceeded(src string) int {
	n := 0
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '(', '[', '{', '!', '?', '=', '-', '+', '~', '*', ':', '`':
			n++
		default:
			if c < 'a' || c > 'y' || (i > 0 && isWordByte(src[i-1])) {
				continue
			}
			for _, w := range []string{"new", "typeof", "void", "delete", "await", "yield"} {
				if strings.HasPrefix(src[i:], w) && (i+len(w) == len(src) || !isWordByte(src[i+len(w)])) {
					n++
					break
				}
			}
		}
		if n > maxNestingTokens {
			return i
		}
	}
	return -1
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// lineCol is the 1-based line and column of byte off of src.
func lineCol(src string, off int) (line, col int) {
	line = 1 + strings.Count(src[:off], "\n")
	return line, 1 + utf8.RuneCountInString(src[strings.LastIndexByte(src[:off], '\n')+1:off])
}

// watch interrupts vm once timeout has passed or the heap has grown by more
// than limit, and again at every tick after that, so that no later entry into
// JavaScript outlives the limit. The returned func stops it.
func watch(vm *goja.Runtime, timeout time.Duration, limit uint64) (stop func()) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		deadline := time.NewTimer(timeout)
		defer deadline.Stop()
		var why error
		for {
			select {
			case <-done:
				return
			case <-deadline.C:
				if why == nil {
					why = ErrTimeout
				}
			case <-tick.C:
				if why == nil {
					metrics.Read(sample)
					if sample[0].Value.Uint64() > base+limit {
						why = ErrMemory
					}
				}
			}
			if why != nil {
				vm.Interrupt(why)
			}
		}
	}()
	return func() { close(done) }
}

// guard runs f as if JavaScript had called it, so that the script's code it
// reaches (getters, proxy traps, toString) is interruptible and what it throws
// comes back as an error instead of a panic.
func guard(vm *goja.Runtime, f func()) error {
	call, _ := goja.AssertFunction(vm.ToValue(func(goja.FunctionCall) goja.Value {
		f()
		return goja.Undefined()
	}))
	_, err := call(goja.Undefined())
	return err
}

// plain copies v into Go values: map[string]any, []any, string, int64,
// float64, bool, nil; a function stays a Go func (Convert reports it). It
// reads properties through JavaScript, so it runs under guard.
func plain(v goja.Value, depth int, budget *int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("it exports more than %d values", maxExportValues)
	}
	o, ok := v.(*goja.Object)
	if !ok {
		if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
			return nil, nil
		}
		return v.Export(), nil // a primitive: no script runs
	}
	if depth >= maxExportNesting {
		return nil, fmt.Errorf("what it exports is nested deeper than %d levels (does it contain itself?)", maxExportNesting)
	}
	if _, ok := goja.AssertFunction(o); ok {
		return o.Export(), nil
	}
	switch o.ClassName() {
	case "Date", "String", "Number", "Boolean":
		return o.Export(), nil
	case "Array":
		n := o.Get("length").ToInteger()
		if n < 0 || n > int64(*budget) {
			return nil, fmt.Errorf("it exports more than %d values", maxExportValues)
		}
		out := make([]any, n)
		for i := range out {
			x, err := plain(o.Get(strconv.Itoa(i)), depth+1, budget)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	out := map[string]any{}
	for _, k := range o.Keys() {
		x, err := plain(o.Get(k), depth+1, budget)
		if err != nil {
			return nil, err
		}
		out[k] = x
	}
	return out, nil
}

// jsError words an evaluation error for the user: the limit that stopped the
// script, or what it threw and where in the file, never the engine's or
// beadsctl's own (Go) frames.
func jsError(vm *goja.Runtime, file string, opts EvalOptions, err error) error {
	var so *goja.StackOverflowError
	var ex *goja.Exception
	switch {
	case errors.Is(err, ErrTimeout):
		return fmt.Errorf("%s: %w (limit %v): does it loop forever?", file, ErrTimeout, opts.Timeout)
	case errors.Is(err, ErrMemory):
		return fmt.Errorf("%s: %w (limit %d MiB): does it build an ever larger string or array?", file, ErrMemory, MaxEvalMemory>>20)
	case errors.As(err, &so):
		return fmt.Errorf("%s: the JavaScript recursed deeper than %d calls", file, maxCallDepth)
	case errors.As(err, &ex):
		where := file
		for _, f := range ex.Stack() {
			if f.SrcName() == file {
				p := f.Position()
				where = fmt.Sprintf("%s:%d:%d", file, max(p.Line-1, 1), p.Column) // the wrapper adds a line
				break
			}
		}
		return fmt.Errorf("%s: %s", where, jsDescribe(vm, ex.Value()))
	}
	return fmt.Errorf("%s: %s", file, jsDescribe(vm, err))
}

// jsDescribe is what a thrown value says, read under guard; the engine's own
// errors are described by kind only, since their text names Go code.
func jsDescribe(vm *goja.Runtime, x any) string {
	switch x := x.(type) {
	case goja.Value:
		if o, ok := x.(*goja.Object); ok {
			var s string
			if guard(vm, func() {
				name, msg := o.Get("name"), o.Get("message")
				if name != nil && msg != nil && !goja.IsUndefined(msg) {
					s = name.String() + ": " + msg.String()
				} else {
					s = o.String()
				}
			}) != nil {
				return "it threw a value whose message could not be read in time"
			}
			return s
		}
		if x == nil {
			return "undefined"
		}
		return x.String()
	case *goja.InterruptedError:
		return jsDescribe(vm, x.Unwrap())
	case *goja.Exception:
		return jsDescribe(vm, x.Value())
	case error:
		if errors.Is(x, ErrTimeout) || errors.Is(x, ErrMemory) {
			return x.Error()
		}
		var re runtime.Error
		if errors.As(x, &re) {
			return "an internal error: " + re.Error()
		}
		return "an internal error"
	}
	return "an internal error"
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
		panic(vm.NewTypeError(fmt.Sprintf("require(%q): beadsctl import evaluates ecosystem files in a sandbox that offers only the modules path and os; compute this value by hand or write the result into the file", name)))
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
	esmImportRE = lazyRegexp(`(?m)^\s*import\s+(?:(\*\s+as\s+\w+|\w+|\{[^}]*\})\s+from\s+)?['"]([^'"]+)['"]\s*;?`)
	esmDefault  = lazyRegexp(`(?m)^\s*export\s+default\s+`)
	esmOther    = lazyRegexp(`(?m)^\s*export\s+`)
)

func looksLikeESM(src []byte) bool { return esmDefault().Match(src) }

// esmToCommonJS rewrites the ES module forms ecosystem.config.mjs files use
// (import of path/os, export default) into CommonJS: goja runs scripts, not
// modules. Other exports are an error, since PM2 reads only the default one.
func esmToCommonJS(src []byte) ([]byte, error) {
	var err error
	out := esmImportRE().ReplaceAllFunc(src, func(m []byte) []byte {
		sub := esmImportRE().FindSubmatch(m)
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
	if !esmDefault().Match(out) {
		return nil, errors.New("an ES module ecosystem file must `export default` its configuration")
	}
	out = esmDefault().ReplaceAll(out, []byte("\nmodule.exports = "))
	if loc := esmOther().FindIndex(out); loc != nil {
		err = fmt.Errorf("only `export default` is supported in an ES module ecosystem file (found %q)", strings.TrimSpace(string(out[loc[0]:min(loc[1]+20, len(out))])))
	}
	return out, err
}
