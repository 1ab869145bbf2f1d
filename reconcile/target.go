package reconcile

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/beadsctl/beadsctl/schema"
)

// ErrUnknownTarget is wrapped when a -target names no daemon that beads.hcl
// declares, the state records or the agent runs.
var ErrUnknownTarget = errors.New("unknown -target")

// ErrTargetNotPossible is wrapped when a plan cannot be limited to its
// targets: what apply would do touches every daemon.
var ErrTargetNotPossible = errors.New("-target cannot limit this plan")

// TargetNames turns -target values (NAME or daemon.NAME) into daemon names,
// sorted and without repeats. A name is a target when beads.hcl declares it,
// or when the state records it or the agent runs it (a daemon removed from
// beads.hcl, which the plan stops); the daemons a target depends on
// (depends_on, transitively) are targets too. An unknown one is an error
// listing where each declared daemon is (file:line:col).
func TargetNames(desired *schema.Config, live *Live, targets []string) ([]string, error) {
	known := map[string]bool{}
	for _, d := range desired.Daemons {
		known[d.Name] = true
	}
	if live != nil && live.State != nil {
		for name := range live.State.Daemons {
			known[name] = true
		}
	}
	if live != nil && live.AgentUp {
		for name := range live.Daemons {
			known[name] = true
		}
	}
	var names []string
	for _, t := range targets {
		name := strings.TrimPrefix(t, "daemon.")
		if name == "" || !known[name] {
			return nil, unknownTarget(desired, t)
		}
		names = append(names, name)
	}
	// As Terraform's -target: a daemon's dependencies come with it (it
	// would wait for them), and theirs.
	for i := 0; i < len(names); i++ {
		if d := declaredDaemon(desired, names[i]); d != nil {
			for _, dep := range d.DependsOn {
				if !slices.Contains(names, dep.Daemon) {
					names = append(names, dep.Daemon)
				}
			}
		}
	}
	sort.Strings(names)
	return slices.Compact(names), nil
}

func unknownTarget(desired *schema.Config, t string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%q: no daemon of that name in %s, the state or the agent", t, desired.Path)
	if len(desired.Daemons) == 0 {
		b.WriteString(" (it declares none)")
	} else {
		b.WriteString("; it declares:")
		for _, d := range desired.Daemons {
			r := d.DeclRange
			fmt.Fprintf(&b, "\n  %s:%d:%d: daemon %q", r.Filename, r.Start.Line, r.Start.Column, d.Name)
		}
	}
	b.WriteString("\n-target takes a daemon's name or its address (daemon.NAME), as plan shows it")
	return fmt.Errorf("%w %s", ErrUnknownTarget, b.String())
}

// Target limits p, computed from desired and live, to the daemons names
// (from TargetNames): their changes, the bd file edits made for them and the
// drift findings about them or about no daemon in particular. The other
// daemons with changes or edits of their own are listed in p.LeftOut. It
// refuses what a partial apply cannot do: replace the agent (every daemon
// restarts with it) or switch profiles (the state records one for all).
func Target(p *Plan, desired *schema.Config, live *Live, names []string) error {
	if p.Agent != nil {
		return fmt.Errorf("%w: the agent runs beadsctl %s and apply replaces it, restarting its %d daemon(s); run apply without -target",
			ErrTargetNotPossible, p.Agent.Version, len(p.Agent.Daemons))
	}
	if st := live.State; st != nil && st.Applied() && st.Env != desired.Env {
		return fmt.Errorf("%w: the last apply was under profile %s and this plan is under profile %s; the state records one profile for every daemon: switch with an apply without -target",
			ErrTargetNotPossible, profileName(st.Env), profileName(desired.Env))
	}
	in := map[string]bool{}
	for _, n := range names {
		in[n] = true
	}
	left := map[string]bool{}
	var changes []Change
	for _, c := range p.Changes {
		switch {
		case in[c.Name]:
			changes = append(changes, c)
		case !c.Is(ActionNoop):
			left[c.Address] = true
		}
	}
	var edits []ConfigEdit
	for _, e := range p.Edits {
		if in[e.Daemon] {
			edits = append(edits, e)
		} else {
			left["daemon."+e.Daemon] = true
		}
	}
	drift := []Finding{}
	for _, f := range p.Drift {
		if f.Daemon == "" || in[f.Daemon] {
			drift = append(drift, f)
		}
	}
	p.Changes, p.Edits, p.Drift = changes, edits, drift
	if p.Changes == nil {
		p.Changes = []Change{}
	}
	p.Targets = p.Targets[:0]
	for _, n := range names {
		p.Targets = append(p.Targets, "daemon."+n)
	}
	p.LeftOut = nil
	for a := range left {
		p.LeftOut = append(p.LeftOut, a)
	}
	sort.Strings(p.LeftOut)
	return nil
}
