package schema

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Dependency conditions, named after Docker Compose's service_started,
// service_healthy and service_completed_successfully (process-compose's
// process_*); the supervisor carries them out (its deps.go says how), and
// on_restart's values: ignore (the default) or restart (systemd's PartOf=).
const (
	CondStarted      = "started"
	CondHealthy      = "healthy"
	CondCompleted    = "completed_successfully"
	OnRestartIgnore  = "ignore"
	OnRestartRestart = "restart"
)

var (
	conditions = []string{CondStarted, CondHealthy, CondCompleted}
	onRestarts = []string{OnRestartIgnore, OnRestartRestart}
)

// dependsOn reads the depends_on "NAME" blocks of d. The names are checked
// against the whole file by checkDependencies.
func (r *resolver) dependsOn(d *Daemon) {
	for path, rng := range r.l.labels {
		name, ok := strings.CutPrefix(path, "depends_on.")
		if !ok {
			continue
		}
		dep := Dependency{Daemon: name, Condition: CondStarted, OnRestart: OnRestartIgnore, Range: rng}
		if f := r.l.fields[path+".condition"]; f != nil && foreignCondition(f.val.AsString()) != "" {
			r.add(hcl.DiagError, f.rng, "Invalid value for "+path+".condition",
				fmt.Sprintf("%q is not one of %s. Did you mean %q? (process-compose's process_ and Compose's service_ prefixes are left out here.)",
					f.val.AsString(), quoteList(conditions), foreignCondition(f.val.AsString())))
		} else {
			r.enum(path+".condition", &dep.Condition, conditions)
		}
		r.enum(path+".on_restart", &dep.OnRestart, onRestarts)
		d.DependsOn = append(d.DependsOn, dep)
	}
	sort.Slice(d.DependsOn, func(i, j int) bool { return d.DependsOn[i].Daemon < d.DependsOn[j].Daemon })
}

// foreignCondition is the condition that process-compose's or Docker
// Compose's name s stands for ("process_healthy" -> "healthy"), or "".
func foreignCondition(s string) string {
	for _, p := range []string{"process_", "service_"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			for _, c := range conditions {
				if rest == c {
					return c
				}
			}
		}
	}
	return ""
}

// checkDependencies reports, at the label of the depends_on block at fault: a
// daemon that is not declared, a condition the dependency cannot meet
// (healthy without a health check, completed_successfully of a daemon that is
// always restarted), and every cycle, named whole ("a -> b -> a").
func checkDependencies(ds []Daemon, names []string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	byName := make(map[string]*Daemon, len(ds))
	for i := range ds {
		byName[ds[i].Name] = &ds[i]
	}
	for i := range ds {
		d := &ds[i]
		for _, dep := range d.DependsOn {
			target, ok := byName[dep.Daemon]
			switch {
			case dep.Daemon == d.Name:
				diags = append(diags, depDiag(dep, "Daemon depends on itself",
					fmt.Sprintf("daemon %q cannot depend on itself: it would wait for its own start for ever (cycle %s -> %s).", d.Name, d.Name, d.Name)))
			case !ok:
				detail := fmt.Sprintf("daemon %q depends on %q, but no daemon %q is declared.", d.Name, dep.Daemon, dep.Daemon)
				if s := didYouMean(dep.Daemon, names); s != "" {
					detail += s
				} else if len(names) > 0 {
					detail += " Declared daemons: " + quoteList(names) + "."
				}
				diags = append(diags, depDiag(dep, "Unknown daemon in depends_on", detail))
			case dep.Condition == CondHealthy && (target.Health.Check == "" || target.Health.Check == "none"):
				diags = append(diags, depDiag(dep, "Dependency has no health check",
					fmt.Sprintf(`condition = "healthy" waits for daemon %q's health check to pass, and it has none: add a health block to %q (check = "http", "tcp", "exec", "sql"), or wait for condition = "started".`, dep.Daemon, dep.Daemon)))
			case dep.Condition == CondCompleted && target.Restart.Policy == "always":
				diags = append(diags, depDiag(dep, "Dependency never completes",
					fmt.Sprintf(`condition = "completed_successfully" waits for daemon %q to exit 0 and stay stopped, but its restart.policy is "always": it is started again after every exit. A setup step runs with restart { policy = "once" }.`, dep.Daemon)))
			}
		}
	}
	return append(diags, dependencyCycles(ds, byName)...)
}

func depDiag(dep Dependency, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: dep.Range.Ptr()}
}

// dependencyCycles finds each cycle of two or more daemons once, by a depth
// first search in name order, and reports it at the edge that closes it.
func dependencyCycles(ds []Daemon, byName map[string]*Daemon) hcl.Diagnostics {
	var diags hcl.Diagnostics
	const (
		unseen = iota
		onPath
		done
	)
	mark := map[string]int{}
	var path []string
	var visit func(d *Daemon)
	visit = func(d *Daemon) {
		mark[d.Name] = onPath
		path = append(path, d.Name)
		for _, dep := range d.DependsOn {
			next, ok := byName[dep.Daemon]
			if !ok || dep.Daemon == d.Name {
				continue
			}
			switch mark[dep.Daemon] {
			case unseen:
				visit(next)
			case onPath:
				start := 0
				for i, n := range path {
					if n == dep.Daemon {
						start = i
					}
				}
				cycle := append(append([]string{}, path[start:]...), dep.Daemon)
				diags = append(diags, depDiag(dep, "Dependency cycle",
					fmt.Sprintf("These daemons depend on each other in a cycle: %s. None of them could start first; remove one of these depends_on blocks.", strings.Join(cycle, " -> "))))
			}
		}
		path = path[:len(path)-1]
		mark[d.Name] = done
	}
	for i := range ds {
		if mark[ds[i].Name] == unseen {
			visit(&ds[i])
		}
	}
	return diags
}

// StartOrder is the daemons of ds in levels: each level's daemons depend
// only on daemons of earlier levels; names sorted within a level. A daemon
// in a cycle (which Load refuses) or depending on an unknown one comes last.
func StartOrder(ds []Daemon) [][]string {
	level := map[string]int{}
	known := map[string]*Daemon{}
	for i := range ds {
		known[ds[i].Name] = &ds[i]
	}
	var depth func(name string, seen map[string]bool) int
	depth = func(name string, seen map[string]bool) int {
		if l, ok := level[name]; ok {
			return l
		}
		d := known[name]
		if d == nil || seen[name] {
			return len(ds)
		}
		seen[name] = true
		l := 0
		for _, dep := range d.DependsOn {
			l = max(l, depth(dep.Daemon, seen)+1)
		}
		delete(seen, name)
		l = min(l, len(ds))
		level[name] = l
		return l
	}
	var out [][]string
	for i := range ds {
		l := depth(ds[i].Name, map[string]bool{})
		for len(out) <= l {
			out = append(out, nil)
		}
		out[l] = append(out[l], ds[i].Name)
	}
	kept := out[:0]
	for _, names := range out {
		if len(names) > 0 {
			sort.Strings(names)
			kept = append(kept, names)
		}
	}
	return kept
}
