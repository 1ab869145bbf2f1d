package schema

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// cacheProject copies src into a fresh project folder as beads.hcl, with a
// state folder for the cache, and returns the file and the cache.
func cacheProject(t *testing.T, src []byte) (string, *Cache) {
	t.Helper()
	dir := t.TempDir()
	state := filepath.Join(dir, ".beadsctl")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "beads.hcl")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return file, &Cache{Dir: state, Key: []byte("0123456789abcdef0123456789abcdef")}
}

// cacheSources are the configurations the hit-equals-fresh tests run over:
// the examples, the repository's beads.hcl, the schema's testdata and the
// benchmark's generated file of 100 daemons with a profile.
func cacheSources(t *testing.T) map[string][]byte {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join("..", "examples", "*.hcl"))
	more, _ := filepath.Glob(filepath.Join("testdata", "*.hcl"))
	paths = append(append(paths, filepath.Join("..", "beads.hcl")), more...)
	out := map[string][]byte{"generated-100": benchSource(100)}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = b
	}
	return out
}

func sameDiags(t *testing.T, what string, got, want hcl.Diagnostics) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d diagnostics, want %d:\n%v\n%v", what, len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Severity != w.Severity || g.Summary != w.Summary || g.Detail != w.Detail || !reflect.DeepEqual(g.Subject, w.Subject) {
			t.Fatalf("%s: diagnostic %d is %v, want %v", what, i, g, w)
		}
	}
}

// TestCacheHitIsAFreshLoad: over every example and test file, under no
// profile and each declared one, a load and a validate through the cache
// (the miss that stores, then the hit) give exactly what a fresh one gives:
// the Config reflect.DeepEqual (every field, ranges and nil-or-empty alike)
// and the same diagnostics. Those that may not be cached are not.
func TestCacheHitIsAFreshLoad(t *testing.T) {
	hits := 0
	for name, src := range cacheSources(t) {
		file, c := cacheProject(t, src)
		environ := []string{"HOME=/home/u", "BD_TOKEN=x", "PORT=3307"}
		profiles, _, vdiags := Validate(file, environ)
		for _, p := range append([]string{""}, profiles...) {
			want, _, wantDiags := Load(file, p, environ)
			for round := range 2 {
				got, files, diags := LoadCached(c, file, p, environ)
				what := fmt.Sprintf("%s, profile %q, round %d", name, p, round)
				sameDiags(t, what, diags, wantDiags)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: the config differs from a fresh load", what)
				}
				if round == 1 && len(files) == 0 {
					hits++
					t.Logf("%s, profile %q: a hit", name, p)
				}
			}
		}
		for round := range 2 {
			got, _, diags := ValidateCached(c, file, environ)
			what := fmt.Sprintf("%s, validate, round %d", name, round)
			sameDiags(t, what, diags, vdiags)
			if !reflect.DeepEqual(got, profiles) {
				t.Fatalf("%s: profiles %v, want %v", what, got, profiles)
			}
		}
	}
	if hits < 5 {
		t.Fatalf("only %d loads were cache hits", hits)
	}
}

// TestCacheMisses: an entry is used only for the very inputs it was made
// from. A change to the file, its profile, HOME, the binary or the key, and a
// damaged entry, each load afresh (and give what a fresh load gives); a log
// path that became a folder gives the fresh load's error.
func TestCacheMisses(t *testing.T) {
	src := benchSource(3)
	environ := []string{"HOME=/home/u"}
	hit := func(c *Cache, file, profile string, environ []string) bool {
		t.Helper()
		want, _, wantDiags := Load(file, profile, environ)
		got, files, diags := LoadCached(c, file, profile, environ)
		sameDiags(t, "load", diags, wantDiags)
		if !reflect.DeepEqual(got, want) {
			t.Fatal("the config differs from a fresh load")
		}
		if (c.last == cacheMiss) == (len(files) == 0) {
			t.Fatalf("outcome %d with %d files", c.last, len(files))
		}
		return c.last == cacheHit
	}
	fresh := func(t *testing.T) (string, *Cache) {
		file, c := cacheProject(t, src)
		if hit(c, file, "production", environ) {
			t.Fatal("the first load was a hit")
		}
		if !hit(c, file, "production", environ) {
			t.Fatal("the second load was not a hit")
		}
		return file, c
	}
	t.Run("file", func(t *testing.T) {
		file, c := fresh(t)
		changed := bytes.Replace(src, []byte(`"5s"`), []byte(`"6s"`), 1)
		if err := os.WriteFile(file, changed, 0o644); err != nil {
			t.Fatal(err)
		}
		if hit(c, file, "production", environ) {
			t.Fatal("a changed file was a hit")
		}
		if c.last != cacheIncremental {
			t.Fatalf("a file with one daemon changed was not loaded incrementally (%d)", c.last)
		}
	})
	t.Run("profile", func(t *testing.T) {
		file, c := fresh(t)
		if hit(c, file, "", environ) {
			t.Fatal("another profile was a hit")
		}
		// An entry of one kind copied over another's fails its MAC.
		b, _ := os.ReadFile(c.file("load-production"))
		if err := os.WriteFile(c.file("load-"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		if hit(c, file, "", environ) {
			t.Fatal("another profile's entry was a hit")
		}
	})
	t.Run("home", func(t *testing.T) {
		file, c := fresh(t)
		if hit(c, file, "production", []string{"HOME=/home/v"}) {
			t.Fatal("another HOME was a hit")
		}
	})
	t.Run("binary", func(t *testing.T) {
		file, c := fresh(t)
		stamp := binaryStamp
		t.Cleanup(func() { binaryStamp = stamp })
		binaryStamp = func() string { return stamp() + "rebuilt" }
		if hit(c, file, "production", environ) {
			t.Fatal("another binary was a hit")
		}
	})
	t.Run("key", func(t *testing.T) {
		file, c := fresh(t)
		other := &Cache{Dir: c.Dir, Key: []byte("another key of thirty-two bytes!")}
		if hit(other, file, "production", environ) {
			t.Fatal("another key was a hit")
		}
	})
	t.Run("damaged", func(t *testing.T) {
		file, c := fresh(t)
		b, _ := os.ReadFile(c.file("load-production"))
		for _, i := range []int{len(cacheMagic) + 3, len(b) - 1} {
			bad := bytes.Clone(b)
			bad[i] ^= 1
			if err := os.WriteFile(c.file("load-production"), bad, 0o600); err != nil {
				t.Fatal(err)
			}
			if hit(c, file, "production", environ) {
				t.Fatalf("an entry with byte %d changed was a hit", i)
			}
			// The miss wrote a good entry again.
			if !hit(c, file, "production", environ) {
				t.Fatal("no hit after the miss")
			}
		}
		if err := os.WriteFile(c.file("load-production"), b[:len(b)/2], 0o600); err != nil {
			t.Fatal(err)
		}
		if hit(c, file, "production", environ) {
			t.Fatal("a torn entry was a hit")
		}
	})
	t.Run("log path", func(t *testing.T) {
		file, c := fresh(t)
		if err := os.MkdirAll(filepath.Join(filepath.Dir(file), ".beads", "d001.log"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, _, diags := LoadCached(c, file, "production", environ)
		if !diags.HasErrors() || !strings.Contains(diags.Error(), "Log path is not a regular file") {
			t.Fatalf("diagnostics %v", diags)
		}
		if _, _, diags := ValidateCached(c, file, environ); !diags.HasErrors() {
			t.Fatal("validate through the cache missed the folder")
		}
	})
	t.Run("validate", func(t *testing.T) {
		file, c := cacheProject(t, src)
		for range 2 {
			ValidateCached(c, file, environ)
		}
		if _, files, _ := ValidateCached(c, file, environ); len(files) != 0 || c.last != cacheHit {
			t.Fatal("validate of an unchanged file was not a hit")
		}
		// A changed daemon: that daemon alone.
		changed := bytes.Replace(src, []byte(`"5s"`), []byte(`"6s"`), 1)
		if err := os.WriteFile(file, changed, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, files, _ := ValidateCached(c, file, environ); len(files) != 0 || c.last != cacheIncremental {
			t.Fatalf("validate of a file with one daemon changed was not incremental (%d)", c.last)
		}
		// A changed profile block: every daemon's resolution read it.
		if err := os.WriteFile(file, append(bytes.Clone(changed), "\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, files, _ := ValidateCached(c, file, environ); len(files) == 0 || c.last != cacheMiss {
			t.Fatal("validate of a file with its profile changed was not a full one")
		}
	})
}

// TestCacheKeepsNoSecret: what may hold a secret is never cached. A file
// that calls env() or reads an env file is parsed every time (so a new value
// is seen at once), and one with a sensitive key has no entry; a sensitive
// value of a profile not loaded is not in the base blocks' entry (the file's
// bytes are never stored, only a MAC over them).
func TestCacheKeepsNoSecret(t *testing.T) {
	cases := map[string]string{
		"env":       "daemon \"a\" {\n  command = \"sleep\"\n  args = [env(\"TOKEN\")]\n}",
		"env_file":  "daemon \"a\" {\n  command = \"sleep\"\n  env_file = \".env\"\n}",
		"sensitive": "daemon \"a\" {\n  command = \"sleep\"\n  environment = { TOKEN = \"hunter2\" }\n  sensitive = [\"TOKEN\"]\n}",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			file, c := cacheProject(t, []byte(src+"\n"))
			if err := os.WriteFile(filepath.Join(filepath.Dir(file), ".env"), []byte("TOKEN=hunter2\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{"hunter2", "hunter3"} {
				environ := []string{"TOKEN=" + secret}
				if name == "env_file" {
					os.WriteFile(filepath.Join(filepath.Dir(file), ".env"), []byte("TOKEN="+secret+"\n"), 0o600)
				}
				cfg, files, diags := LoadCached(c, file, "", environ)
				if diags.HasErrors() || len(files) == 0 {
					t.Fatalf("diagnostics %v, %d files (a hit has none)", diags, len(files))
				}
				if got := fmt.Sprint(cfg.Daemons[0].Args, cfg.Daemons[0].Environment); name != "sensitive" && !strings.Contains(got, secret) {
					t.Fatalf("the load gave %s, not the value %s", got, secret)
				}
				if _, files, _ := ValidateCached(c, file, environ); len(files) == 0 && name != "sensitive" {
					t.Fatal("validate was a hit")
				}
			}
			entries, _ := filepath.Glob(filepath.Join(c.Dir, CacheFilePrefix+"-load*"))
			if len(entries) != 0 {
				t.Fatalf("entries %v", entries)
			}
		})
	}
	src := `daemon "a" {
  command = "sleep"
}
env "prod" {
  daemon "a" {
    environment = { TOKEN = "hunter2" }
    sensitive   = ["TOKEN"]
  }
}
`
	file, c := cacheProject(t, []byte(src))
	for range 2 {
		LoadCached(c, file, "", nil)
		ValidateCached(c, file, nil)
	}
	entries, _ := filepath.Glob(filepath.Join(c.Dir, CacheFilePrefix+"-*"))
	if len(entries) != 3 {
		t.Fatalf("entries %v, want the base blocks' load, validate's and its run of the base blocks", entries)
	}
	for _, e := range entries {
		b, _ := os.ReadFile(e)
		if bytes.Contains(b, []byte("hunter2")) || bytes.Contains(b, []byte("TOKEN")) {
			t.Fatalf("%s holds the profile's sensitive value", e)
		}
	}
}

// TestCodecRefusesWhatItCannotRepresent: a value with an unexported field
// or an interface is not encoded (and so never cached), nor decoded into.
func TestCodecRefusesWhatItCannotRepresent(t *testing.T) {
	type hidden struct{ A, b int }
	type iface struct{ V any }
	h := &hidden{A: 1, b: 2}
	for _, x := range []any{h, &iface{V: 1}} {
		if _, err := encodeAny(nil, x); err == nil {
			t.Errorf("%T encoded", x)
		}
		if err := decodeAny([]byte{0, 0}, x); err == nil {
			t.Errorf("%T decoded", x)
		}
	}
	type ok struct {
		S []string
		M map[string]string
		P *int
		F float64
	}
	n := 3
	for _, in := range []ok{{}, {S: []string{}, M: map[string]string{}, P: &n, F: 1.5}, {S: []string{"a", ""}, M: map[string]string{"k": "v"}}} {
		roundTrip(t, in)
	}
}

// roundTrip checks that in comes back from the codec reflect.DeepEqual, and
// that every shorter encoding, and one with a byte more, is refused.
func roundTrip[T any](t *testing.T, in T) {
	t.Helper()
	b, err := encodeAny(nil, &in)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := decodeAny(b, &out); err != nil || !reflect.DeepEqual(out, in) {
		t.Fatalf("%+v came back %+v (%v)", in, out, err)
	}
	for k := range b {
		var short T
		if decodeAny(b[:k], &short) == nil {
			t.Fatalf("%+v: %d bytes of %d decoded", in, k, len(b))
		}
	}
	if decodeAny(append(b, 0), &out) == nil {
		t.Fatalf("%+v: a byte too many decoded", in)
	}
}

// TestCodecEveryKind: a value of every kind the codec compiles (each size
// of integer at its limits, floats, shared and long strings, nil and empty
// slices and maps apart, bytes, arrays, pointers, maps through reflection, a
// recursive type) comes back reflect.DeepEqual; every shorter input, and an
// integer too large for its field, is refused.
func TestCodecEveryKind(t *testing.T) {
	type node struct {
		V    string
		Next *node
	}
	type dur int64
	type all struct {
		B      bool
		I      int
		I8     int8
		I16    int16
		I32    int32
		I64    int64
		D      dur
		U      uint
		U8     uint8
		U16    uint16
		U32    uint32
		U64    uint64
		F32    float32
		F64    float64
		S, S2  string
		Long   string
		P, Nil *int
		Bytes  []byte
		Empty  []string
		None   []string
		List   []string
		Arr    [3]uint16
		Env    map[string]string
		NoEnv  map[string]string
		NoMap  map[int][]string
		Ints   map[int][]string
		Named  map[dur]node
		Nodes  []node
		List2  *node
	}
	n := -7
	long := strings.Repeat("x", 300)
	in := all{
		B: true, I: math.MinInt, I8: math.MinInt8, I16: math.MaxInt16, I32: math.MinInt32, I64: math.MaxInt64, D: -5,
		U: math.MaxUint, U8: math.MaxUint8, U16: 1, U32: math.MaxUint32, U64: math.MaxUint64,
		F32: 1.5, F64: math.Inf(-1), S: "shared", S2: "shared", Long: long, P: &n,
		Bytes: []byte{0, 1, 255}, Empty: []string{}, List: []string{"shared", "", long, long},
		Arr: [3]uint16{1, 0, math.MaxUint16}, Env: map[string]string{"A": "shared", "": "", "L": long},
		NoEnv: map[string]string{}, Ints: map[int][]string{-1: nil, 2: {"a"}},
		Named: map[dur]node{3: {V: "n", Next: &node{V: "m"}}}, Nodes: []node{{}, {V: "shared"}},
		List2: &node{V: "a", Next: &node{V: "b", Next: &node{V: long}}},
	}
	for _, x := range []all{in, {}} {
		roundTrip(t, x)
	}
	type wide struct{ V int64 }
	type narrow struct{ V int8 }
	type unarrow struct{ V uint8 }
	for _, v := range []int64{128, -129} {
		b, _ := encodeAny(nil, &wide{V: v})
		if decodeAny(b, &narrow{}) == nil {
			t.Errorf("%d decoded into an int8", v)
		}
	}
	type uwide struct{ V uint64 }
	b, _ := encodeAny(nil, &uwide{V: 256})
	if decodeAny(b, &unarrow{}) == nil {
		t.Error("256 decoded into a uint8")
	}
}

// TestCacheSkipsDoltServers: a dolt_server block reads bd's workspace files
// (apply itself edits config.yaml), so such a configuration is never cached:
// a change to config.yaml is seen by the next load (plan_apply_target.txtar
// caught it: the cached config still said auto-start was on).
func TestCacheSkipsDoltServers(t *testing.T) {
	file, c := cacheProject(t, []byte("daemon \"dolt\" {\n  dolt_server {}\n}\n"))
	dir := filepath.Dir(file)
	environ := []string{"HOME=" + filepath.Join(dir, "home")}
	workspace(t, dir, serverMeta, "dolt:\n  port: 3999\n")
	for _, config := range []string{"dolt:\n  port: 3999\n", "dolt:\n  port: 3999\n  auto-start: false\n"} {
		workspace(t, dir, serverMeta, config)
		want, _, _ := Load(file, "", environ)
		got, files, diags := LoadCached(c, file, "", environ)
		if diags.HasErrors() || len(files) == 0 {
			t.Fatalf("diagnostics %v, %d files (a hit has none)", diags, len(files))
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("config.yaml %q: the config differs from a fresh load", config)
		}
		ValidateCached(c, file, environ)
	}
	if entries, _ := filepath.Glob(filepath.Join(c.Dir, CacheFilePrefix+"-*")); len(entries) != 0 {
		t.Fatalf("entries %v", entries)
	}
}

// TestCacheKnowsEveryInput: the cache is exact only while it knows every
// input of a resolution (storable, the MAC, logsRegular). This lists every
// call in the package that reaches outside (os, internal/bd, syscall,
// os/exec, net/http, filepath.Abs and its kin; a new leaf of ours) and
// fails on one it does not know: a new one must be made a reason not to cache, part of the MAC, or
// checked again on a hit, and then added here with how.
func TestCacheKnowsEveryInput(t *testing.T) {
	known := map[string]string{
		"cache.go: os.Executable":        "binaryStamp: the binary is in the MAC",
		"cache.go: os.Stat":              "binaryStamp, and pathsRegular's check of log paths on a hit",
		"logstat_linux.go: unix.Open":    "pathsRegular: the folders of the log paths",
		"logstat_linux.go: unix.Fstatat": "pathsRegular: the log paths, from their folders",
		"logstat_linux.go: unix.Close":   "pathsRegular: the folders opened",
		"cache.go: os.ReadDir":           "collect: the entries' own folder (no input of a resolution)",
		"cache.go: os.Remove":            "collect: entries of profiles no longer declared",
		"dolt.go: bd.SharedServerDir":    "a path from HOME, which is in the MAC",
		"dolt.go: bd.ServerArgs":         "pure",
		"dolt.go: bd.ServerFiles.Read":   "dolt_server: never cached (storable)",
		"dolt.go: bd.ReadWorkspace":      "dolt_server: never cached (storable)",
		"envfile.go: os.Stat":            "env_file: never cached (storable)",
		"envfile.go: os.ReadFile":        "env_file: never cached (storable)",
		"limits.go: os.Open":             "readConfig: the file itself, in the MAC",
		"load.go: filepath.Abs":          "the absolute path, in the MAC",
		"resolve.go: os.Stat":            "regularLogFile: redone on a hit (pathsRegular)",
		"load.go: os.IsNotExist":         "pure",
		"envfile.go: os.IsNotExist":      "pure",
	}
	// The leaves of ours the package imports: bd reads files (its calls are
	// above), the others compute (logpath.Check is given the FileInfo;
	// jsoncodec decodes a buffer), atomicfile writes the entries.
	knownLeaves := map[string]bool{"alerton": true, "atomicfile": true, "bd": true, "jsoncodec": true, "logpath": true}
	outside := map[string]bool{"os": true, "bd": true, "syscall": true, "unix": true, "exec": true, "http": true, "ioutil": true}
	fset := token.NewFileSet()
	paths, _ := filepath.Glob("*.go")
	seen := map[string]bool{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if ours, ok := strings.CutPrefix(path, "github.com/beadsctl/beadsctl/internal/"); ok && !knownLeaves[ours] {
				t.Errorf("%s imports %s: list what it reads, as for internal/bd", p, path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			var name string
			switch x := sel.X.(type) {
			case *ast.Ident:
				if outside[x.Name] || x.Name == "filepath" && (sel.Sel.Name == "Abs" || sel.Sel.Name == "EvalSymlinks" || sel.Sel.Name == "Glob" || sel.Sel.Name == "Walk" || sel.Sel.Name == "WalkDir") {
					name = x.Name + "." + sel.Sel.Name
				}
			case *ast.ParenExpr: // (bd.ServerFiles{...}).Read()
				if cl, ok := x.X.(*ast.CompositeLit); ok {
					if ts, ok := cl.Type.(*ast.SelectorExpr); ok {
						if id, ok := ts.X.(*ast.Ident); ok && outside[id.Name] {
							name = id.Name + "." + ts.Sel.Name + "." + sel.Sel.Name
						}
					}
				}
			}
			if name == "" {
				return true
			}
			key := p + ": " + name
			seen[key] = true
			if _, ok := known[key]; !ok {
				t.Errorf("%s: %s reaches outside beads.hcl: make it a reason not to cache (storable), part of the MAC (tag) or checked on a hit, then list it here", fset.Position(call.Pos()), name)
			}
			return true
		})
	}
	for key := range known {
		if strings.Contains(key, ": ") && !seen[key] {
			t.Errorf("%s is listed but no longer called: remove it", key)
		}
	}
}
