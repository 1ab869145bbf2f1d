package cli

import (
	"strings"
	"testing"
)

// TestDestroyCompleteSaysWhatMayStillRun is issue 13 item 12 (the setsid
// grandchild): destroy says "Nothing runs" only where the supervisor finds
// and kills a daemon's processes that left its process group (Linux);
// elsewhere its last line says such a process may still run, and why.
func TestDestroyCompleteSaysWhatMayStillRun(t *testing.T) {
	for name, tc := range map[string]struct {
		without      string
		findsEscaped bool
		want, not    []string
	}{
		"linux":                   {findsEscaped: true, want: []string{"Destroy complete! Nothing runs; beadsctl apply starts it all again."}},
		"linux, without the file": {without: "beads.hcl", findsEscaped: true, want: []string{"Destroy complete (without beads.hcl)! Nothing runs; fix it"}},
		"darwin": {want: []string{"Destroy complete! Every daemon and the agent stopped", "setsid", "cannot be found on darwin and may still run", "(look with ps); beadsctl apply starts"},
			not: []string{"Nothing runs"}},
		"darwin, without the file": {without: "beads.hcl", want: []string{"Destroy complete (without beads.hcl)!", "may still run", "(look with ps); fix it and beadsctl apply"},
			not: []string{"Nothing runs"}},
	} {
		t.Run(name, func(t *testing.T) {
			got := destroyComplete(tc.without, tc.findsEscaped, "darwin")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("%q says %q", got, n)
				}
			}
		})
	}
}
