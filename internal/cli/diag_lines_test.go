package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/hashicorp/hcl/v2"

	"github.com/beadsctl/beadsctl/schema"
)

// diagCorpus are beads.hcl files with invalid names in every place a name
// appears, several errors in one file, and errors with warnings, some
// quoting control characters of the file back.
var diagCorpus = map[string]string{
	"daemon labels": "daemon \"a b\" {\n  command = \"sleep\"\n}\ndaemon \"c\\rd\" {\n  command = \"sleep\"\n}\n",
	"env keys, base and profile": "daemon \"x\" {\n  command = \"sleep\"\n  environment = { \"A=B\" = \"1\" }\n  sensitive = [\"Q\"]\n}\n" +
		"env \"p\" {\n  daemon \"x\" {\n    environment = { \"C=D\" = \"1\" }\n  }\n}\n",
	"env keys with line breaks": "daemon \"x\" {\n  command = \"sleep\"\n  environment = { \"A\\nB\" = \"1\" }\n}\n" +
		"daemon \"y\" {\n  command = \"sleep\"\n  environment = { \"A\\rB\" = \"1\" }\n}\n",
	"env() names and an env key": "daemon \"sleeper\" {\n  command = \"sleep\"\n  args    = [env(\"A=B\"), env(\"\"), env(\"A\\nB\")]\n" +
		"  environment = { \"A=B\" = \"1\" }\n  restart { max_restarts = 0 }\n}\n",
	"profile names": "env \"bad name\" {\n}\nenv \"\" {\n}\ndaemon \"x\" {\n  command = \"sleep\"\n  environment = { \"A=B\" = \"1\" }\n}\n",
	"locals":        "locals {\n  a b = 1\n}\ndaemon \"x\" {\n  command = \"sleep\"\n}\n",
	"function args": "daemon \"x\" {\n  command = \"sleep\"\n  args = [upper(1, 2), lower(), for 1 in [1]: 1]\n}\n",
	"log paths with control characters": "daemon \"a\" {\n  command = \"sleep\"\n  logs { out = \"x\\u001b[2J\\r.log\" }\n}\n" +
		"daemon \"b\" {\n  command = \"sleep\"\n  logs { out = \"x\\u001b[2J\\r.log\" }\n}\n",
	"duplicates and warnings": "daemon \"x\" {\n  command = \"sleep\"\n  environment = { \"A=B\" = \"1\" }\n  restart { max_restarts = 0 }\n}\n" +
		"daemon \"x\" {\n  command = \"sleep\"\n}\n",
}

// TestDiagnosticsStartALineEach is issue 13 item 12, "two diagnostics run
// together without a newline (`…variable name.beads.hcl:4:17: …`)": however
// many diagnostics a file gives, and whatever its strings hold, each one is a
// line of its own in every form beadsctl writes them — validate's (compact,
// and on a terminal), the error that logs, health, show, migrate and the
// foreground agent print (schema.Error), and --json. A line break or other
// control character of the file is shown escaped, never written raw (a \r
// moved the cursor back over the diagnostic before it; a newline in an
// environment variable's name was accepted).
func TestDiagnosticsStartALineEach(t *testing.T) {
	for name, src := range diagCorpus {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "beads.hcl")
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			files, diags := schema.ValidateAll(path, []string{"PATH=/bin"})
			if !diags.HasErrors() {
				t.Fatalf("no error in %q", src)
			}
			errs := 0
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					errs++
				}
			}
			starts := func(what, out string, n int) {
				t.Helper()
				lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
				if len(lines) != n {
					t.Errorf("%s: %d lines for %d diagnostics:\n%s", what, len(lines), n, out)
				}
				for _, l := range lines {
					if !strings.HasPrefix(l, path+":") && !strings.HasPrefix(l, "error: ") && !strings.HasPrefix(l, "warning: ") {
						t.Errorf("%s: a line that does not start a diagnostic: %q", what, l)
					}
				}
				noControls(t, what, out)
			}
			var compact bytes.Buffer
			if err := writeDiagsCompact(&compact, diags); err != nil {
				t.Fatal(err)
			}
			starts("compact", compact.String(), len(diags))
			starts("schema.Error", schema.Error(diags).Error(), errs)

			var pretty bytes.Buffer
			if err := writeDiagsPretty(&pretty, diags, files, 80, false); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(pretty.String(), "\nError: ") + strings.Count(pretty.String(), "\nWarning: ") + 1; n != len(diags) {
				t.Errorf("pretty: %d diagnostics start a line, want %d:\n%s", n, len(diags), pretty.String())
			}
			noControls(t, "pretty", pretty.String())

			var js bytes.Buffer
			if err := writeDiagsJSON(&js, diags); err != nil {
				t.Fatal(err)
			}
			var list []jsonDiag
			if err := json.Unmarshal(js.Bytes(), &list); err != nil || len(list) != len(diags) {
				t.Errorf("--json: %d diagnostics, %v; want %d", len(list), err, len(diags))
			}
		})
	}
}

// noControls fails when out holds a control character other than a newline.
func noControls(t *testing.T, what, out string) {
	t.Helper()
	if i := strings.IndexFunc(out, func(r rune) bool { return r != '\n' && r != '\t' && unicode.IsControl(r) }); i >= 0 {
		t.Errorf("%s writes a raw control character %q at %d:\n%q", what, out[i], i, out)
	}
}
