//go:build linux

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// The dependency rows. beadsctl: a dependency whose exec health check passes
// once it wrote its ready file, and a dependent (depends_on, condition
// "healthy") that exits 1 at once if it starts before that file exists, so
// a start out of order shows as a restart. PM2 cannot order starts: both
// apps start together and PM2 restarts the dependent every restart_delay
// (100 ms, the usual workaround) until it stays up.
//
//	depgap:  beadsctl: the agent's health transition (the check's
//	         checked_at) -> the dependent's first instruction (its ok file's
//	         start time); aux: the ready file -> the dependent runs. PM2: the
//	         ready file -> the dependent runs, in both.
//	chain10: beadsctl: `apply` of ten daemons, each depends_on the previous
//	         (condition "started": instant readiness), with the agent already
//	         running -> apply returned (all online); aux: -> the 10th runs.
//	         PM2: `pm2 start` of the ten retrying apps -> the 10th runs.

const (
	depGapReps  = 20
	depReady    = 150 * time.Millisecond
	chainLen    = 10
	pm2Retry    = 100 * time.Millisecond
	depDeadline = 60 * time.Second
)

func runDeps(ctx context.Context, e *Env, tool string) map[string]Outcome {
	var gap, chain Outcome
	fail(&gap, e.with(ctx, tool, func(t Tool, dir string) error { return e.depGap(ctx, t, dir, &gap) }))
	fail(&chain, e.with(ctx, tool, func(t Tool, dir string) error { return e.depChain(ctx, t, dir, &chain) }))
	return map[string]Outcome{"depgap": gap, "chain10": chain}
}

// depPair is the dependency (ready after depReady) and its dependent.
func (e *Env) depPair(t Tool, dir string, i int) (dep, app App, ready, ok string) {
	ready = filepath.Join(dir, fmt.Sprintf("ready%d", i))
	ok = filepath.Join(dir, fmt.Sprintf("ok%d", i))
	dep = e.app(dir, fmt.Sprintf("db%d", i), e.child("ready", "-ready", ready, "-delay", depReady.String()))
	app = e.app(dir, fmt.Sprintf("web%d", i), e.child("waitfor", "-need", ready, "-ok", ok))
	if t.Name() == "PM2" {
		app.RestartDelay = pm2Retry
	} else {
		dep.HealthExec = []string{"test", "-f", ready}
		app.DependsOn = []AppDep{{Name: dep.Name, Condition: "healthy"}}
	}
	return dep, app, ready, ok
}

func (e *Env) depGap(ctx context.Context, t Tool, dir string, o *Outcome) error {
	if err := t.Start(ctx, e.app(dir, "anchor", e.child("idle"))); err != nil { // the agent runs
		return err
	}
	for i := range e.reps(3, depGapReps) {
		dep, app, ready, ok := e.depPair(t, dir, i)
		if err := t.Start(ctx, dep, app); err != nil {
			return err
		}
		if _, _, err := waitPidfile(ctx, ok, 0, depDeadline); err != nil {
			return err
		}
		_, readyAt, err := readPidfile(ready)
		if err != nil {
			return err
		}
		_, ranAt, err := readPidfile(ok)
		if err != nil {
			return err
		}
		if ranAt.Before(readyAt) {
			return fmt.Errorf("%s ran at %v, before %s was ready at %v", app.Name, ranAt, dep.Name, readyAt)
		}
		o.addAux(ms(ranAt.Sub(readyAt)))
		b, isBeadsctl := t.(*beadsctlTool)
		if !isBeadsctl {
			o.add(ms(ranAt.Sub(readyAt)))
			continue
		}
		st, err := b.agentStatus(ctx)
		if err != nil {
			return err
		}
		var healthyAt time.Time
		for _, d := range st.Daemons {
			switch {
			case d.Name == dep.Name:
				healthyAt = d.Health.CheckedAt
			case d.Name == app.Name && d.Restarts > 0:
				return fmt.Errorf("%s restarted %d times: it started before %s was healthy", app.Name, d.Restarts, dep.Name)
			}
		}
		if healthyAt.IsZero() {
			return fmt.Errorf("%s has no health transition in the agent's status", dep.Name)
		}
		o.add(ms(ranAt.Sub(healthyAt)))
	}
	return nil
}

func (e *Env) depChain(ctx context.Context, t Tool, dir string, o *Outcome) error {
	if err := t.Start(ctx, e.app(dir, "anchor", e.child("idle"))); err != nil {
		return err
	}
	for r := range e.reps(2, 5) {
		var apps []App
		var last string
		for i := range chainLen {
			name := fmt.Sprintf("c%d_%d", r, i)
			last = filepath.Join(dir, name+".ok")
			var a App
			if t.Name() == "PM2" {
				argv := e.child("idle", "-pidfile", last)
				if i > 0 {
					argv = e.child("waitfor", "-need", filepath.Join(dir, fmt.Sprintf("c%d_%d.ok", r, i-1)), "-ok", last)
				}
				a = e.app(dir, name, argv)
				a.RestartDelay = pm2Retry
			} else {
				a = e.app(dir, name, e.child("idle", "-pidfile", last))
				if i > 0 {
					a.DependsOn = []AppDep{{Name: fmt.Sprintf("c%d_%d", r, i-1), Condition: "started"}}
				}
			}
			apps = append(apps, a)
		}
		running, returned, err := startTimed(ctx, last, func() error { return t.Start(ctx, apps...) })
		if err != nil {
			return err
		}
		if t.Name() == "PM2" {
			o.add(ms(running))
		} else {
			o.add(ms(returned))
		}
		o.addAux(ms(running))
		for i := len(apps) - 1; i >= 0; i-- { // dependents first: beads.hcl stays valid
			if err := t.Remove(ctx, apps[i].Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func fmtDepGap(o Outcome) string {
	return fmtMs(o) + " (ready -> running: " + fmtMs(Outcome{Vals: o.Aux}) + ")"
}

func fmtChain(o Outcome) string {
	return fmtMs(o) + " (10th running: " + fmtMs(Outcome{Vals: o.Aux}) + ")"
}
