package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/mitchellh/go-wordwrap"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/beadsctl/beadsctl/schema"
)

// loadConfig loads g.file under g.profile() with the caller's environment,
// shows its diagnostics (warnings too) once on stderr, and returns errPrinted
// when they hold an error. Commands that need the desired state start here.
func loadConfig(c *cobra.Command, g *globals) (*schema.Config, error) {
	return loadConfigAs(c, g, g.profile())
}

// loadConfigAs is loadConfig under the profile p.
func loadConfigAs(c *cobra.Command, g *globals, p profileChoice) (*schema.Config, error) {
	cfg, files, diags := loadSchema(g, p.name, os.Environ())
	diags = p.explainUnknown(diags)
	stderr := c.ErrOrStderr()
	if len(diags) > 0 {
		if err := renderDiags(stderr, diags, files, g.color(stderr), false); err != nil {
			return nil, err
		}
	}
	if diags.HasErrors() {
		return nil, errPrinted
	}
	return cfg, nil
}

// renderDiags writes diags to w in one of three forms:
//   - json: a JSON list of {severity, summary, detail, range} (range is
//     {filename, start{line,column,byte}, end{...}}, absent when unknown);
//   - w a terminal: each diagnostic with its source line and a caret marker
//     under the offending range, coloured when color is set;
//   - otherwise one line each: "beads.hcl:12:15: error: Summary; detail".
func renderDiags(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, color, json bool) error {
	switch {
	case json:
		return writeDiagsJSON(w, diags)
	case isTerminal(w):
		width := 0
		if f, ok := w.(*os.File); ok {
			if cols, _, err := term.GetSize(int(f.Fd())); err == nil {
				width = cols
			}
		}
		return writeDiagsPretty(w, diags, files, width, color)
	}
	return writeDiagsCompact(w, diags)
}

// jsonDiag is one diagnostic in `--json` output.
type jsonDiag struct {
	Severity string     `json:"severity"` // "error" or "warning"
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail"`
	Range    *jsonRange `json:"range,omitempty"`
}

type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

func writeDiagsJSON(w io.Writer, diags hcl.Diagnostics) error {
	out := make([]jsonDiag, 0, len(diags))
	for _, d := range diags {
		jd := jsonDiag{Severity: severity(d), Summary: d.Summary, Detail: d.Detail}
		if r := d.Subject; r != nil {
			jd.Range = &jsonRange{
				Filename: r.Filename,
				Start:    jsonPos{r.Start.Line, r.Start.Column, r.Start.Byte},
				End:      jsonPos{r.End.Line, r.End.Column, r.End.Byte},
			}
		}
		out = append(out, jd)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func severity(d *hcl.Diagnostic) string {
	if d.Severity == hcl.DiagWarning {
		return "warning"
	}
	return "error"
}

func writeDiagsCompact(w io.Writer, diags hcl.Diagnostics) error {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(schema.DiagLine(d, true) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[1;31m"
	ansiYellow = "\x1b[1;33m"
)

// writeDiagsPretty writes each diagnostic as
//
//	Error: Summary
//
//	  on beads.hcl line 12, in daemon "beads":
//	  12:     memory = "1.5G"
//	                   ^^^^^^
//
//	Detail, wrapped to width (0: no wrapping).
func writeDiagsPretty(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, width int, color bool) error {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	var b strings.Builder
	for _, d := range diags {
		label, code := "Error", ansiRed
		if d.Severity == hcl.DiagWarning {
			label, code = "Warning", ansiYellow
		}
		fmt.Fprintf(&b, "%s %s\n\n", paint(code, label+":"), paint(ansiBold, schema.Printable(d.Summary)))
		if r := d.Subject; r != nil {
			var src []byte
			var ctx string
			if f := files[r.Filename]; f != nil {
				src = f.Bytes
				if cs, ok := f.Nav.(interface{ ContextString(int) string }); ok {
					ctx = cs.ContextString(r.Start.Byte)
				}
			}
			if ctx != "" {
				fmt.Fprintf(&b, "  on %s line %d, in %s:\n", schema.Printable(r.Filename), r.Start.Line, schema.Printable(ctx))
			} else {
				fmt.Fprintf(&b, "  on %s line %d:\n", schema.Printable(r.Filename), r.Start.Line)
			}
			if line, ok := sourceLine(src, r.Start.Line); ok {
				line = schema.Printable(line)
				gutter := fmt.Sprintf("  %d: ", r.Start.Line)
				fmt.Fprintf(&b, "%s%s\n", gutter, line)
				fmt.Fprintf(&b, "%s%s%s\n", strings.Repeat(" ", len(gutter)), indentLike(line, r.Start.Column-1), paint(code, caret(line, *r)))
			}
			b.WriteByte('\n')
		}
		if d.Detail != "" {
			detail := schema.Printable(d.Detail)
			if width > 10 {
				detail = wordwrap.WrapString(detail, uint(width-1))
			}
			b.WriteString(detail + "\n\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sourceLine is line n (1-based) of src without its line ending.
func sourceLine(src []byte, n int) (string, bool) {
	if n < 1 || src == nil {
		return "", false
	}
	lines := bytes.Split(src, []byte("\n"))
	if n > len(lines) {
		return "", false
	}
	return strings.TrimRight(string(lines[n-1]), "\r"), true
}

// indentLike is blanks as wide as the first n characters of line, keeping its
// tabs so that the marker lines up under any tab width.
func indentLike(line string, n int) string {
	var b strings.Builder
	for i, r := range line {
		if utf8.RuneCountInString(line[:i]) >= n {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// caret is the marker under r on its first line: to its end column, or to the
// end of the line when the range goes on, and at least one character.
func caret(line string, r hcl.Range) string {
	n := utf8.RuneCountInString(line) - (r.Start.Column - 1)
	if r.End.Line == r.Start.Line {
		n = r.End.Column - r.Start.Column
	}
	return strings.Repeat("^", max(n, 1))
}
