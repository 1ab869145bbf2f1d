//go:build linux

package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/beadsctl/beadsctl/schema"
	"github.com/beadsctl/beadsctl/supervisor"
)

// ---- loading: validate and plan of 1,000 daemons, after an edit and unchanged ----

// loadingFleet is the daemon count of the loading rows (issue 17, target 2:
// 1,000 daemons validate+plan in <= 50 ms, loading <= 10 µs a daemon). The
// scale group reaches 1,000 only in full mode, so this group has its own
// fleet: a quick run measures the same file.
const loadingFleet = 1000

// perDaemon is the More key of the loading rows: the command's time less the
// fixed cost of a command (`beadsctl version`, the median of the group's
// runs), over the daemon count, in µs.
const perDaemon = "µs/daemon"

// The loading rows, in the order of each repetition.
var loadingSteps = []struct {
	key, verb string
	miss      bool // the first command after an edit; else the same file again
}{
	{"loadvalmiss", "validate", true},
	{"loadplanmiss", "plan", true},
	{"loadvalhit", "validate", false},
	{"loadplanhit", "plan", false},
}

// runLoading applies 1,000 `sleep` daemons (the scale group's daemons), then,
// each repetition, edits one daemon's args in beads.hcl (a different daemon
// and a new value every time: what a user waits for after an edit) and times,
// whole command from its exec to its exit: `beadsctl validate` and `beadsctl
// plan` of the edited file (each the first of its kind to read it: a miss of
// the configuration cache), then both again (a hit). Each is checked to be
// what it claims: a miss rewrites a `.beadsctl/config-cache-*` entry, a hit
// rewrites none, and every plan names the edited daemon (it compares with
// what the agent runs). `beadsctl version` is timed just before each, for
// the per-daemon figure. PM2 has no validate or plan.
func runLoading(ctx context.Context, e *Env, tool string) map[string]Outcome {
	outs := map[string]*Outcome{}
	for _, s := range loadingSteps {
		outs[s.key] = &Outcome{}
	}
	result := func() map[string]Outcome {
		m := map[string]Outcome{}
		for k, o := range outs {
			m[k] = *o
		}
		return m
	}
	if tool == "PM2" {
		for _, o := range outs {
			o.Err = errNoEquivalent
		}
		return result()
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		for _, o := range outs {
			o.Err = err
		}
		return result()
	}
	var fixed []float64
	err = e.with(ctx, tool, func(t Tool, dir string) error {
		bt, ok := t.(*beadsctlTool)
		if !ok {
			return fmt.Errorf("the loading rows are beadsctl's")
		}
		var apps []App
		for i := range loadingFleet {
			apps = append(apps, e.app(dir, fmt.Sprintf("s%04d", i), []string{sleep, "100000"}))
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		if err := t.Start(sctx, apps...); err != nil {
			return err
		}
		sup, err := t.SupervisorPid(ctx)
		if err != nil {
			return err
		}
		if err := waitChildren(ctx, sup, "sleep 100000", loadingFleet, 5*time.Minute); err != nil {
			return err
		}
		for i := range e.reps(3, 15) {
			k := (500 + 379*i) % loadingFleet
			name := bt.apps[k].Name
			bt.apps[k].Argv = []string{sleep, strconv.Itoa(100001 + i)}
			if err := bt.writeConfig(); err != nil {
				return err
			}
			for _, s := range loadingSteps {
				// The fixed cost, just before each command (one sample a
				// repetition let a single slow one under load make the
				// figure a daemon negative).
				v, _, err := timedRun(sctx, bt.cmd("version"))
				if err != nil {
					return err
				}
				fixed = append(fixed, ms(v))
				before := cacheEntries(dir)
				d, out, err := timedRun(sctx, bt.cmd(s.verb))
				if err != nil {
					return err
				}
				switch rewrote := !maps.Equal(before, cacheEntries(dir)); {
				case s.miss && !rewrote:
					return fmt.Errorf("%s after an edit of %s wrote no configuration cache entry (not a miss, or nothing is cached)", s.verb, name)
				case !s.miss && rewrote:
					return fmt.Errorf("%s of an unchanged beads.hcl rewrote a configuration cache entry (not a hit)", s.verb)
				}
				if s.verb == "plan" && !strings.Contains(string(out), name) {
					return fmt.Errorf("plan after an edit of %s does not name it: %s", name, tail(string(out), 300))
				}
				outs[s.key].add(ms(d))
			}
			bt.apps[k].Argv = []string{sleep, "100000"}
		}
		return bt.writeConfig()
	})
	f := median(fixed)
	for _, o := range outs {
		for _, v := range o.Vals {
			// ms over 1,000 daemons is µs a daemon.
			o.addMore(perDaemon, (v-f)*1000/loadingFleet)
		}
		if len(fixed) > 0 {
			o.Note = fmt.Sprintf("fixed cost (`beadsctl version`, before each command) %s ms", spread(fixed))
		}
		fail(o, err)
	}
	return result()
}

// timedRun runs c and returns how long it took from just before its exec to
// its exit, and its output.
func timedRun(ctx context.Context, c *exec.Cmd) (time.Duration, []byte, error) {
	t0 := time.Now()
	out, err := run(ctx, c)
	return time.Since(t0), out, err
}

// cacheEntries identifies each configuration cache entry of the project in
// dir (inode, size, modification time): an entry is written by rename, so
// any write changes it.
func cacheEntries(dir string) map[string]string {
	m := map[string]string{}
	paths, _ := filepath.Glob(filepath.Join(dir, supervisor.StateDir, schema.CacheFilePrefix+"*"))
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		ino := uint64(0)
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			ino = st.Ino
		}
		m[filepath.Base(p)] = fmt.Sprintf("%d %d %d", ino, fi.Size(), fi.ModTime().UnixNano())
	}
	return m
}

// fmtLoading is the median (min–max) with the time a daemon beside.
func fmtLoading(o Outcome) string {
	return fmt.Sprintf("%s (%s µs a daemon)", fmtMsSpread(o), short(median(o.More[perDaemon])))
}

// judgeLoading: the whole command within ms, and, when perDaemonMax > 0, the
// time a daemon within it.
func judgeLoading(ms, perDaemonMax float64) func(pm2, bc Outcome) (string, bool) {
	return func(pm2, bc Outcome) (string, bool) {
		r, ok := lower(ms)(pm2, bc)
		if perDaemonMax > 0 {
			ok = ok && median(bc.More[perDaemon]) <= perDaemonMax
		}
		return r, ok
	}
}
