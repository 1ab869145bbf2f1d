package supervisor

import (
	"fmt"
	"time"
)

// DepLookup reads the status of the daemon name of the same agent; ok is
// false when the agent does not host it.
type DepLookup func(name string) (st Status, ok bool)

// depVerdict is where one dependency stands for its condition.
type depVerdict struct {
	met bool
	// failed: it will not meet the condition by itself (errored, exited for
	// good, completed unsuccessfully).
	failed bool
	why    string
}

// checkDep says whether the dependency (whose status is st, hosted or not)
// meets dep's condition.
func checkDep(dep Dependency, st Status, hosted bool) depVerdict {
	n := dep.Name
	if !hosted {
		return depVerdict{why: fmt.Sprintf("waiting for %q, which the agent does not run", n)}
	}
	exitedForGood := st.State == StateStopped && st.LastExit != nil && !st.Stopped
	switch {
	case st.State == StateErrored:
		return depVerdict{failed: true, why: fmt.Sprintf("dependency %q errored: %s", n, st.Reason)}
	case st.State == StateCompleted:
		return depVerdict{met: true}
	case st.State == StateWaiting && st.Blocked:
		// Blocked itself: the failure down the chain reaches every level.
		return depVerdict{failed: true, why: fmt.Sprintf("dependency %q is %s", n, st.Reason)}
	}
	switch dep.Condition {
	case CondCompleted:
		if exitedForGood {
			if st.LastExit.Code == 0 && st.LastExit.Signal == "" {
				return depVerdict{met: true}
			}
			return depVerdict{failed: true, why: fmt.Sprintf("dependency %q did not complete successfully: %s", n, describeExit(st.LastExit.Code, st.LastExit.Signal))}
		}
		if st.State == StateOnline {
			return depVerdict{why: fmt.Sprintf("waiting for %q to complete successfully (it runs, pid %d)", n, st.Pid)}
		}
	case CondHealthy:
		if st.State == StateOnline {
			switch st.Health.Status {
			case "", "healthy", "degraded":
				return depVerdict{met: true}
			case "unknown":
				return depVerdict{why: fmt.Sprintf("waiting for %q to be healthy (not checked yet)", n)}
			}
			return depVerdict{why: fmt.Sprintf("waiting for %q to be healthy (%s: %s)", n, st.Health.Status, st.Health.Message)}
		}
	default:
		if st.State == StateOnline {
			return depVerdict{met: true}
		}
	}
	switch {
	case exitedForGood:
		return depVerdict{failed: true, why: fmt.Sprintf("dependency %q exited and is not restarted: %s", n, st.Reason)}
	case st.State == StateStopped && st.Stopped:
		return depVerdict{why: fmt.Sprintf("waiting for %q, stopped on purpose (beadsctl stop)", n)}
	}
	what := map[string]string{CondStarted: "to start", CondHealthy: "to be healthy", CondCompleted: "to complete successfully"}[dep.Condition]
	if what == "" {
		what = "to start"
	}
	state := string(st.State)
	if st.Reason != "" {
		state += ": " + st.Reason
	}
	return depVerdict{why: fmt.Sprintf("waiting for %q %s (%s)", n, what, state)}
}

// gate evaluates every dependency of spec: ok when all hold, else the first
// reason (a failed dependency first) and whether one failed. Without a
// lookup (a daemon outside an agent) dependencies are not enforced.
func gate(spec Spec, lookup DepLookup) (ok bool, why string, blocked bool) {
	if lookup == nil {
		return true, "", false
	}
	for _, dep := range spec.DependsOn {
		st, hosted := lookup(dep.Name)
		v := checkDep(dep, st, hosted)
		switch {
		case v.met:
		case v.failed:
			return false, "not started: " + v.why, true
		case why == "":
			why = v.why
		}
	}
	return why == "", why, false
}

// runIdentity names the run of a dependency a dependent started against
// (its pid and start time, or its completion): a new run is a restart.
func runIdentity(st Status) string {
	switch st.State {
	case StateOnline:
		return fmt.Sprintf("pid %d started %s", st.Pid, st.StartTime.Format(time.RFC3339Nano))
	case StateCompleted:
		return "completed " + st.CompletedAt.Format(time.RFC3339Nano)
	}
	return ""
}

// boundRuns records, for the dependencies of spec with on_restart =
// "restart", the run each is on now.
func boundRuns(spec Spec, lookup DepLookup) map[string]string {
	if lookup == nil {
		return nil
	}
	var out map[string]string
	for _, dep := range spec.DependsOn {
		if dep.OnRestart != OnRestartRestart {
			continue
		}
		st, _ := lookup(dep.Name)
		if out == nil {
			out = map[string]string{}
		}
		out[dep.Name] = runIdentity(st)
	}
	return out
}

// boundChanged returns the first bound dependency whose run is no longer the
// one recorded (it stops, restarts or is gone), or "".
func boundChanged(bound map[string]string, lookup DepLookup) string {
	for name, id := range bound {
		st, _ := lookup(name)
		if runIdentity(st) != id || st.State != StateOnline && st.State != StateCompleted {
			return name
		}
	}
	return ""
}

// stopAfter maps each hosted daemon to the hosted daemons that depend on it:
// it stops once they have. When the dependencies among them form a cycle
// (schema refuses one; an agent fed by hand could hold one), every daemon
// stops at once, in parallel, rather than wait for ever.
func stopAfter(hs map[string]*hosted) map[string][]*hosted {
	after := map[string][]*hosted{}
	deps := map[string][]string{}
	for name, h := range hs {
		for _, dep := range h.d.Spec().DependsOn {
			if _, ok := hs[dep.Name]; ok && dep.Name != name {
				after[dep.Name] = append(after[dep.Name], h)
				deps[name] = append(deps[name], dep.Name)
			}
		}
	}
	const (
		unseen = iota
		onPath
		done
	)
	mark := map[string]int{}
	var cyclic func(n string) bool
	cyclic = func(n string) bool {
		mark[n] = onPath
		for _, m := range deps[n] {
			if mark[m] == onPath || mark[m] == unseen && cyclic(m) {
				return true
			}
		}
		mark[n] = done
		return false
	}
	for n := range hs {
		if mark[n] == unseen && cyclic(n) {
			return map[string][]*hosted{}
		}
	}
	return after
}
