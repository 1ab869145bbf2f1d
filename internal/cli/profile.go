package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
)

// Where a command's profile comes from (profileChoice.source).
const (
	fromFlag     = "--env"
	fromNoEnv    = "--no-env"
	fromEnvVar   = "BEADSCTL_ENV"
	fromApplied  = "applied last"
	fromNoChoice = "" // nothing chose one and nothing was applied: the base blocks
)

// profileChoice is the env profile a command acts under ("" for the base
// blocks) and where it came from: one of the from* constants, or "the saved
// plan FILE". sticky is set when nothing chose it: a session then takes the
// profile applied last, as the state says once the lock is held.
type profileChoice struct {
	name, source string
	sticky       bool
}

// chosenProfile is the profile the user chose for this command: --env NAME
// (--env ” is the base blocks), --no-env (the base blocks), or BEADSCTL_ENV
// when set and not empty; sticky when none of them is.
func (g *globals) chosenProfile() profileChoice {
	switch {
	case g.noEnv:
		return profileChoice{source: fromNoEnv}
	case g.envSet:
		return profileChoice{name: g.env, source: fromFlag}
	}
	if v := os.Getenv("BEADSCTL_ENV"); v != "" {
		return profileChoice{name: v, source: fromEnvVar}
	}
	return profileChoice{sticky: true}
}

// profile is the profile of a command that loads beads.hcl outside a
// session: the chosen one, else the one applied last in the project (the
// applied profile sticks), else the base blocks.
func (g *globals) profile() profileChoice {
	p := g.chosenProfile()
	if !p.sticky {
		return p
	}
	return appliedChoice(opsDir(g))
}

// appliedChoice is the profile applied last in dir (the base blocks when
// nothing was applied there, or the state cannot be read: the command that
// reads it says why).
func appliedChoice(dir string) profileChoice {
	if name, applied, err := reconcile.AppliedProfile(dir); err == nil && applied {
		return profileChoice{name: name, source: fromApplied, sticky: true}
	}
	return profileChoice{sticky: true}
}

// note says which profile the command acts under and where it came from,
// for the first line of plan, apply, drift and the verbs; "" when the file
// declares no profile and none is used.
func (p profileChoice) note(known []string) string {
	choose := "--env NAME or --no-env to choose another"
	if p.name == "" {
		choose = "--env NAME to choose one"
		if len(known) > 0 {
			choose += " of " + strings.Join(known, ", ")
		}
	}
	why := p.source
	switch p.source {
	case fromApplied:
		why = "applied last; " + choose
	case fromNoChoice:
		why = choose
	case fromFlag:
		if p.name == "" {
			why = "--env ''"
		}
	}
	if p.name != "" {
		return fmt.Sprintf("Profile %s (%s).", p.name, why)
	}
	if len(known) == 0 && (p.source == fromNoChoice || p.source == fromApplied) {
		return ""
	}
	return fmt.Sprintf("No profile: the base blocks (%s).", why)
}

// printNote writes the note of p for cfg's profiles on w, when there is one.
func (p profileChoice) printNote(w io.Writer, cfg *schema.Config) {
	if n := p.note(cfg.Profiles); n != "" {
		fmt.Fprintln(w, n)
	}
}

// explainUnknown adds to an "Unknown profile" error how the profile was
// chosen when the user did not name it (applied last, a saved plan).
func (p profileChoice) explainUnknown(diags hcl.Diagnostics) hcl.Diagnostics {
	var hint string
	switch {
	case p.source == fromApplied:
		hint = fmt.Sprintf(" %q is the profile applied last (%s): name another with --env NAME, or --no-env for the base blocks.", p.name, ".beadsctl/state.json")
	case strings.HasPrefix(p.source, "from the saved plan"):
		hint = fmt.Sprintf(" %q is the profile of %s: run beadsctl plan again.", p.name, strings.TrimPrefix(p.source, "from the saved plan "))
	default:
		return diags
	}
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		if d.Summary == "Unknown profile" {
			c := *d
			c.Detail += hint
			d = &c
		}
		out[i] = d
	}
	return out
}
