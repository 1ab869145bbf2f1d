package schema

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// deep builds a file whose value nests n levels deep in each of the ways HCL's
// parser recurses on; line is where the limit is crossed (all on line 3).
func deepShapes(n int) map[string]string {
	sleeper := func(args string) string {
		return "daemon \"sleeper\" {\n  command = \"sleep\"\n  args = " + args + "\n}\n"
	}
	return map[string]string{
		"lists":        sleeper(strings.Repeat("[", n) + `"1000"` + strings.Repeat("]", n)),
		"parentheses":  sleeper("[" + strings.Repeat("(", n) + `"1000"` + strings.Repeat(")", n) + "]"),
		"objects":      sleeper("[" + strings.Repeat("{a=", n) + "1" + strings.Repeat("}", n) + "]"),
		"not":          sleeper("[" + strings.Repeat("!", n) + "true]"),
		"minus":        sleeper("[" + strings.Repeat("- ", n) + "1]"),
		"conditionals": sleeper("[" + strings.Repeat("true ? 1 : ", n) + "2]"),
		"templates":    sleeper("[" + strings.Repeat(`"${`, n) + "1" + strings.Repeat(`}"`, n) + "]"),
		"directives":   sleeper(`["` + strings.Repeat("%{if true}", n) + "x" + strings.Repeat("%{endif}", n) + `"]`),
		"calls":        sleeper("[" + strings.Repeat("upper(", n) + `"x"` + strings.Repeat(")", n) + "]"),
		"not-parens":   sleeper("[" + strings.Repeat("!(", n) + "true" + strings.Repeat(")", n) + "]"),
		"heredocs":     sleeper("[" + strings.Repeat("<<EOT\n${", n) + "1" + strings.Repeat("}\nEOT\n", n) + "]"),
		"blocks":       "daemon \"sleeper\" {\n  command = \"sleep\"\n  " + strings.Repeat("b {\n", n) + strings.Repeat("}\n", n) + "}\n",
	}
}

func writeConfig(t *testing.T, name, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadRefusesDeepNesting is issue 13 item 6: 100,000 levels of [ were a
// Go stack overflow (a fatal error in every command) and 50,000 cost 834 MB.
// Now every way of nesting is refused before parsing, at the place the limit
// is crossed, and MaxNesting levels still parse.
func TestLoadRefusesDeepNesting(t *testing.T) {
	shapes := deepShapes(10_000)
	shapes["lists of the issue"] = deepShapes(100_000)["lists"]
	for name, src := range shapes {
		t.Run(name, func(t *testing.T) {
			cfg, _, diags := Load(writeConfig(t, "beads.hcl", src), "", nil)
			if cfg != nil || len(diags) != 1 || diags[0].Summary != "Configuration nested too deeply" {
				t.Fatalf("want one nesting error, got config %v, %v", cfg != nil, diags)
			}
			d := diags[0]
			if d.Subject == nil || d.Subject.Filename == "" || d.Subject.Start.Line < 3 {
				t.Fatalf("diagnostic not at file:line:col: %+v", d.Subject)
			}
			if !strings.Contains(d.Detail, "Flatten") {
				t.Errorf("detail does not say what to do: %s", d.Detail)
			}
		})
	}
	// The lists case: the daemon block is one level and the first '[' (column
	// 10 of line 3) the second, so the limit is crossed at column 10+MaxNesting-1.
	_, _, diags := Load(writeConfig(t, "beads.hcl", deepShapes(100_000)["lists"]), "", nil)
	if got := diags[0].Subject.Start; got.Line != 3 || got.Column != 10+MaxNesting-1 {
		t.Errorf("at %d:%d, want 3:%d", got.Line, got.Column, 10+MaxNesting-1)
	}
}

func TestLoadNestingAtTheLimitParses(t *testing.T) {
	// The daemon block and the string "1000" take one level each.
	src := deepShapes(MaxNesting - 2)["lists"]
	_, _, diags := Load(writeConfig(t, "beads.hcl", src), "", nil)
	for _, d := range diags {
		if d.Summary == "Configuration nested too deeply" {
			t.Fatalf("%d levels refused: %v", MaxNesting, d)
		}
	}
	src = deepShapes(MaxNesting - 1)["lists"]
	if _, _, diags := Load(writeConfig(t, "beads.hcl", src), "", nil); len(diags) != 1 || diags[0].Summary != "Configuration nested too deeply" {
		t.Fatalf("%d levels: %v", MaxNesting+1, diags)
	}
}

// TestCheckLimitsIgnoresTextAndComments: brackets inside strings, heredocs,
// comments and escaped template sequences nest nothing.
func TestCheckLimitsIgnoresTextAndComments(t *testing.T) {
	many := strings.Repeat("[{(", 200)
	for name, src := range map[string]string{
		"string":          `x = "` + many + `"` + "\n",
		"escaped quote":   `x = "\"` + many + `"` + "\n",
		"line comment":    "# " + many + "\n// " + many + "\nx = 1\n",
		"block comment":   "/* " + many + "\n" + many + " */\nx = 1\n",
		"heredoc":         "x = <<-EOT\n  " + many + "\n  EOT\ny = 1\n",
		"escaped interp":  `x = "` + strings.Repeat("$${", 200) + `"` + "\n",
		"many attributes": strings.Repeat("a = true ? !x : -y\n", 500),
		"many items":      "a = [" + strings.Repeat("!x, ", 500) + "]\n",
		"binary minus":    "a = " + strings.Repeat("1 - ", 500) + "1\n",
		"json":            `{"daemon": {"x": {"args": ["` + many + `"]}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			file := "beads.hcl"
			if name == "json" {
				file = "beads.hcl.json"
			}
			if diags := CheckLimits([]byte(src), file); len(diags) != 0 {
				t.Fatalf("refused: %v", diags)
			}
		})
	}
}

func TestCheckLimitsJSON(t *testing.T) {
	for name, src := range map[string]string{
		"arrays":    `{"daemon": {"x": {"args": ` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}}}`,
		"templates": `{"daemon": {"x": {"command": "` + strings.Repeat("${", 1000) + strings.Repeat("}", 1000) + `"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			cfg, _, diags := Load(writeConfig(t, "beads.hcl.json", src), "", nil)
			if cfg != nil || len(diags) != 1 || diags[0].Summary != "Configuration nested too deeply" || diags[0].Subject.Start.Line != 1 {
				t.Fatalf("got %v", diags)
			}
		})
	}
}

// TestLoadRefusesLargeFile: a file over MaxFileSize is refused at the byte
// where it crosses the limit, and only that much of it is read (a 1 GB
// sparse file, or /dev/zero, answers at once).
func TestLoadRefusesLargeFile(t *testing.T) {
	line := "# " + strings.Repeat("x", 97) + "\n" // 100 bytes
	src := strings.Repeat(line, MaxFileSize/100+1)
	path := writeConfig(t, "beads.hcl", src)
	cfg, _, diags := Load(path, "", nil)
	if cfg != nil || len(diags) != 1 || diags[0].Summary != "Configuration file too large" {
		t.Fatalf("got %v", diags)
	}
	if got, want := diags[0].Subject.Start, (hcl.Pos{Line: MaxFileSize/100 + 1, Column: MaxFileSize%100 + 1, Byte: MaxFileSize}); got != want {
		t.Errorf("at %+v, want %+v", got, want)
	}
	if !strings.Contains(diags[0].Detail, "1024 KiB") {
		t.Errorf("detail: %s", diags[0].Detail)
	}

	sparse := filepath.Join(t.TempDir(), "beads.hcl")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, p := range []string{sparse, "/dev/zero"} {
		if _, _, diags := Load(p, "", nil); len(diags) != 1 || diags[0].Summary != "Configuration file too large" {
			t.Errorf("%s: %v", p, diags)
		}
	}
	// At the limit exactly, the file is parsed.
	if diags := CheckLimits([]byte(strings.Repeat(" ", MaxFileSize)), "beads.hcl"); len(diags) != 0 {
		t.Errorf("%d bytes refused: %v", MaxFileSize, diags)
	}
}

// maxDepths is the deepest nesting of src by the scanner and by HCL's tokens,
// and whether the scanner could decide alone.
func maxDepths(src []byte) (scan, tokens int, sure bool) {
	s := newTracker(1<<30, frameRoot)
	sure = utf8.Valid(src) && scanSure(s, src)
	toks, _ := hclsyntax.LexConfig(src, "", hcl.InitialPos)
	r := newTracker(1<<30, frameRoot)
	feedTokens(r, toks)
	return s.max, r.max, sure
}

// FuzzCheckLimits holds the byte scanner to HCL's own lexer: on any input it
// can decide alone, it counts the nesting that HCL's tokens give.
func FuzzCheckLimits(f *testing.F) {
	for _, src := range deepShapes(5) {
		f.Add([]byte(src))
	}
	for _, s := range []string{
		"x = <<EOT\n${\"}\"}\nEOT\ny = [[[\n",
		"x = \"$${[[\" \n y = \"%%{ if }\"",
		"x = <<-EOT\n  a${b}EOT\n  EOT\n[[",
		"x = \"a\\\"[[\" [[",
		"a = 1.e-[[ b = 1e-5-[",
		"x = \"${ { } }\" } } [ \"${ ] }\" [",
		"x = a.*.b[*] - - !c ? d : e",
		"x = \"%{~ for a in b ~}${a}%{~ endfor ~}\"",
		"/* [[[ */ # [[\n // [[\r\n x = [\r\n",
		"x = <<EOT\r\n[[\r\nEOT\r\n[[",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 4096 {
			return
		}
		scan, tokens, sure := maxDepths(src)
		if sure && scan != tokens {
			t.Fatalf("scanner counts %d levels, HCL's tokens %d", scan, tokens)
		}
		CheckLimits(src, "beads.hcl")
		CheckLimits(src, "beads.hcl.json")
	})
}

// TestLoadRefusesLongNames is issue 13 item 12: names of 250-300 characters
// validated and then failed at run time ("file name too long"). The limit is
// what the longest file named after a daemon can hold, proved on this disk.
func TestLoadRefusesLongNames(t *testing.T) {
	for _, n := range []int{MaxNameLength + 1, 250, 300} {
		name := strings.Repeat("d", n)
		src := "daemon \"" + name + "\" {\n  command = \"sleep\"\n}\nenv \"" + name + "\" {\n}\n"
		_, _, diags := Load(writeConfig(t, "beads.hcl", src), "", nil)
		if len(diags) != 2 || diags[0].Summary != "Invalid daemon name" || diags[1].Summary != "Invalid env profile name" ||
			!strings.Contains(diags[0].Detail, "Choose a shorter name") || diags[0].Subject.Start.Line != 1 {
			t.Fatalf("%d characters: %v", n, diags)
		}
	}
	name := strings.Repeat("d", MaxNameLength)
	cfg, _, diags := Load(writeConfig(t, "beads.hcl", "daemon \""+name+"\" {\n  command = \"sleep\"\n}\n"), "", nil)
	if diags.HasErrors() {
		t.Fatalf("%d characters refused: %v", MaxNameLength, diags)
	}
	// The longest file the supervisor names after a daemon: a compressed backup
	// of a rotated log. It fits at the limit, and one character more does not.
	dir := filepath.Dir(cfg.Daemons[0].Logs.Out)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Base(cfg.Daemons[0].Logs.Out)
	backup = strings.TrimSuffix(backup, ".log") + "-2006-01-02T15-04-05.000.log.gz"
	if err := os.WriteFile(filepath.Join(dir, backup), nil, 0o600); err != nil {
		t.Fatalf("the longest backup of a daemon named at the limit: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "d"+backup), nil, 0o600); err == nil {
		t.Error("a name one character longer fits too: the limit is not the file system's")
	}
}

// TestLoadRefusesNUL: a NUL byte in a command, an argument, a folder or an
// environment value validated and failed only at apply.
func TestLoadRefusesNUL(t *testing.T) {
	for field, line := range map[string]string{
		"command":     `command = "sle\u0000ep"`,
		"args":        `args = ["a", "b\u0000"]`,
		"dir":         `dir = "/tmp\u0000x"`,
		"environment": `environment = { A = "x\u0000y" }`,
		"log path":    `logs { out = "a\u0000.log" }`,
	} {
		t.Run(field, func(t *testing.T) {
			src := "daemon \"x\" {\n  command = \"sleep\"\n  " + line + "\n}\n"
			if field == "command" {
				src = "daemon \"x\" {\n  " + line + "\n}\n"
			}
			cfg, _, diags := Load(writeConfig(t, "beads.hcl", src), "", nil)
			if cfg != nil || len(diags) != 1 || !strings.Contains(diags[0].Detail, "NUL byte") || diags[0].Subject == nil {
				t.Fatalf("got %v", diags)
			}
		})
	}
}

// TestValidNameIsTheDocumentedPattern: validName accepts exactly
// ^[A-Za-z0-9][A-Za-z0-9_.-]*$ (it replaced that regexp).
func TestValidNameIsTheDocumentedPattern(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	for _, n := range []string{"", "a", "Z9", "web-1", "a.b_c", "-a", "_a", ".a", "a b", "a/b", "é", "a\n", "9", "a-", "a..", "A\x00"} {
		if got, want := validName(n), re.MatchString(n); got != want {
			t.Errorf("validName(%q) = %v, want %v", n, got, want)
		}
	}
}
