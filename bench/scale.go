//go:build linux

package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/beadsctl/beadsctl/internal/bd"
)

// ---- version: the fixed cost of a command ----

func runVersion(ctx context.Context, e *Env, tool string) map[string]Outcome {
	var o Outcome
	err := e.with(ctx, tool, func(t Tool, dir string) error {
		for range e.reps(10, 30) {
			c := versionCommand(t)
			t0 := time.Now()
			out, err := run(ctx, c)
			d := time.Since(t0)
			if err != nil {
				return err
			}
			if len(strings.TrimSpace(string(out))) == 0 {
				return fmt.Errorf("%s printed no version", strings.Join(c.Args, " "))
			}
			o.add(ms(d))
		}
		return nil
	})
	fail(&o, err)
	return map[string]Outcome{"version": o}
}

func versionCommand(t Tool) *exec.Cmd {
	switch t := t.(type) {
	case *pm2Tool:
		return t.cmd("--version")
	case *beadsctlTool:
		return t.cmd("version")
	}
	panic("unknown tool")
}

// ---- scale: 50 to 1,000 daemons under one supervisor ----

// scalePoints are the daemon counts of the curve (one fresh supervisor each).
func (e *Env) scalePoints() []int {
	if e.quick {
		return []int{50, 250}
	}
	return []int{50, 250, 500, 1000}
}

// scaleTarget: growing no faster than the count (at 1,000 at most 20 times
// the figure at 50; the supervisor's memory has a base, so it grows slower).
const scaleTarget = "grows at most as the count (<= 20x from 50 to 1,000)"

// runScale starts n sleeping daemons with one command for each n of the
// curve, then measures the supervisor's memory, a status and a stop of all.
// The daemons are `sleep` (the same program for both tools; 1,000 of the
// harness's Go child would take 2 GB).
func runScale(ctx context.Context, e *Env, tool string) map[string]Outcome {
	var rss, apply, status, stop Outcome
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		return map[string]Outcome{"scalerss": {Err: err}}
	}
	for _, n := range e.scalePoints() {
		err := e.with(ctx, tool, func(t Tool, dir string) error {
			var apps []App
			for i := range n {
				apps = append(apps, e.app(dir, fmt.Sprintf("s%04d", i), []string{sleep, "100000"}))
			}
			sctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
			defer cancel()
			t0 := time.Now()
			if err := t.Start(sctx, apps...); err != nil {
				return err
			}
			apply.addMore(strconv.Itoa(n), ms(time.Since(t0)))
			sup, err := t.SupervisorPid(ctx)
			if err != nil {
				return err
			}
			if err := waitChildren(ctx, sup, "sleep 100000", n, 5*time.Minute); err != nil {
				return err
			}
			if err := sleepCtx(ctx, e.dur(time.Second, 3*time.Second)); err != nil {
				return err
			}
			r, err := rssBytes(sup)
			if err != nil {
				return err
			}
			rss.addMore(strconv.Itoa(n), mb(r))
			var st []float64
			for range e.reps(1, 3) {
				c := t.StatusCommand()
				t0 := time.Now()
				out, err := run(sctx, c)
				if err != nil {
					return err
				}
				st = append(st, ms(time.Since(t0)))
				if want := fmt.Sprintf("s%04d", n-1); !strings.Contains(string(out), want) {
					return fmt.Errorf("status does not list %s", want)
				}
			}
			status.addMore(strconv.Itoa(n), median(st))
			t0 = time.Now()
			if err := stopAll(sctx, t); err != nil {
				return err
			}
			stop.addMore(strconv.Itoa(n), ms(time.Since(t0)))
			return waitChildren(ctx, sup, "sleep 100000", 0, 2*time.Minute)
		})
		if err != nil {
			for _, o := range []*Outcome{&rss, &apply, &status, &stop} {
				fail(o, fmt.Errorf("%d daemons: %w", n, err))
			}
			break
		}
	}
	top := strconv.Itoa(e.scalePoints()[len(e.scalePoints())-1])
	for _, o := range []*Outcome{&rss, &apply, &status, &stop} {
		if v := o.More[top]; len(v) > 0 {
			o.Vals = v
		}
	}
	return map[string]Outcome{"scalerss": rss, "scaleapply": apply, "scalestatus": status, "scalestop": stop}
}

// stopAll is `pm2 stop all` / `beadsctl stop` (every daemon).
func stopAll(ctx context.Context, t Tool) error {
	switch t := t.(type) {
	case *pm2Tool:
		_, err := run(ctx, t.cmd("stop", "all"))
		return err
	case *beadsctlTool:
		_, err := run(ctx, t.cmd("stop"))
		return err
	}
	return fmt.Errorf("unknown tool")
}

// waitChildren polls until sup has exactly n live children whose command
// line contains match.
func waitChildren(ctx context.Context, sup int, match string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		got := 0
		for _, c := range children(sup) {
			if alive(c) && strings.Contains(cmdline(c), match) {
				got++
			}
		}
		if got == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d children running %q after %s, want %d", got, match, timeout, n)
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

// fmtCurve shows the figure at the largest count, then the curve.
func fmtCurve(unit func(float64) string) func(Outcome) string {
	return func(o Outcome) string {
		var pts []string
		for _, k := range curveKeys(o) {
			pts = append(pts, k+": "+unit(median(o.More[k])))
		}
		return strings.Join(pts, " · ")
	}
}

func fmtMBv(v float64) string { return fmt.Sprintf("%.1f MB", v) }

// curveKeys are the counts measured, smallest first.
func curveKeys(o Outcome) []string {
	var ns []int
	for k := range o.More {
		if n, err := strconv.Atoi(k); err == nil {
			ns = append(ns, n)
		}
	}
	for i := range ns {
		for j := i + 1; j < len(ns); j++ {
			if ns[j] < ns[i] {
				ns[i], ns[j] = ns[j], ns[i]
			}
		}
	}
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = strconv.Itoa(n)
	}
	return out
}

// judgeCurve: the ratio at the largest count; met when the figure grew no
// faster than the count from the smallest to the largest.
func judgeCurve(pm2, bc Outcome) (string, bool) {
	keys := curveKeys(bc)
	if len(keys) < 2 {
		return ratio(pm2, median(pm2.Vals), median(bc.Vals)), false
	}
	lo, hi := keys[0], keys[len(keys)-1]
	nlo, _ := strconv.Atoi(lo)
	nhi, _ := strconv.Atoi(hi)
	r := "-"
	if p := pm2.More[hi]; len(p) > 0 {
		r = ratio(pm2, median(p), median(bc.More[hi]))
	}
	return r, median(bc.More[hi]) <= median(bc.More[lo])*float64(nhi)/float64(nlo)
}

// ---- bd: the bd daemon (simulator), command -> bd-healthy ----

// runBdHealthy adds a bd daemon to a running supervisor and times, from the
// command's exec: beadsctl's first healthy verdict (the agent's beads-rpc
// check; apply waits for it), or, for PM2 (no health check), the first
// answer of bd's RPC to the harness's own probe; with bd's own start beside
// (fork -> its RPC answers the probe), so what the supervisor adds shows.
func runBdHealthy(ctx context.Context, e *Env, tool string) map[string]Outcome {
	var o Outcome
	if e.pev == nil {
		return map[string]Outcome{"bdhealthy": {Err: fmt.Errorf("needs the kernel's process events (CAP_NET_ADMIN) to see bd's fork")}}
	}
	err := e.with(ctx, tool, func(t Tool, dir string) error {
		sup, err := e.anchored(ctx, t, dir)
		if err != nil {
			return err
		}
		for i := range e.reps(2, 5) {
			a, _ := e.bdApp(dir, fmt.Sprintf("bd%d", i))
			pctx, cancel := context.WithCancel(ctx)
			answered := probeBd(pctx, a.Dir, 60*time.Second)
			fork := e.pev.forkOf(ctx, sup, 60*time.Second)
			t0 := time.Now()
			err := t.Start(ctx, a)
			returned := time.Since(t0)
			if err != nil {
				cancel()
				return err
			}
			q, qerr := answered()
			_, forkAt, ferr := fork()
			cancel()
			if qerr != nil {
				return qerr
			}
			if ferr != nil {
				return ferr
			}
			// The fork's kernel stamp is CLOCK_MONOTONIC; q is the wall
			// clock: both as offsets from t0 through the monotonic clock.
			own := q.mono - forkAt
			healthy := ms(q.wall.Sub(t0))
			if bt, ok := t.(*beadsctlTool); ok {
				_, det, err := daemonStatus(ctx, bt, a.Name)
				if err != nil {
					return err
				}
				if det.Health != "healthy" || det.CheckedAt.IsZero() {
					return fmt.Errorf("apply returned with bd's health %q", det.Health)
				}
				healthy = ms(det.CheckedAt.Sub(t0))
				o.addMore("returned", ms(returned))
			} else {
				o.addMore("returned", ms(returned))
			}
			o.add(healthy)
			o.addAux(ms(own))
			if err := t.Remove(ctx, a.Name); err != nil {
				return err
			}
		}
		return nil
	})
	fail(&o, err)
	return map[string]Outcome{"bdhealthy": o}
}

// bdAnswer is when bd's RPC first answered healthy, on both clocks.
type bdAnswer struct {
	wall time.Time
	mono time.Duration
}

// probeBd asks bd's RPC health in workspace every 1 ms (a refused or absent
// socket costs microseconds) until it answers healthy.
func probeBd(ctx context.Context, workspace string, timeout time.Duration) func() (bdAnswer, error) {
	ch := make(chan bdAnswer, 1)
	errc := make(chan error, 1)
	go func() {
		deadline := time.Now().Add(timeout)
		sock := filepath.Join(workspace, ".beads", "bd.sock")
		for {
			if fileExists(sock) {
				pctx, cancel := context.WithTimeout(ctx, time.Second)
				p, err := bd.ProbeDaemon(pctx, workspace, "")
				cancel()
				if err == nil && p.Status == "healthy" {
					ch <- bdAnswer{wall: time.Now(), mono: monoNow()}
					return
				}
			}
			if time.Now().After(deadline) {
				errc <- fmt.Errorf("bd in %s did not answer healthy in %s", workspace, timeout)
				return
			}
			if err := sleepCtx(ctx, time.Millisecond); err != nil {
				errc <- err
				return
			}
		}
	}()
	return func() (bdAnswer, error) {
		select {
		case a := <-ch:
			return a, nil
		case err := <-errc:
			return bdAnswer{}, err
		}
	}
}

// anchored starts the supervisor of t with one idle daemon (the rows that
// time adding a daemon to a running supervisor) and returns its pid.
func (e *Env) anchored(ctx context.Context, t Tool, dir string) (int, error) {
	anchor, pf := e.idleApp(dir, "anchor")
	if err := t.Start(ctx, anchor); err != nil {
		return 0, err
	}
	if _, _, err := waitPidfile(ctx, pf, 0, 20*time.Second); err != nil {
		return 0, err
	}
	return t.SupervisorPid(ctx)
}
