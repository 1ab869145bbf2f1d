package schema

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// chunkTraps are pieces of files where a cut at the wrong place would still
// look like one between blocks: braces and "daemon" lines inside heredocs,
// strings, templates and comments, CRLF line ends, a BOM, one-line blocks,
// comments after a closing brace, unicode before a cut.
var chunkTraps = []string{
	"daemon \"h\" {\n  command = \"sh\"\n  args = [<<EOT\n}\ndaemon \"evil\" {\n  command = \"x\"\n}\nEOT\n  ]\n}\n",
	"daemon \"i\" {\n  command = \"sh\"\n  args = [<<-EOT\n    }\n    ${ \"}\" }\n  EOT\n  ]\n}\n",
	"daemon \"s\" {\n  command = \"}\\n}\"\n  args = [\"${ {a = \"}\"}.a }\", \"%{ if true }}%{ endif }\"]\n}\n",
	"/* a comment\n}\ndaemon \"c\" {\n  command = \"x\"\n}\n*/\ndaemon \"d\" {\n  command = \"y\"\n}\n",
	"daemon \"r\" {\r\n  command = \"x\"\r\n}\r\ndaemon \"q\" {\r\n  command = \"y\"\r\n}\r\n",
	"daemon \"o\" { command = \"one line\" }\ndaemon \"p\" { command = \"two\" } # a comment }\n",
	"daemon \"ü\" {\n  command = \"日本語 🎉\"\n}\n",
	"# } a comment that looks like a close\ndaemon \"e\" {\n  command = \"x\" // }\n  restart {\n    policy = \"always\"\n  }\n}\n",
	"env \"prod\" {\n  daemon \"h\" {\n    environment = { A = \"}\" }\n  }\n}\n",
	"\xef\xbb\xbfdaemon \"bom\" {\n  command = \"a BOM inside the file, not at its start\"\n}\n",
}

// chunkSources are the files the chunked parse is checked on: every file of
// the cache tests, files of the traps mixed with generated daemons, with
// and without a BOM, and a file cut short.
func chunkSources(t *testing.T) map[string][]byte {
	t.Helper()
	out := cacheSources(t)
	out["generated-1000"] = benchSource(1000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		var b strings.Builder
		if i%5 == 4 {
			b.WriteString("\xef\xbb\xbf")
		}
		for j := range 12 {
			if rng.IntN(2) == 0 {
				b.WriteString(chunkTraps[rng.IntN(len(chunkTraps))])
			} else {
				fmt.Fprintf(&b, "daemon \"g%d\" {\n  command = \"sleep\"\n  args = [\"%d\"]\n}\n", j, rng.IntN(1000))
			}
		}
		src := b.String()
		out[fmt.Sprintf("traps-%d", i)] = []byte(src)
		out[fmt.Sprintf("traps-%d-cut", i)] = []byte(src[:rng.IntN(len(src))])
	}
	return out
}

// TestChunkedParseIsTheWholeParse: whenever the pieces are used, the joined
// body is reflect.DeepEqual to the one a whole parse gives (every block,
// expression and range); when the whole parse has any diagnostic, the pieces
// are never used. The generated daemons are cut (the cut is not always
// refused).
func TestChunkedParseIsTheWholeParse(t *testing.T) {
	used := 0
	defer func() { t.Logf("%d cuts used", used) }()
	for name, src := range chunkSources(t) {
		whole, wdiags := hclsyntax.ParseConfig(src, "beads.hcl", hcl.InitialPos)
		_, splits := nativeScan(src, MaxNesting)
		for _, n := range []int{2, 3, 5, 16} {
			f := parseChunked(src, "beads.hcl", splits, n)
			if f == nil {
				if strings.HasPrefix(name, "generated") && n <= 5 {
					t.Errorf("%s: not cut in %d", name, n)
				}
				continue
			}
			if len(wdiags) > 0 {
				t.Fatalf("%s: cut in %d though the whole parse says %v", name, n, wdiags)
			}
			if !reflect.DeepEqual(f.Body, whole.Body) {
				t.Fatalf("%s: the body of %d pieces differs from the whole parse's", name, n)
			}
			used++
		}
	}
}

// TestChunkedParseRefusesAMidFileBOM: a BOM at a line start between blocks
// is an "Invalid character" for the whole parse, but a piece starting with
// it had it skipped as its own BOM: validate said valid on 2 CPUs and
// invalid at GOMAXPROCS=1.
func TestChunkedParseRefusesAMidFileBOM(t *testing.T) {
	// The BOM goes where a cut in two falls: the first split past the
	// middle.
	plain := benchSource(100)
	_, splits := nativeScan(plain, MaxNesting)
	at := 0
	for _, sp := range splits {
		if sp >= (len(plain)+3)/2 {
			at = sp
			break
		}
	}
	src := append(append(append([]byte{}, plain[:at]...), "\xef\xbb\xbf"...), plain[at:]...)
	if _, diags := hclsyntax.ParseConfig(src, "beads.hcl", hcl.InitialPos); !diags.HasErrors() {
		t.Fatal("the whole parse accepts a BOM inside the file")
	}
	_, splits = nativeScan(src, MaxNesting)
	if f := parseChunked(src, "beads.hcl", splits, 2); f != nil {
		t.Error("cut in two though the whole parse refuses the file")
	}
}

// TestChunkedLoadIsTheWholeLoad: Load and Validate with the file cut into
// pieces give what they give without (configs reflect.DeepEqual, the same
// diagnostics in the same order), also on files with warnings and errors,
// where the pieces give way to a whole parse.
func TestChunkedLoadIsTheWholeLoad(t *testing.T) {
	minSize, count := chunkMin, chunkCount
	t.Cleanup(func() { chunkMin, chunkCount = minSize, count })
	dir := t.TempDir()
	for name, src := range chunkSources(t) {
		path := filepath.Join(dir, "beads.hcl")
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		environ := []string{"HOME=/home/u", "BD_TOKEN=x", "PORT=3307"}
		chunkMin, chunkCount = 1<<30, func() int { return 1 }
		wantProfiles, _, wantV := Validate(path, environ)
		want, _, wantL := Load(path, "production", environ)
		chunkMin, chunkCount = 0, func() int { return 3 }
		gotProfiles, _, gotV := Validate(path, environ)
		got, _, gotL := Load(path, "production", environ)
		sameDiags(t, name+" validate", gotV, wantV)
		sameDiags(t, name+" load", gotL, wantL)
		if !reflect.DeepEqual(gotProfiles, wantProfiles) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: the chunked load differs from the whole one", name)
		}
	}
}

// FuzzChunkedParse: for any file, pieces are used only when the whole parse
// is clean, and then they join into its very body.
func FuzzChunkedParse(f *testing.F) {
	for _, trap := range chunkTraps {
		f.Add([]byte(trap+trap+"daemon \"z\" {\n  command = \"x\"\n}\n"+trap), uint8(2))
	}
	f.Add(benchSource(3), uint8(3))
	f.Fuzz(func(t *testing.T, src []byte, n uint8) {
		_, splits := nativeScan(src, MaxNesting)
		c := parseChunked(src, "beads.hcl", splits, int(n%8)+2)
		if c == nil {
			return
		}
		whole, diags := hclsyntax.ParseConfig(src, "beads.hcl", hcl.InitialPos)
		if len(diags) > 0 {
			t.Fatalf("cut though the whole parse says %v", diags)
		}
		if !reflect.DeepEqual(c.Body, whole.Body) {
			t.Fatal("the joined body differs from the whole parse's")
		}
	})
}
