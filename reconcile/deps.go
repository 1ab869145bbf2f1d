package reconcile

import (
	"slices"

	"github.com/beadsctl/beadsctl/schema"
)

// dependencyLevels orders names in levels, each daemon after the daemons of
// names it depends on (as desired declares them, else as the state recorded
// them): apply and start go level by level, stop and destroy the reverse.
func dependencyLevels(names []string, desired *schema.Config, st *State) [][]string {
	in := map[string]bool{}
	for _, n := range names {
		in[n] = true
	}
	var ds []schema.Daemon
	for _, n := range names {
		d := schema.Daemon{Name: n}
		if dd := declaredDaemon(desired, n); dd != nil {
			d.DependsOn = dd.DependsOn
		} else if s, ok := st.Daemons[n]; ok {
			d.DependsOn = s.Spec.DependsOn
		}
		var deps []schema.Dependency
		for _, dep := range d.DependsOn {
			if in[dep.Daemon] {
				deps = append(deps, dep)
			}
		}
		d.DependsOn = deps
		ds = append(ds, d)
	}
	return schema.StartOrder(ds)
}

// dependencyOrder is dependencyLevels flattened; reversed for stops.
func dependencyOrder(names []string, desired *schema.Config, st *State, reverse bool) []string {
	var out []string
	for _, level := range dependencyLevels(names, desired, st) {
		out = append(out, level...)
	}
	if reverse {
		slices.Reverse(out)
	}
	return out
}

// levelOf maps each name of levels to its level (0 first).
func levelOf(levels [][]string) map[string]int {
	out := map[string]int{}
	for i, l := range levels {
		for _, n := range l {
			out[n] = i
		}
	}
	return out
}
