package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/schema"
)

type validateOptions struct {
	json bool
}

func newValidateCmd(g *globals) *cobra.Command {
	o := &validateOptions{}
	c := &cobra.Command{
		Use:   "validate",
		Short: "Check beads.hcl for mistakes, under every env profile",
		Long: `Validate parses beads.hcl and checks every daemon under every env profile (or only
the one named by --env or BEADSCTL_ENV): unknown attributes and blocks, sizes,
durations, signals, restart policies, health checks, duplicate names, log files
that collide, and more. Each problem is reported at file:line:column.

On a terminal each problem shows its source line with a marker under the
offending part; otherwise one line each, "beads.hcl:12:15: error: ...". With
--json the diagnostics are a JSON list on stdout.

Exit status is 0 when the file is valid (warnings are shown but do not fail),
1 when it is not.`,
		Example: `  beadsctl validate
  beadsctl validate -f examples/minimal.hcl
  beadsctl validate --env production
  beadsctl validate --json | jq '.[] | select(.severity == "error")'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runValidate(c, g, o) },
	}
	c.Flags().BoolVar(&o.json, "json", false, "print the diagnostics as a JSON list on stdout")
	return c
}

func runValidate(c *cobra.Command, g *globals, o *validateOptions) error {
	environ, p := os.Environ(), g.chosenProfile() // not the applied one: every profile unless one is named
	var profiles []string
	var files map[string]*hcl.File
	var diags hcl.Diagnostics
	if p.sticky {
		profiles, files, diags = validateAll(g, environ)
	} else {
		var cfg *schema.Config
		if cfg, files, diags = loadSchema(g, p.name, environ); cfg != nil {
			profiles = cfg.Profiles
		}
	}
	if o.json {
		if err := renderDiags(c.OutOrStdout(), diags, files, false, true); err != nil {
			return err
		}
	} else if len(diags) > 0 {
		stderr := c.ErrOrStderr()
		if err := renderDiags(stderr, diags, files, g.color(stderr), false); err != nil {
			return err
		}
	}
	if diags.HasErrors() {
		return errPrinted
	}
	if !o.json {
		// Terraform's words: a success beside warnings says it is one.
		but := ""
		if len(diags) > 0 {
			but = ", but there were some validation warnings as shown above"
		}
		fmt.Fprintf(c.OutOrStdout(), "Success! %s is valid%s%s.\n", g.file, profilesNote(p, profiles), but)
	}
	return nil
}

// profilesNote says which profiles were checked: " (profiles: a, b)".
func profilesNote(selected profileChoice, all []string) string {
	switch {
	case selected.name != "":
		return fmt.Sprintf(" (profile: %s)", selected.name)
	case !selected.sticky:
		return " (no profile: the base blocks)"
	case len(all) > 0:
		return fmt.Sprintf(" (profiles: %s)", strings.Join(all, ", "))
	}
	return ""
}
