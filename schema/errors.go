package schema

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/hashicorp/hcl/v2"
)

// Error turns the errors among diags into one error for callers that report
// an error, not diagnostics: one line per error, each "beads.hcl:3:5:
// Summary; detail" (DiagLine), or "Summary; detail" for a diagnostic that has
// no place in a file. It returns nil when diags hold no error. A caller that
// shows it after a prefix indents the lines after the first, so that every
// diagnostic still starts a line.
//
// hcl.Diagnostics is an error itself, but its message formats a missing
// Subject as "<nil>: Summary" ("Cannot read configuration" has none) and
// drops every diagnostic but the first: never return diags as an error,
// return Error(diags).
func Error(diags hcl.Diagnostics) error {
	var msgs []string
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			msgs = append(msgs, DiagLine(d, false))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// DiagLine is d on one line, "beads.hcl:12:15: error: Summary; detail" (the
// severity only when severity is set; the position only when d has one):
// newlines in its text become spaces and other control characters are
// escaped (Printable), so that the line ends where the diagnostic does and
// the next one starts a line of its own, whatever the file held.
func DiagLine(d *hcl.Diagnostic, severity bool) string {
	var b strings.Builder
	if r := d.Subject; r != nil {
		fmt.Fprintf(&b, "%s:%d:%d: ", Printable(oneLine(r.Filename)), r.Start.Line, r.Start.Column)
	}
	if severity {
		if d.Severity == hcl.DiagWarning {
			b.WriteString("warning: ")
		} else {
			b.WriteString("error: ")
		}
	}
	b.WriteString(Printable(oneLine(d.Summary)))
	if d.Detail != "" {
		b.WriteString("; " + Printable(oneLine(d.Detail)))
	}
	return b.String()
}

// oneLine is s with each line break (\r\n, \n, \r) written as a space.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// Printable is s with every control character but newline and tab written
// as an escape ("\x1b", "\u2028"): a diagnostic quotes values of the file
// (paths, names, environment variables), and written raw they would end a
// line early, move the cursor back over the one before, or colour the
// terminal.
func Printable(s string) string {
	if !strings.ContainsFunc(s, unprintable) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !unprintable(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

func unprintable(r rune) bool {
	return r != '\n' && r != '\t' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029')
}
