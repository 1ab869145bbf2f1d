package schema

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// incrBlock is one top-level block of incrSource, by its kind.
type incrBlock struct {
	name string // daemon name; "" for the context blocks
	text string
}

// incrDaemon renders daemon name with a variant v (its args, a dependency,
// an alert of its own in the profile, comments and blank lines above).
func incrDaemon(name string, v, deps int, others []string) string {
	var s strings.Builder
	for range v % 3 {
		s.WriteString("# a comment above\n")
	}
	if v%4 == 1 {
		s.WriteString("\n")
	}
	fmt.Fprintf(&s, "daemon %q {\n  command = \"sleep\"\n  args    = [\"%d\"]\n", name, 1000+v)
	if v%5 == 2 {
		s.WriteString("  restart {\n    policy = \"on-failure\"\n    delay  = \"2s\"\n  }\n")
	}
	if deps > 0 && len(others) > 0 {
		// completed_successfully of a daemon always restarted is an error
		// that reads the dependency's restart policy (of a daemon taken).
		cond := "started"
		if v%7 == 5 {
			cond = "completed_successfully"
		}
		fmt.Fprintf(&s, "  depends_on %q {\n    condition = %q\n  }\n", others[deps%len(others)], cond)
	}
	fmt.Fprintf(&s, "  logs {\n    out = \".beadsctl/logs/%s.out.log\"\n  }\n}\n", name)
	return s.String()
}

// incrSource is the file of blocks, in order.
func incrSource(blocks []incrBlock) []byte {
	var b bytes.Buffer
	for _, blk := range blocks {
		b.WriteString(blk.text)
	}
	return b.Bytes()
}

// incrContext are the context blocks: a profile that changes two daemons
// (one with a dependency of its own, whose range points into the profile),
// metrics and an alert naming a daemon.
func incrContext(v int, names []string) []incrBlock {
	a, b := names[0], names[len(names)-1]
	return []incrBlock{
		{text: fmt.Sprintf("env \"prod\" {\n  daemon %q {\n    environment = { MODE = \"prod%d\" }\n  }\n  daemon %q {\n    depends_on %q {\n      condition = \"started\"\n    }\n  }\n}\n", a, v, b, a)},
		{text: "metrics {\n  listen = \"127.0.0.1:9464\"\n}\n"},
		{text: fmt.Sprintf("alert \"page\" {\n  on      = [\"errored\"]\n  command = [\"true\"]\n  daemons = [%q]\n}\n", a)},
	}
}

// TestIncrementalIsAFullLoad: over random edits of a file of daemons with a
// profile, metrics and an alert — a daemon's args changed, blocks moved,
// inserted, deleted and renamed, comments and blank lines added above
// (every block below moves), the profile changed, now and then a syntax
// error or a duplicate — each load and validate through the cache gives what
// a fresh one gives (Config reflect.DeepEqual, ranges included, and the same
// diagnostics), most of them incrementally; a changed profile is never
// incremental; and no entry holds the sensitive value of a daemon that has
// one.
func TestIncrementalIsAFullLoad(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { incrementalRun(t, seed) })
	}
}

func incrementalRun(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 17))
	file, c := cacheProject(t, nil)
	environ := []string{"HOME=/home/u"}
	var names []string
	for i := range 24 {
		names = append(names, fmt.Sprintf("d%02d", i))
	}
	// The profile, the alert and the dependencies name these, which are
	// never deleted or renamed: a broken file loads in full every time.
	kept := []string{"d00", "d12"}
	variant := map[string]int{}
	var daemons []incrBlock
	for i, n := range names {
		daemons = append(daemons, incrBlock{name: n, text: incrDaemon(n, 0, i%3, others(kept, n))})
	}
	pick := func() int {
		for {
			if k := r.IntN(len(daemons)); !slices.Contains(kept, daemons[k].name) {
				return k
			}
		}
	}
	ctxVariant := 0
	next := len(names)
	counts := map[cacheOutcome]int{}
	for step := range 100 {
		what := ""
		var extra []incrBlock
		switch op := r.IntN(12); {
		case op < 4: // an edit of one daemon
			k := r.IntN(len(daemons))
			variant[daemons[k].name]++
			daemons[k].text = incrDaemon(daemons[k].name, variant[daemons[k].name], k%3, others(kept, daemons[k].name))
			what = "edit " + daemons[k].name
		case op == 4: // a move
			i, j := r.IntN(len(daemons)), r.IntN(len(daemons))
			daemons[i], daemons[j] = daemons[j], daemons[i]
			what = "swap"
		case op == 5: // an insertion
			n := fmt.Sprintf("n%03d", next)
			next++
			k := r.IntN(len(daemons) + 1)
			daemons = slices.Insert(daemons, k, incrBlock{name: n, text: incrDaemon(n, r.IntN(9), 0, nil)})
			what = "insert " + n
		case op == 6 && len(daemons) > 4: // a deletion
			k := pick()
			what = "delete " + daemons[k].name
			daemons = slices.Delete(daemons, k, k+1)
		case op == 7: // a rename
			k := pick()
			n := fmt.Sprintf("r%03d", next)
			next++
			what = "rename " + daemons[k].name + " " + n
			daemons[k].text = strings.Replace(daemons[k].text, fmt.Sprintf("daemon %q", daemons[k].name), fmt.Sprintf("daemon %q", n), 1)
			daemons[k].name = n
		case op == 8: // lines above a block: every block below moves
			k := r.IntN(len(daemons))
			daemons[k].text = "\n# moved down\n" + daemons[k].text
			what = "lines above " + daemons[k].name
		case op == 9: // the profile
			ctxVariant++
			what = "profile"
		case op == 10: // a syntax error, a duplicate, or an error of a daemon taken, for one load
			switch r.IntN(3) {
			case 0:
				extra = []incrBlock{{text: "daemon \"broken\" {\n  command = \"sleep\n}\n"}}
			case 1:
				extra = []incrBlock{daemons[r.IntN(len(daemons))]}
			default: // reads the restart policy of d00, taken from the entry
				extra = []incrBlock{{name: "w", text: "daemon \"waits\" {\n  command = \"sleep\"\n  depends_on \"d00\" {\n    condition = \"completed_successfully\"\n  }\n}\n"}}
			}
			what = "broken"
		case op == 11 && r.IntN(3) == 0: // a sensitive value, for one load
			extra = []incrBlock{{name: "s", text: "daemon \"secret\" {\n  command = \"sleep\"\n  environment = { TOKEN = \"hunter2\" }\n  sensitive = [\"TOKEN\"]\n}\n"}}
			what = "sensitive"
		default:
			what = "unchanged"
		}
		blocks := append(append(slices.Clone(daemons[:len(daemons)/2]), extra...), daemons[len(daemons)/2:]...)
		blocks = append(blocks, incrContext(ctxVariant, kept)...)
		src := incrSource(blocks)
		if err := os.WriteFile(file, src, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, profile := range []string{"", "prod"} {
			want, _, wantDiags := Load(file, profile, environ)
			got, files, diags := LoadCached(c, file, profile, environ)
			at := fmt.Sprintf("step %d (%s), profile %q, outcome %d", step, what, profile, c.last)
			sameDiags(t, at, diags, wantDiags)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: the config differs from a fresh load\n%s", at, configDiff(got, want))
			}
			if (c.last == cacheMiss) == (len(files) == 0) {
				t.Fatalf("%s: %d files", at, len(files))
			}
			if what == "profile" && c.last != cacheMiss {
				t.Fatalf("%s: a changed profile block was not a full load", at)
			}
			counts[c.last]++
		}
		wantProfiles, _, wantDiags := Validate(file, environ)
		gotProfiles, _, diags := ValidateCached(c, file, environ)
		at := fmt.Sprintf("step %d (%s), validate, outcome %d", step, what, c.last)
		sameDiags(t, at, diags, wantDiags)
		if !reflect.DeepEqual(gotProfiles, wantProfiles) {
			t.Fatalf("%s: profiles %v, want %v", at, gotProfiles, wantProfiles)
		}
		counts[c.last]++
		entries, _ := filepath.Glob(filepath.Join(c.Dir, CacheFilePrefix+"-*"))
		if len(entries) > 5 {
			t.Fatalf("%s: entries %v", at, entries)
		}
		for _, e := range entries {
			if b, _ := os.ReadFile(e); bytes.Contains(b, []byte("hunter2")) {
				t.Fatalf("%s: %s holds a sensitive value", at, e)
			}
		}
	}
	t.Logf("outcomes (hit, incremental, full): %d %d %d", counts[cacheHit], counts[cacheIncremental], counts[cacheMiss])
	if counts[cacheIncremental] < counts[cacheMiss] {
		t.Fatalf("only %d of %d loads were incremental", counts[cacheIncremental], counts[cacheIncremental]+counts[cacheMiss]+counts[cacheHit])
	}
}

// others is names without name.
func others(names []string, name string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == name })
}

// configDiff names the first daemon that differs between got and want.
func configDiff(got, want *Config) string {
	if got == nil || want == nil {
		return fmt.Sprintf("got %v, want %v", got != nil, want != nil)
	}
	if len(got.Daemons) != len(want.Daemons) {
		return fmt.Sprintf("%d daemons, want %d", len(got.Daemons), len(want.Daemons))
	}
	for i := range got.Daemons {
		if !reflect.DeepEqual(got.Daemons[i], want.Daemons[i]) {
			return fmt.Sprintf("%+v\nwant\n%+v", got.Daemons[i], want.Daemons[i])
		}
	}
	return "the daemons are equal"
}

// FuzzIncrementalLoad: whatever file an entry was made from (before) and
// whatever the file is now (after), a load through the cache gives what a
// fresh load gives.
func FuzzIncrementalLoad(f *testing.F) {
	names := []string{"a", "b", "c"}
	var base []incrBlock
	for i, n := range names {
		base = append(base, incrBlock{name: n, text: incrDaemon(n, i, i, names[:i])})
	}
	base = append(base, incrContext(0, names)...)
	src := incrSource(base)
	f.Add(src, src)
	f.Add(src, bytes.Replace(src, []byte(`"1000"`), []byte(`"1001"`), 1))
	f.Add(src, append([]byte("\n\n"), src...))
	f.Add(src, incrSource(append([]incrBlock{base[2], base[1], base[0]}, base[3:]...)))
	f.Add(src, bytes.Replace(src, []byte(`daemon "b"`), []byte(`daemon "z"`), 1))
	f.Add(src, bytes.Replace(src, []byte(`prod0`), []byte(`prod1`), 1))
	f.Add(src, incrSource(append([]incrBlock{base[0], base[0]}, base[1:]...)))
	f.Fuzz(func(t *testing.T, before, after []byte) {
		file, c := cacheProject(t, before)
		for _, p := range []string{"", "prod"} {
			LoadCached(c, file, p, nil)
		}
		if err := os.WriteFile(file, after, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"", "prod"} {
			want, _, wantDiags := Load(file, p, nil)
			got, _, diags := LoadCached(c, file, p, nil)
			sameDiags(t, "load", diags, wantDiags)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("profile %q, outcome %d: the config differs from a fresh load\n%s", p, c.last, configDiff(got, want))
			}
		}
	})
}
