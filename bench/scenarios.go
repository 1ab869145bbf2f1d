//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The scenarios, in the order of the table. Every group runs once per
// tool (PM2 first, then beadsctl), each in fresh folders.

const (
	fleetSize    = 50
	fleetLimit   = 200 << 20 // the fleet's limits.memory / max_memory_restart
	memLimit     = 50 << 20  // limits.memory / max_memory_restart
	crashMax     = 3         // max_restarts of the crash loop
	crashDelay   = 2 * time.Second
	crashUptime  = time.Second
	trapTimeout  = 3 * time.Second
	linesFull    = 1_000_000
	linesQuick   = 100_000
	partialLines = 200
)

func groups() []Group {
	return []Group{
		{Name: "version", Run: runVersion, Rows: []Row{{
			Key: "version", Title: "fixed cost of a command (`pm2 --version` / `beadsctl version`, whole command)", Target: "<= 3 ms",
			Format: fmtMsSpread, Judge: lower(3),
		}}},
		{Name: "idle", Run: runIdle, Rows: []Row{{
			Key: "idle1", Title: "supervisor resident memory, idle, 1 daemon", Target: "<= 10 MB",
			Format: fmtMB, Judge: lower(10),
		}}},
		{Name: "fleet", Run: runFleet, Rows: []Row{
			{Key: "rss50", Title: "supervisor resident memory, 50 daemons", Target: "<= 25 MB", Format: fmtMB, Judge: lower(25)},
			{Key: "cpu50", Title: "supervisor CPU, idle, 50 daemons each with a memory limit", Target: "<= 0.05 % of a core", Format: fmtPct, Judge: lower(0.05)},
			{Key: "status50", Title: "status of 50 daemons, whole command (`pm2 jlist` / `beadsctl status --json`)", Target: "<= 5 ms and >= 20x PM2",
				Format: fmtMsSpread, Judge: lowerAndRatio(5, 20)},
		}},
		{Name: "kill9", Run: runKill9, Rows: []Row{{
			Key: "kill9", Title: "kill -9 of the daemon -> new pid (delay 0; kernel's fork stamp)", Target: "<= 1 ms", Format: fmtMsSpread, Judge: lower(1),
		}}},
		{Name: "memlimit", Run: runMemLimit, Rows: []Row{{
			Key: "memlimit", Title: "memory limit crossed -> restart (child grows 20 % of the limit a second)", Target: "<= 250 ms, RSS <= 1.05x limit", Format: fmtMemLimit, Judge: judgeMemLimit,
		}}},
		{Name: "crashloop", Run: runCrashLoop, Rows: []Row{{
			Key: "crashloop", Title: "crash-looping child with restart delay -> errored", Target: fmt.Sprintf("errored after max_restarts (%d), every time", crashMax),
			Format: fmtCrash, Judge: judgeCrash,
		}}},
		{Name: "warm", Run: runWarm, Rows: []Row{{
			Key: "warm", Title: "warm start of one more daemon, no health check: command returned (child running beside)", Target: "<= 50 ms and >= 3x PM2",
			Format: fmtReturned, Judge: lowerAndRatio(50, 3),
		}}},
		{Name: "cold", Run: runCold, Rows: []Row{{
			Key: "cold", Title: "cold start (no supervisor yet): command returned (child running beside)", Target: "<= 150 ms", Format: fmtReturned, Judge: lower(150),
		}}},
		{Name: "stop", Run: runStopTrap, Rows: []Row{{
			Key: "stoptrap", Title: "stop of a child that traps the signal, timeout 3 s", Target: "timeout + <= 50 ms", Format: fmtS, Judge: lower(trapTimeout.Seconds() + 0.05),
		}}},
		{Name: "logs", Run: runLogs, Rows: []Row{{
			Key: "logs", Title: "log throughput, 1M timestamped lines -> file", Target: ">= 10x PM2, 0 lines lost or split", Format: fmtLines, Judge: judgeLogs,
		}}},
		{Name: "partial", Run: runPartial, Rows: []Row{{
			Key: "partial", Title: "partial-line integrity (writes split mid-line)", Target: "0 lost", Format: fmtCount("lines lost or split"), Judge: zero,
		}}},
		{Name: "grandchildren", Run: runGrandchildren, Rows: []Row{{
			Key: "grandchildren", Title: "grandchildren left after stop", Target: "0", Format: fmtCount("left"), Judge: zero,
		}}},
		// Dependencies (deps.go): PM2 has no start ordering, so its column is
		// the usual workaround, a dependent that exits until its dependency
		// is ready and PM2 restarting it every restart_delay (100 ms).
		{Name: "deps", Run: runDeps, Rows: []Row{
			{Key: "depgap", Title: "dependency turns healthy -> dependent forked, median of 20 (left: ready -> dependent running, PM2 retrying every 100 ms)",
				Target: "<= 10 ms", Format: fmtDepGap, Judge: lower(10)},
			{Key: "chain10", Title: "apply of a 10-deep depends_on chain, instant readiness, agent running (left: `pm2 start` -> the 10th runs, retrying)",
				Target: "<= 150 ms", Format: fmtChain, Judge: lower(150)},
		}},
		// 50 to 1,000 daemons under one supervisor (scale.go): each row is a
		// curve, its figure the value at the largest count.
		{Name: "scale", Run: runScale, Rows: []Row{
			{Key: "scalerss", Title: "scale: supervisor resident memory", Target: scaleTarget, Format: fmtCurve(fmtMBv), Judge: judgeCurve},
			{Key: "scaleapply", Title: "scale: start all (`pm2 start` / `beadsctl apply`), command returned", Target: scaleTarget, Format: fmtCurve(fmtMsv), Judge: judgeCurve},
			{Key: "scalestatus", Title: "scale: status, whole command (`pm2 jlist` / `beadsctl status --json`)", Target: scaleTarget, Format: fmtCurve(fmtMsv), Judge: judgeCurve},
			{Key: "scalestop", Title: "scale: stop all (`pm2 stop all` / `beadsctl stop`), command returned", Target: scaleTarget, Format: fmtCurve(fmtMsv), Judge: judgeCurve},
		}},
		// Loading a large beads.hcl (loading.go): beadsctl validate and plan
		// of 1,000 daemons after an edit and unchanged (the configuration
		// cache), the agent running them. PM2 has neither command: "–".
		{Name: "loading", Run: runLoading, Rows: []Row{
			{Key: "loadvalmiss", Title: "1,000 daemons: `beadsctl validate` after an edit (cache miss), whole command (beside: µs a daemon over `beadsctl version`)",
				Target: "<= 50 ms, loading <= 10 µs a daemon", Format: fmtLoading, Judge: judgeLoading(50, 10)},
			{Key: "loadvalhit", Title: "1,000 daemons: `beadsctl validate` unchanged (cache hit), whole command",
				Target: "<= 50 ms, loading <= 10 µs a daemon", Format: fmtLoading, Judge: judgeLoading(50, 10)},
			{Key: "loadplanmiss", Title: "1,000 daemons: `beadsctl plan` after an edit (cache miss), the agent running them, whole command",
				Target: "<= 50 ms", Format: fmtLoading, Judge: judgeLoading(50, 0)},
			{Key: "loadplanhit", Title: "1,000 daemons: `beadsctl plan` unchanged (cache hit), the agent running them, whole command",
				Target: "<= 50 ms", Format: fmtLoading, Judge: judgeLoading(50, 0)},
		}},
		// The bd daemon, and bd 1.x's Dolt server (dolt.go): PM2 has no Dolt
		// mode, so the left column of the dolt rows is bd's own `bd dolt
		// start`, dolt by hand, or PM2 running dolt as a plain app, as each
		// title says.
		{Name: "bd", Run: runBdHealthy, Rows: []Row{{
			Key: "bdhealthy", Title: "bd daemon (simulator): command -> bd-healthy (left: `pm2 start` -> bd answers; own start beside)",
			Target: "<= bd's own start + 25 ms", Format: fmtOwn, Judge: judgeOwn(25),
		}}},
		{Name: "doltstart", Run: runDoltStart, Rows: []Row{
			{Key: "doltready", Title: "dolt_server: dolt's first accepted query -> agent reports SQL-healthy (left: `bd dolt start` returned)",
				Target: "<= 10 ms", Format: fmtMedWorst, Judge: lower(10)},
			{Key: "doltapply", Title: "dolt_server: `apply` -> SQL-healthy (left: `bd dolt start` -> returned; dolt's own start beside)",
				Target: "<= dolt's own start + 25 ms", Format: fmtOwn, Judge: judgeOwn(25)},
			{Key: "doltown", Title: "dolt's own start: fork -> first accepted query (left: by hand; right: under beadsctl)",
				Target: "<= by hand (same pass) + 10 % or 20 ms", Format: fmtDoltOwn, Judge: judgeDoltOwn},
		}},
		{Name: "doltmem", Run: runDoltMem, Rows: []Row{{
			Key: "doltmem", Title: "dolt_server: memory limit crossed -> restart, reason memory (left: bd's server under the same load)",
			Target: "<= 1 s, RSS <= 1.2x limit", Format: fmtDoltMem, Judge: judgeDoltMem,
		}}},
		{Name: "doltcost", Run: runDoltCost, Rows: []Row{
			{Key: "doltrss", Title: "supervisor resident memory, idle, 1 dolt_server (left: PM2 running dolt as a plain app)",
				Target: "<= plain daemon + 0.5 MB", Format: fmtCostMB, Judge: unchanged(0.5)},
			{Key: "doltcpu", Title: "supervisor CPU, idle, 1 dolt_server (left: PM2 running dolt as a plain app)",
				Target: "<= plain daemon + 0.02 % of a core", Format: fmtCostPct, Judge: unchanged(0.02)},
		}},
	}
}

// ---- formats and judges ----

func fmtMB(o Outcome) string  { return fmt.Sprintf("%.1f MB", median(o.Vals)) }
func fmtPct(o Outcome) string { return fmt.Sprintf("%.3f %%", median(o.Vals)) }
func fmtMs(o Outcome) string {
	m := median(o.Vals)
	if m >= 1000 {
		return fmt.Sprintf("%.2f s", m/1000)
	}
	return fmt.Sprintf("%.1f ms", m)
}

// fmtMsSpread is the median with the smallest and largest run.
func fmtMsSpread(o Outcome) string {
	if len(o.Vals) < 2 {
		return fmtMs(o)
	}
	return fmtMs(o) + " (" + fmtMsv(slices.Min(o.Vals)) + "–" + fmtMsv(slices.Max(o.Vals)) + ")"
}

// fmtMsv shows one figure in ms (s from 1,000 ms).
func fmtMsv(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.2f s", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

// fmtReturned: the command returned (Vals), the child running beside (Aux).
func fmtReturned(o Outcome) string {
	return fmtMsSpread(o) + " (child running: " + fmtMs(Outcome{Vals: o.Aux}) + ")"
}
func fmtS(o Outcome) string { return fmt.Sprintf("%.3f s", median(o.Vals)) }
func fmtCount(what string) func(Outcome) string {
	return func(o Outcome) string { return fmt.Sprintf("%g %s", median(o.Vals), what) }
}
func fmtMemLimit(o Outcome) string {
	return fmt.Sprintf("%s, RSS %.2fx", fmtMsSpread(Outcome{Vals: scaled(o.Vals, 1000)}), median(o.Aux))
}

// scaled is v times k.
func scaled(v []float64, k float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * k
	}
	return out
}
func fmtLines(o Outcome) string {
	return fmt.Sprintf("%.0fk lines/s, %g lost/split", median(o.Vals)/1000, median(o.Aux))
}
func fmtCrash(o Outcome) string {
	never := 0
	var starts []float64
	for _, v := range o.Vals {
		if v < 0 {
			never++
		} else {
			starts = append(starts, v)
		}
	}
	if never == len(o.Vals) {
		return fmt.Sprintf("never (%s)", o.Note)
	}
	s := fmt.Sprintf("errored after %g starts (%d/%d runs)", median(starts), len(starts), len(o.Vals))
	return s
}

// lower judges a lower-is-better row against a target.
func lower(target float64) func(pm2, bc Outcome) (string, bool) {
	return func(pm2, bc Outcome) (string, bool) {
		b := median(bc.Vals)
		return ratio(pm2, median(pm2.Vals), b), b <= target
	}
}

func ratio(pm2 Outcome, p, b float64) string {
	if pm2.Err != nil || len(pm2.Vals) == 0 {
		return "-"
	}
	if b <= 0 {
		return "∞"
	}
	r := p / b
	if r >= 10 {
		return fmt.Sprintf("%.0fx", r)
	}
	return fmt.Sprintf("%.1fx", r)
}

func zero(pm2, bc Outcome) (string, bool) {
	for _, v := range bc.Vals {
		if v != 0 {
			return "-", false
		}
	}
	if len(pm2.Vals) > 0 && median(pm2.Vals) > 0 {
		return "∞", true
	}
	return "-", true
}

func judgeMemLimit(pm2, bc Outcome) (string, bool) {
	b := median(bc.Vals)
	return ratio(pm2, median(pm2.Vals), b), b <= 0.25 && median(bc.Aux) <= 1.05
}

// lowerAndRatio judges a lower-is-better row against a target and a
// smallest ratio to PM2.
func lowerAndRatio(target, atLeast float64) func(pm2, bc Outcome) (string, bool) {
	return func(pm2, bc Outcome) (string, bool) {
		p, b := median(pm2.Vals), median(bc.Vals)
		return ratio(pm2, p, b), b <= target && (pm2.Err != nil || len(pm2.Vals) == 0 || b > 0 && p/b >= atLeast)
	}
}

func judgeCrash(pm2, bc Outcome) (string, bool) {
	for _, v := range bc.Vals {
		if v < 1 || v > crashMax+1 {
			return "-", false
		}
	}
	return "-", true
}

func judgeLogs(pm2, bc Outcome) (string, bool) {
	p, b := median(pm2.Vals), median(bc.Vals)
	r := "-"
	ok := true
	if pm2.Err == nil && p > 0 {
		r = fmt.Sprintf("%.1fx", b/p)
		ok = b/p >= 10
	}
	for _, v := range bc.Aux {
		if v != 0 {
			ok = false
		}
	}
	return r, ok
}

// ---- helpers ----

// with runs f on a fresh instance of the tool and always tears it down.
func (e *Env) with(ctx context.Context, tool string, f func(t Tool, dir string) error) error {
	t := e.newTool(tool)
	defer e.down(t)
	return f(t, instanceDir(t))
}

// eachFresh runs f e.reps(quick, full) times, each in a fresh instance of
// tool; the first error is recorded in o and ends the repetitions.
func (e *Env) eachFresh(ctx context.Context, tool string, quick, full int, o *Outcome, f func(t Tool, dir string) error) {
	for range e.reps(quick, full) {
		if err := e.with(ctx, tool, f); err != nil {
			fail(o, err)
			return
		}
	}
}

// fail records err: the outcome has no number if no run succeeded.
func fail(o *Outcome, err error) {
	if err == nil {
		return
	}
	if len(o.Vals) == 0 {
		o.Err = err
		return
	}
	o.Note = strings.TrimPrefix(o.Note+"; ", "; ") + "a later run failed: " + firstLine(err)
}

// app is the common shape: always restart at once, 16 unstable restarts
// (PM2's default), 1 s min uptime, logs with timestamps in the instance folder.
func (e *Env) app(dir, name string, argv []string) App {
	return App{
		Name: name, Argv: argv, Dir: dir,
		Autorestart: true, RestartDelay: 0, MaxRestarts: 16, MinUptime: time.Second,
		KillTimeout: 2 * time.Second,
		Out:         filepath.Join(dir, name+".out.log"), Err: filepath.Join(dir, name+".err.log"),
		Timestamps: true,
	}
}

func (e *Env) idleApp(dir, name string) (App, string) {
	pf := filepath.Join(dir, name+".pid")
	return e.app(dir, name, e.child("idle", "-pidfile", pf)), pf
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// startTimed runs start and returns, from just before it, when the child
// wrote its pid file (the daemon runs) and when the command returned.
func startTimed(ctx context.Context, pidfile string, start func() error) (running, returned time.Duration, err error) {
	t0 := time.Now()
	seen := make(chan time.Time, 1)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, at, err := waitPidfile(pctx, pidfile, 0, 60*time.Second)
		if err != nil {
			close(seen)
			return
		}
		seen <- at
	}()
	if err := start(); err != nil {
		return 0, 0, err
	}
	returned = time.Since(t0)
	at, ok := <-seen
	if !ok {
		return 0, 0, fmt.Errorf("the daemon never wrote its pid file")
	}
	return at.Sub(t0), returned, nil
}

// ---- scenarios ----

// bdApp is the bd simulator's daemon (`bd daemon --start --foreground
// --interval 5s`) in its own workspace, and the file that says it runs.
func (e *Env) bdApp(dir, name string) (App, string) {
	ws := mustMkdir(filepath.Join(dir, name))
	mustMkdir(filepath.Join(ws, ".beads"))
	if err := os.WriteFile(filepath.Join(ws, ".beads", "beads.db"), nil, 0o600); err != nil { // as bd init leaves it
		panic(err)
	}
	a := e.app(ws, name, []string{filepath.Join(e.binDir, "bd"), "daemon", "--start", "--foreground", "--interval", "5s"})
	a.Env = map[string]string{"BEADS_AUTO_START_DAEMON": "false"}
	return a, filepath.Join(ws, ".beads", "daemon.pid")
}

// waitFile polls until path exists and is not empty.
func waitFile(ctx context.Context, path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear in %s", filepath.Base(path), timeout)
		}
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
}

func runIdle(ctx context.Context, e *Env, tool string) map[string]Outcome {
	var o Outcome
	e.eachFresh(ctx, tool, 1, 3, &o, func(t Tool, dir string) error {
		a, pf := e.bdApp(dir, "beads")
		if err := t.Start(ctx, a); err != nil {
			return err
		}
		if err := waitFile(ctx, pf, 20*time.Second); err != nil {
			return err
		}
		if err := sleepCtx(ctx, e.dur(time.Second, 3*time.Second)); err != nil {
			return err
		}
		pid, err := t.SupervisorPid(ctx)
		if err != nil {
			return err
		}
		rss, err := rssBytes(pid)
		if err != nil {
			return err
		}
		o.add(mb(rss))
		return nil
	})
	return map[string]Outcome{"idle1": o}
}

func runFleet(ctx context.Context, e *Env, tool string) map[string]Outcome {
	var rss, cpu, st Outcome
	err := e.with(ctx, tool, func(t Tool, dir string) error {
		var apps []App
		var pfs []string
		for i := range fleetSize {
			a, pf := e.idleApp(dir, fmt.Sprintf("d%02d", i+1))
			// A memory limit on each: sampled every second as a limit must
			// be (without one, every 5 s: figures for status only).
			a.MemoryLimit = fleetLimit
			apps = append(apps, a)
			pfs = append(pfs, pf)
		}
		sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := t.Start(sctx, apps...); err != nil {
			return err
		}
		for _, pf := range pfs {
			if _, _, err := waitPidfile(ctx, pf, 0, 60*time.Second); err != nil {
				return err
			}
		}
		if err := sleepCtx(ctx, e.dur(time.Second, 5*time.Second)); err != nil {
			return err
		}
		pid, err := t.SupervisorPid(ctx)
		if err != nil {
			return err
		}
		// The idle window, in slices: CPU per slice, RSS at the end of each.
		var total time.Duration
		w0, _ := cpuTime(pid)
		for range e.reps(3, 6) {
			c0, err := cpuTime(pid)
			if err != nil {
				return err
			}
			t0 := time.Now()
			if err := sleepCtx(ctx, e.dur(time.Second, 10*time.Second)); err != nil {
				return err
			}
			c1, err := cpuTime(pid)
			if err != nil {
				return err
			}
			el := time.Since(t0)
			total += el
			cpu.add(100 * float64(c1-c0) / float64(el))
			r, err := rssBytes(pid)
			if err != nil {
				return err
			}
			rss.add(mb(r))
		}
		w1, _ := cpuTime(pid)
		cpu.Note = fmt.Sprintf("%.3f %% over the whole %s window", 100*float64(w1-w0)/float64(total), total.Round(time.Second))
		// Status, timed from the user's side.
		for range e.reps(3, 10) {
			c := t.StatusCommand()
			t0 := time.Now()
			out, err := run(ctx, c)
			d := time.Since(t0)
			if err != nil {
				return err
			}
			if !strings.Contains(string(out), fmt.Sprintf("d%02d", fleetSize)) {
				return fmt.Errorf("status output does not list d%02d: %s", fleetSize, tail(string(out), 200))
			}
			st.add(ms(d))
		}
		return nil
	})
	fail(&rss, err)
	fail(&cpu, err)
	fail(&st, err)
	return map[string]Outcome{"rss50": rss, "cpu50": cpu, "status50": st}
}

func runKill9(ctx context.Context, e *Env, tool string) map[string]Outcome {
	var o Outcome
	var exitToFork, lastToFork []float64
	err := e.with(ctx, tool, func(t Tool, dir string) error {
		a, pf := e.idleApp(dir, "victim")
		a.MinUptime = 100 * time.Millisecond
		a.MaxRestarts = 1000
		if err := t.Start(ctx, a); err != nil {
			return err
		}
		pid, _, err := waitPidfile(ctx, pf, 0, 20*time.Second)
		if err != nil {
			return err
		}
		sup, err := t.SupervisorPid(ctx)
		if err != nil {
			return err
		}
		dup := 0
		for range e.reps(3, 20) {
			// More than 1 s apart: runs shorter than that count as rapid, and
			// after three rapid runs in a row the supervisor's crash-loop
			// floor spaces restarts (restart.go rule 5). A kill -9 now and
			// then is what this row measures, not a crash loop: every kill
			// below is of a run that lasted 1.1 s or more.
			if err := sleepCtx(ctx, 1100*time.Millisecond); err != nil {
				return err
			}
			old := map[int]bool{pid: true}
			running := 0
			for _, c := range children(sup) {
				old[c] = true
				if alive(c) && strings.Contains(cmdline(c), "child idle") {
					running++
				}
			}
			if running > 1 {
				dup++
			}
			var np int
			var took time.Duration
			if e.pev != nil {
				// The kernel's own stamps: the fork of the new child, and the
				// exit of the old one (when the supervisor could know).
				exited := e.pev.exitOf(pid)
				fork := e.pev.forkOf(ctx, sup, 10*time.Second)
				t0 := monoNow()
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
					return err
				}
				var at time.Duration
				if np, at, err = fork(); err != nil {
					return err
				}
				took = at - t0
				if x, last, ok := exited(); ok {
					exitToFork = append(exitToFork, ms(at-x))
					lastToFork = append(lastToFork, ms(at-last))
				}
			} else {
				t0 := time.Now()
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
					return err
				}
				var t1 time.Time
				if np, t1, err = waitNewChild(ctx, sup, old, "child idle", 10*time.Second); err != nil {
					return err
				}
				took = t1.Sub(t0)
			}
			if pid, _, err = waitPidfile(ctx, pf, pid, 10*time.Second); err != nil {
				return err
			}
			if pid != np {
				o.Note = fmt.Sprintf("the new child seen (%d) is not the one that wrote the pid file (%d)", np, pid)
				continue
			}
			o.add(ms(took))
		}
		if dup > 0 {
			o.Note = strings.TrimPrefix(o.Note+"; ", "; ") + fmt.Sprintf("before %d kills, more than one copy of the daemon ran", dup)
		}
		return nil
	})
	fail(&o, err)
	if len(exitToFork) > 0 {
		o.Note = strings.TrimPrefix(o.Note+"; ", "; ") + "exit -> fork (kernel stamps) " + spread(exitToFork) + " ms, " +
			"its last thread's exit (the exit told to the supervisor) -> fork " + spread(lastToFork) + " ms"
	}
	return map[string]Outcome{"kill9": o}
}

func runMemLimit(ctx context.Context, e *Env, tool string) map[string]Outcome {
	var o Outcome
	err := e.with(ctx, tool, func(t Tool, dir string) error {
		pf := filepath.Join(dir, "leak.pid")
		a := e.app(dir, "leak", e.child("leak", "-pidfile", pf, "-rate", fmt.Sprint(10<<20)))
		a.MemoryLimit = memLimit
		a.MaxRestarts = 100
		if err := t.Start(ctx, a); err != nil {
			return err
		}
		pid, _, err := waitPidfile(ctx, pf, 0, 20*time.Second)
		if err != nil {
			return err
		}
		sup, err := t.SupervisorPid(ctx)
		if err != nil {
			return err
		}
		for range e.reps(1, 3) {
			lw, err := watchLimit(ctx, sup, pid, memLimit, "child leak", 75*time.Second)
			if err != nil {
				return err
			}
			cross, restart, peak := lw.cross, lw.restart, lw.peak
			if cross.IsZero() {
				return fmt.Errorf("restarted before the limit was seen crossed (peak %.0f MB)", mb(peak))
			}
			o.add(restart.Sub(cross).Seconds())
			o.addAux(float64(peak) / memLimit)
			if pid, _, err = waitPidfile(ctx, pf, pid, 10*time.Second); err != nil {
				return err
			}
		}
		return nil
	})
	fail(&o, err)
	return map[string]Outcome{"memlimit": o}
}

// limitWatch is what watchLimit saw: when the RSS was first seen over the
// limit, when the replacement child was first seen, the highest RSS.
type limitWatch struct {
	cross, restart time.Time
	peak           uint64
	newPid         int
}

// watchLimit samples pid's VmRSS every pollEvery until a new child of sup
// whose command line contains match appears (timeout after the call).
func watchLimit(ctx context.Context, sup, pid int, limit uint64, match string, timeout time.Duration) (limitWatch, error) {
	var w limitWatch
	old := map[int]bool{pid: true}
	for _, c := range children(sup) {
		old[c] = true
	}
	deadline := time.Now().Add(timeout)
	seen := map[int]time.Time{}
	for w.restart.IsZero() {
		now := time.Now()
		if r, err := rssBytes(pid); err == nil {
			w.peak = max(w.peak, r)
			if r > limit && w.cross.IsZero() {
				w.cross = now
			}
		}
		for _, c := range children(sup) {
			if old[c] {
				continue
			}
			if _, ok := seen[c]; !ok {
				seen[c] = now
			}
			if strings.Contains(cmdline(c), match) {
				w.restart, w.newPid = seen[c], c
			}
		}
		if now.After(deadline) {
			return w, fmt.Errorf("no restart %s after the start (RSS peak %.0f MB, limit %.0f MB)", timeout, mb(w.peak), mb(limit))
		}
		if err := sleepCtx(ctx, pollEvery); err != nil {
			return w, err
		}
	}
	return w, nil
}

func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

func runCrashLoop(ctx context.Context, e *Env, tool string) map[string]Outcome {
	var o Outcome
	var notes []string
	e.eachFresh(ctx, tool, 1, 3, &o, func(t Tool, dir string) error {
		starts := filepath.Join(dir, "starts")
		a := e.app(dir, "crasher", e.child("crash", "-after", "50ms", "-starts", starts))
		a.RestartDelay, a.MaxRestarts, a.MinUptime = crashDelay, crashMax, crashUptime
		if err := t.Start(ctx, a); err != nil {
			// beadsctl apply waits for the daemon and reports its crash with
			// exit 1; the agent goes on supervising it, which is what is measured.
			notes = append(notes, "start command failed: "+firstLine(err))
		}
		t0 := time.Now()
		// Long enough for max_restarts+1 runs and their delays, with room to spare.
		window := time.Duration(crashMax+1)*(crashDelay+50*time.Millisecond) + 2*time.Second
		poll := 50 * time.Millisecond
		if tool == "PM2" {
			poll = 500 * time.Millisecond // a jlist costs PM2 ~0.3 s of CPU
		}
		known := false
		for time.Since(t0) < window {
			st, err := t.Status(ctx)
			if err != nil {
				return err
			}
			for _, s := range st {
				known = known || s.Name == "crasher"
				if s.Name == "crasher" && s.State == "errored" {
					n := countLines(starts)
					if err := sleepCtx(ctx, crashDelay+500*time.Millisecond); err != nil {
						return err
					}
					if m := countLines(starts); m != n {
						notes = append(notes, fmt.Sprintf("started again after errored (%d -> %d)", n, m))
					}
					o.add(float64(n))
					return nil
				}
			}
			if err := sleepCtx(ctx, poll); err != nil {
				return err
			}
		}
		if !known {
			return fmt.Errorf("the supervisor does not know the crashing daemon: %s", strings.Join(notes, "; "))
		}
		o.add(-1)
		notes = append(notes, fmt.Sprintf("%d starts in %s", countLines(starts), window.Round(time.Second)))
		return nil
	})
	o.Note = strings.Join(slices.Compact(notes), "; ")
	if o.Note == "" {
		o.Note = fmt.Sprintf("restart delay %s, max_restarts %d, min_uptime %s", crashDelay, crashMax, crashUptime)
	}
	return map[string]Outcome{"crashloop": o}
}

func runWarm(ctx context.Context, e *Env, tool string) map[string]Outcome {
	var o Outcome
	err := e.with(ctx, tool, func(t Tool, dir string) error {
		a, pf := e.idleApp(dir, "first")
		if err := t.Start(ctx, a); err != nil {
			return err
		}
		if _, _, err := waitPidfile(ctx, pf, 0, 20*time.Second); err != nil {
			return err
		}
		for i := range e.reps(2, 5) {
			if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
				return err
			}
			b, bpf := e.idleApp(dir, fmt.Sprintf("warm%d", i))
			d, r, err := startTimed(ctx, bpf, func() error { return t.Start(ctx, b) })
			if err != nil {
				return err
			}
			o.add(ms(r)) // the command returned: what a user waits for
			o.addAux(ms(d))
			if err := t.Remove(ctx, b.Name); err != nil {
				return err
			}
		}
		return nil
	})
	fail(&o, err)
	return map[string]Outcome{"warm": o}
}

func runCold(ctx context.Context, e *Env, tool string) map[string]Outcome {
	var o Outcome
	e.eachFresh(ctx, tool, 2, 5, &o, func(t Tool, dir string) error {
		a, pf := e.idleApp(dir, "cold")
		d, r, err := startTimed(ctx, pf, func() error { return t.Start(ctx, a) })
		if err != nil {
			return err
		}
		o.add(ms(r))
		o.addAux(ms(d))
		return nil
	})
	return map[string]Outcome{"cold": o}
}

func runStopTrap(ctx context.Context, e *Env, tool string) map[string]Outcome {
	var o Outcome
	err := e.with(ctx, tool, func(t Tool, dir string) error {
		for i := range e.reps(1, 3) {
			name := fmt.Sprintf("trap%d", i)
			pf := filepath.Join(dir, name+".pid")
			a := e.app(dir, name, e.child("trap", "-pidfile", pf))
			a.KillTimeout = trapTimeout
			if err := t.Start(ctx, a); err != nil {
				return err
			}
			pid, _, err := waitPidfile(ctx, pf, 0, 20*time.Second)
			if err != nil {
				return err
			}
			if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
				return err
			}
			t0 := time.Now()
			if err := t.Stop(ctx, name); err != nil {
				return err
			}
			d := time.Since(t0)
			if alive(pid) {
				o.Note = "the child was still alive when stop returned"
				if err := waitGone(ctx, pid, 10*time.Second); err != nil {
					return err
				}
				d = time.Since(t0)
			}
			o.add(d.Seconds())
			if err := t.Remove(ctx, name); err != nil {
				return err
			}
		}
		return nil
	})
	fail(&o, err)
	return map[string]Outcome{"stoptrap": o}
}

// logWatch polls a log file's size every 2 ms from the moment it is created
// (before the child starts), so that it knows when the file last grew.
type logWatch struct {
	path, done string
	result     chan time.Time
	err        error
}

// watchLog starts polling; wait returns when done exists and path has not
// grown for quiet, with the time it last grew.
func watchLog(ctx context.Context, path, done string, quiet, timeout time.Duration) *logWatch {
	w := &logWatch{path: path, done: done, result: make(chan time.Time, 1)}
	go func() {
		var size int64 = -1
		var last time.Time
		deadline := time.Now().Add(timeout)
		for {
			now := time.Now()
			if fi, err := os.Stat(path); err == nil && fi.Size() != size {
				size, last = fi.Size(), now
			}
			if !last.IsZero() && fileExists(done) && now.Sub(last) > quiet {
				w.result <- last
				return
			}
			if now.After(deadline) {
				w.err = fmt.Errorf("log %s still incomplete after %s (%d bytes)", filepath.Base(path), timeout, size)
				close(w.result)
				return
			}
			if sleepCtx(ctx, 2*time.Millisecond) != nil {
				w.err = ctx.Err()
				close(w.result)
				return
			}
		}
	}()
	return w
}

func (w *logWatch) wait() (time.Time, error) {
	t, ok := <-w.result
	if !ok {
		return time.Time{}, w.err
	}
	return t, nil
}

func runLogs(ctx context.Context, e *Env, tool string) map[string]Outcome {
	var o Outcome
	n := linesFull
	if e.quick {
		n = linesQuick
	}
	err := e.with(ctx, tool, func(t Tool, dir string) error {
		for i := range e.reps(1, 3) {
			name := fmt.Sprintf("lines%d", i)
			pf, done := filepath.Join(dir, name+".pid"), filepath.Join(dir, name+".done")
			a := e.app(dir, name, e.child("lines", "-pidfile", pf, "-n", fmt.Sprint(n), "-done", done))
			a.Autorestart = false
			w := watchLog(ctx, a.Out, done, time.Second, 3*time.Minute)
			if err := t.Start(ctx, a); err != nil {
				return err
			}
			if _, _, err := waitPidfile(ctx, pf, 0, 20*time.Second); err != nil {
				return err
			}
			_, started, err := readPidfile(pf)
			if err != nil {
				return err
			}
			last, err := w.wait()
			if err != nil {
				return err
			}
			intact, _, err := checkLines(a.Out, n)
			if err != nil {
				return err
			}
			o.add(float64(n) / last.Sub(started).Seconds())
			o.addAux(float64(n - intact))
			if err := t.Remove(ctx, name); err != nil {
				return err
			}
			os.Remove(a.Out)
		}
		return nil
	})
	fail(&o, err)
	return map[string]Outcome{"logs": o}
}

func runPartial(ctx context.Context, e *Env, tool string) map[string]Outcome {
	var o Outcome
	err := e.with(ctx, tool, func(t Tool, dir string) error {
		for i := range e.reps(1, 3) {
			name := fmt.Sprintf("partial%d", i)
			done := filepath.Join(dir, name+".done")
			a := e.app(dir, name, e.child("partial", "-n", fmt.Sprint(partialLines), "-gap", "2ms", "-done", done))
			a.Autorestart = false
			w := watchLog(ctx, a.Out, done, 500*time.Millisecond, time.Minute)
			if err := t.Start(ctx, a); err != nil {
				return err
			}
			if _, err := w.wait(); err != nil {
				return err
			}
			intact, _, err := checkLines(a.Out, partialLines)
			if err != nil {
				return err
			}
			o.add(float64(partialLines - intact))
			if err := t.Remove(ctx, name); err != nil {
				return err
			}
		}
		return nil
	})
	fail(&o, err)
	return map[string]Outcome{"partial": o}
}

func runGrandchildren(ctx context.Context, e *Env, tool string) map[string]Outcome {
	var o Outcome
	err := e.with(ctx, tool, func(t Tool, dir string) error {
		for i := range e.reps(1, 3) {
			name := fmt.Sprintf("forker%d", i)
			pids := filepath.Join(dir, name+".pids")
			a := e.app(dir, name, e.child("forker", "-pids", pids))
			a.KillTimeout = time.Second
			if err := t.Start(ctx, a); err != nil {
				return err
			}
			deadline := time.Now().Add(20 * time.Second)
			for countLines(pids) < 3 {
				if time.Now().After(deadline) {
					return fmt.Errorf("the forker started %d of 3 grandchildren", countLines(pids))
				}
				if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
					return err
				}
			}
			if err := t.Stop(ctx, name); err != nil {
				return err
			}
			if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
				return err
			}
			b, _ := os.ReadFile(pids)
			left := 0
			for _, s := range strings.Fields(string(b)) {
				var pid int
				fmt.Sscan(s, &pid)
				if alive(pid) && strings.Contains(cmdline(pid), "child grand") {
					left++
					syscall.Kill(pid, syscall.SIGKILL) //nolint:errcheck // ours: a grandchild of this run
				}
			}
			o.add(float64(left))
			if err := t.Remove(ctx, name); err != nil {
				return err
			}
		}
		return nil
	})
	fail(&o, err)
	return map[string]Outcome{"grandchildren": o}
}
