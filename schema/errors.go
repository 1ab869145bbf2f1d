package schema

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Error turns the errors among diags into one error for callers that report
// an error, not diagnostics: "beads.hcl:3:5: Summary; detail", or
// "Summary; detail" for a diagnostic that has no place in a file. It returns
// nil when diags hold no error.
//
// hcl.Diagnostics is an error itself, but its message formats a missing
// Subject as "<nil>: Summary" ("Cannot read configuration" has none): never
// return diags as an error, return Error(diags).
func Error(diags hcl.Diagnostics) error {
	var msgs []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		var b strings.Builder
		if r := d.Subject; r != nil {
			fmt.Fprintf(&b, "%s:%d:%d: ", r.Filename, r.Start.Line, r.Start.Column)
		}
		b.WriteString(d.Summary)
		if d.Detail != "" {
			b.WriteString("; " + strings.ReplaceAll(d.Detail, "\n", " "))
		}
		msgs = append(msgs, b.String())
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "\n"))
}
