package schema

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// A diagnostic without a place in a file ("Cannot read configuration") was
// shown as "<nil>: Cannot read configuration" wherever diagnostics were used
// as an error (logs, the foreground agent, migrate, the session).
func TestErrorHasNoNil(t *testing.T) {
	_, _, diags := Load(t.TempDir()+"/beads.hcl", "", nil)
	if !diags.HasErrors() {
		t.Fatal("loading a missing file: no error")
	}
	err := Error(diags)
	if err == nil || strings.Contains(err.Error(), "<nil>") || !strings.HasPrefix(err.Error(), "Cannot read configuration; ") {
		t.Errorf("Error(diags) = %v, want the summary and detail without <nil>", err)
	}
	at := hcl.Diagnostics{
		{Severity: hcl.DiagWarning, Summary: "only a warning"},
		{Severity: hcl.DiagError, Summary: "Bad", Detail: "why", Subject: &hcl.Range{Filename: "beads.hcl", Start: hcl.Pos{Line: 3, Column: 5}}},
	}
	if got := Error(at).Error(); got != "beads.hcl:3:5: Bad; why" {
		t.Errorf("Error = %q, want %q", got, "beads.hcl:3:5: Bad; why")
	}
	if Error(at[:1]) != nil || Error(nil) != nil {
		t.Error("Error of diagnostics without an error is not nil")
	}
}
