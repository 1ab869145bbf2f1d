package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

func TestWriteDiagsPretty(t *testing.T) {
	src := "daemon \"beads\" {\n\tlimits {\n\t\tmemory = \"1.5G\"\n\t}\n}\n"
	p := hclparse.NewParser()
	if _, diags := p.ParseHCL([]byte(src), "beads.hcl"); diags.HasErrors() {
		t.Fatal(diags)
	}
	rng := func(line, col, endLine, endCol int) *hcl.Range {
		return &hcl.Range{Filename: "beads.hcl", Start: hcl.Pos{Line: line, Column: col}, End: hcl.Pos{Line: endLine, Column: endCol}}
	}
	diags := hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Invalid size", Detail: "Use 1536M.", Subject: rng(3, 12, 3, 18)},
		{Severity: hcl.DiagWarning, Summary: "Spans lines", Detail: "A long detail that is wrapped at the terminal width here.", Subject: rng(2, 2, 4, 3)},
		{Severity: hcl.DiagError, Summary: "No position"},
	}
	var b bytes.Buffer
	if err := writeDiagsPretty(&b, diags, p.Files(), 30, false); err != nil {
		t.Fatal(err)
	}
	want := `Error: Invalid size

  on beads.hcl line 3, in daemon "beads":
  3: 		memory = "1.5G"
     		         ^^^^^^

Use 1536M.

Warning: Spans lines

  on beads.hcl line 2, in daemon "beads":
  2: 	limits {
     	^^^^^^^^

A long detail that is wrapped
at the terminal width here.

Error: No position

`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	b.Reset()
	if err := writeDiagsPretty(&b, diags[:1], p.Files(), 0, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), ansiRed+"^^^^^^"+ansiReset) || !strings.HasPrefix(b.String(), ansiRed+"Error:"+ansiReset) {
		t.Errorf("no colour in %q", b.String())
	}
}

func TestWriteDiagsCompact(t *testing.T) {
	diags := hcl.Diagnostics{
		{Severity: hcl.DiagWarning, Summary: "S", Detail: "two\nlines", Subject: &hcl.Range{Filename: "f.hcl", Start: hcl.Pos{Line: 12, Column: 15}}},
		{Severity: hcl.DiagError, Summary: "Only summary"},
	}
	var b bytes.Buffer
	if err := renderDiags(&b, diags, nil, true, false); err != nil {
		t.Fatal(err)
	}
	want := "f.hcl:12:15: warning: S; two lines\nerror: Only summary\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
