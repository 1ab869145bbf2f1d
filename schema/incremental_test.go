package schema

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
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
// error or a duplicate, the entries those of an older version or none —
// each load and validate through the cache gives what
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
	entriesRand := rand.New(rand.NewPCG(seed, 23)) // apart: the edits are r's alone
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
	var saved map[string][]byte
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
		// Now and then the entries are those of an older version of the
		// file (kept some steps before), or gone (a crash between an
		// entry's removal and its rename, or a folder cleaned).
		switch entriesRand.IntN(12) {
		case 0:
			saved = readEntries(t, c.Dir)
		case 1:
			writeEntries(t, c.Dir, saved)
			what += ", older entries"
		case 2:
			writeEntries(t, c.Dir, nil)
			what += ", no entries"
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

// readEntries is the cache entries in dir, by name.
func readEntries(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, CacheFilePrefix+"-*"))
	m := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(p)] = b
	}
	return m
}

// writeEntries makes the cache entries in dir those of m.
func writeEntries(t *testing.T, dir string, m map[string][]byte) {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, CacheFilePrefix+"-*"))
	for _, p := range paths {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	for name, b := range m {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
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

// fuzzBase is the fuzz tests' file of three daemons and the context, by
// block and whole.
func fuzzBase() ([]incrBlock, []byte) {
	names := []string{"a", "b", "c"}
	var base []incrBlock
	for i, n := range names {
		base = append(base, incrBlock{name: n, text: incrDaemon(n, i, i, names[:i])})
	}
	base = append(base, incrContext(0, names)...)
	return base, incrSource(base)
}

// FuzzIncrementalLoad: whatever file an entry was made from (before) and
// whatever the file is now (after), a load through the cache gives what a
// fresh load gives.
func FuzzIncrementalLoad(f *testing.F) {
	base, src := fuzzBase()
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

// cutPieces is what an entry records of ct for cutAround (no daemons).
func cutPieces(ct *cut) []piece {
	out := make([]piece, len(ct.tags))
	for i := range out {
		out[i] = piece{Tag: ct.tags[i], Line: ct.starts[i].Line, Byte: ct.bounds[i], Len: ct.bounds[i+1] - ct.bounds[i]}
	}
	return out
}

// sameCut fails unless the cut of after from the pieces of before's cut is
// the full scan's cut of after, and says whether cutAround cut it (rather
// than a full scan).
func sameCut(t *testing.T, before, after []byte) bool {
	t.Helper()
	c := &Cache{Key: []byte("0123456789abcdef0123456789abcdef")}
	old := c.cutSource(before, "beads.hcl", nil)
	if old == nil {
		return false
	}
	e := &loadEntry{Pieces: cutPieces(old)}
	want := c.cutSource(after, "beads.hcl", nil)
	got := c.cutSource(after, "beads.hcl", e)
	if (got == nil) != (want == nil) {
		t.Fatalf("cut from the entry %v, full scan %v", got != nil, want != nil)
	}
	if want != nil && (!slices.Equal(got.bounds, want.bounds) || !slices.Equal(got.starts, want.starts) || !reflect.DeepEqual(got.tags, want.tags)) {
		t.Fatalf("the cut from the entry differs from the full scan's:\n%v %v\nwant\n%v %v", got.bounds, got.starts, want.bounds, want.starts)
	}
	bounds, _ := cutAround(after, e, hmac.New(sha256.New, c.Key))
	return bounds != nil
}

// TestCutAroundIsTheFullCut: a file cut from the pieces an entry recorded of
// another version is cut where the full scan cuts it, whatever changed: one
// block edited (first, middle, last), blocks inserted, deleted and moved, a
// BOM, CRLF line ends, and edits that change what the unchanged pieces are
// (a string or a heredoc left open that swallows the pieces after it, a
// comment over unchanged pieces, one opened before them and closed after),
// the last piece's bytes found before the end (it ended at the end of the
// file, not where the scan could cut); cutAround cuts all but the files
// with a '/*', the one that shares nothing and the one nested too deeply.
func TestCutAroundIsTheFullCut(t *testing.T) {
	blk := func(name, arg string) string {
		return fmt.Sprintf("daemon %q {\n  command = \"sleep\"\n  args    = [%q]\n}\n\n", name, arg)
	}
	file := func(blocks ...string) []byte { return []byte(strings.Join(blocks, "")) }
	a, b, c, d := blk("a", "1"), blk("b", "2"), blk("c", "3"), blk("d", "4")
	base := file(a, b, c, d)
	for _, tc := range []struct {
		what          string
		before, after []byte
		around        bool // cutAround cuts it
	}{
		{"middle edited", base, file(a, blk("b", "22"), c, d), true},
		{"first edited", base, file(blk("a", "11"), b, c, d), true},
		{"last edited", base, file(a, b, c, blk("d", "44")), true},
		{"inserted", base, file(a, b, blk("x", "9"), c, d), true},
		{"deleted", base, file(a, c, d), true},
		{"moved", base, file(a, c, b, d), true},
		{"unchanged", base, base, true},
		{"all new", base, file(blk("p", "1"), "daemon \"q\" {\n}"), false},
		{"lines above the first", base, append([]byte("\n# top\n"), base...), true},
		{"a BOM before", base, append([]byte("\xef\xbb\xbf"), base...), true},
		{"a BOM moved after a block", append([]byte("\xef\xbb\xbf"), base...), append([]byte("daemon \"x\" {\n}\n\xef\xbb\xbf"), base...), false},
		{"CRLF", bytes.ReplaceAll(base, []byte("\n"), []byte("\r\n")), bytes.ReplaceAll(file(a, blk("b", "22"), c, d), []byte("\n"), []byte("\r\n")), true},
		{"a string left open", base, file(a, "daemon \"b\" {\n  command = \"sleep\n}\n\n", c, d), true},
		{"a heredoc left open", base, file(a, "daemon \"b\" {\n  args = <<EOT\n", c, d), true},
		{"a comment over unchanged pieces", base, file(a, "/*\n", c, "*/\n", d), false},
		{"the last piece found before the end", file(a, b, "\n"), file(a, "\n", b, c, "\n"), true},
		{"two edits apart", base, file(blk("a", "11"), b, c, blk("d", "44")), true},
		{"two deleted", file(a, b, c, d, a), file(a, d, a), true},
		{"a comment in the head closed after it", file("x = 1 /* 2\n", a, b), file("x = 1 /* 2\n", a, "*/\n", b), false},
		{"nested too deeply", base, file(a, "x = "+strings.Repeat("[", MaxNesting+1)+"\n", c, d), false},
	} {
		if got := sameCut(t, tc.before, tc.after); got != tc.around {
			t.Errorf("%s: cut around the known pieces %v, want %v", tc.what, got, tc.around)
		}
	}
}

// FuzzIncrementalCut: whatever file that parses an entry's pieces were cut
// from (before) and whatever the file is now (after), the cut from them is
// the full scan's.
func FuzzIncrementalCut(f *testing.F) {
	base, src := fuzzBase()
	f.Add(src, src)
	f.Add(src, bytes.Replace(src, []byte(`"1001"`), []byte(`"1001" /*`), 1))
	f.Add(src, bytes.Replace(src, []byte(`"1001"`), []byte(`"1001`), 1))
	f.Add(src, bytes.Replace(src, []byte(`"1001"`), []byte("<<EOT\n"), 1))
	f.Add(src, incrSource(append([]incrBlock{base[2], base[1], base[0]}, base[3:]...)))
	f.Add(src, append([]byte("\xef\xbb\xbf\n"), src...))
	f.Add(append([]byte("\xef\xbb\xbf"), src...), append([]byte("daemon \"x\" {\n}\n\xef\xbb\xbf"), src...))
	f.Add(bytes.ReplaceAll(src, []byte("\n"), []byte("\r\n")), bytes.ReplaceAll(src, []byte("\n"), []byte("\r")))
	f.Fuzz(func(t *testing.T, before, after []byte) {
		// An entry is made only of a file that parsed.
		if _, diags := hclsyntax.ParseConfig(before, "beads.hcl", hcl.InitialPos); len(diags) == 0 {
			sameCut(t, before, after)
		}
	})
}
