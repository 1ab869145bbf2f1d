//go:build linux

package supervisor

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Fault cases for one daemon with real processes: children that misbehave in
// the ways issue 9 lists. Each asserts the end state, not the way there.

// A child that closes stdout and stderr at once keeps running: EOF on its
// pipes is not an exit, it is not restarted, and it stops gracefully.
func TestFaultChildClosesStdoutEarly(t *testing.T) {
	path, lines := fifo(t)
	dir := t.TempDir()
	d := runDaemon(t, Spec{
		Argv: []string{"sh", "-c", `echo before; exec 1>&- 2>&-; echo "$$" > "$FIFO"; exec sleep 1000`},
		Env:  map[string]string{"FIFO": path},
		Stop: StopPolicy{Timeout: 5 * time.Second},
		Logs: LogSpec{Out: filepath.Join(dir, "out.log")},
	}, DaemonOptions{})
	pid := recvLine(t, lines)
	st := waitStatus(t, d, 10*time.Second, "online", online)
	if st.Restarts != 0 || st.LogError != "" || st.Pid == 0 || pid == "" {
		t.Fatalf("after the child closed its output: %+v, want online, no restart, no log error", st)
	}
	if err := d.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	st = d.Status()
	if st.State != StateStopped || st.LastExit == nil || st.LastExit.Signal != "SIGTERM" || st.Restarts != 0 {
		t.Fatalf("stop: %+v (last exit %+v), want stopped by SIGTERM, never restarted", st, st.LastExit)
	}
}

// A child that exits 0 at once (bd's silent failure) is an unstable run like
// any crash: restarted, then errored after max_restarts, with exit code 0 in
// the status rather than a success.
func TestFaultChildExitsZeroAtOnce(t *testing.T) {
	d := runDaemon(t, Spec{
		Argv:    []string{"true"},
		Restart: RestartPolicy{Policy: "always", Delay: time.Millisecond, Backoff: "constant", MaxRestarts: 3, MinUptime: 5 * time.Second},
	}, DaemonOptions{})
	st := waitStatus(t, d, 20*time.Second, "errored", func(s Status) bool { return s.State == StateErrored })
	if st.LastExit == nil || st.LastExit.Code != 0 || st.Pid != 0 || st.Restarts != 2 || st.UnstableRestarts != 2 {
		t.Fatalf("status %+v (last exit %+v), want errored after 3 unstable runs of exit 0, 2 (2) restarts", st, st.LastExit)
	}
}

// A child that writes as fast as it can (far above 100 MB/s into the pipe):
// rotation keeps the disk use within max_size*(keep+1), the
// daemon stays online and answers, and it stops within its timeout.
func TestFaultChildFloodsLogs(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.log")
	line := strings.Repeat("0123456789", 10)
	d := runDaemon(t, Spec{
		Argv: []string{"yes", line},
		Stop: StopPolicy{Timeout: 5 * time.Second},
		Logs: LogSpec{Out: out, Rotate: Rotate{MaxSize: 1 << 20, Keep: 2}},
	}, DaemonOptions{})
	waitStatus(t, d, 10*time.Second, "online", online)
	// Wait for the second backup: the log rotated at least twice under the flood.
	backups := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "out-*.log"))
		return m
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(backups()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no second rotation after 30s; files %v", backups())
		}
		faultWaitDir(dir, 50*time.Millisecond)
	}
	if st := d.Status(); st.State != StateOnline || st.Restarts != 0 || st.LogError != "" {
		t.Fatalf("under the flood: %+v, want online, no restart, no log error", st)
	}
	if err := d.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The stop signal ended it: no 5 s stop timeout then SIGKILL under the flood.
	if st := d.Status(); st.LastExit == nil || st.LastExit.Signal != "SIGTERM" {
		t.Errorf("stop under the flood: last exit %+v, want SIGTERM (the stop signal, not the kill after the timeout)", st.LastExit)
	}
	// Backups are pruned as they are made: the current file and keep=2
	// backups remain, each at most max_size.
	total, files := logFiles(t, dir, "out*")
	if limit := int64(3 << 20); total > limit || len(files) > 3 {
		t.Errorf("logs use %d bytes in %d files, want at most %d in 3", total, len(files), limit)
	}
}

// logFiles returns the total size and the names of the files matching pattern in dir.
func logFiles(t *testing.T, dir, pattern string) (int64, []string) {
	t.Helper()
	var total int64
	var files []string
	all, _ := filepath.Glob(filepath.Join(dir, pattern))
	for _, f := range all {
		if fi, err := os.Stat(f); err == nil {
			total += fi.Size()
			files = append(files, f)
		}
	}
	return total, files
}

// faultWaitDir blocks until something in dir changes (inotify), or at most max:
// the bound only guards against events missed between the check and the watch.
func faultWaitDir(dir string, max time.Duration) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MODIFY|unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE|unix.IN_DELETE); err != nil {
		return
	}
	_, _ = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(max/time.Millisecond))
}

// A child that forks a grandchild into a new session (out of our group, so
// out of our reach, as documented on ExecRunner) and exits: the grandchild
// still holds the output pipe, yet the exit is seen within waitDelay and the
// daemon restarts instead of hanging on the pipe.
func TestFaultGrandchildEscapesWithThePipe(t *testing.T) {
	path, lines := fifo(t)
	d := runDaemon(t, Spec{
		Argv:    []string{"sh", "-c", `setsid sleep 1000 & echo "$!" > "$FIFO"; exit 0`},
		Env:     map[string]string{"FIFO": path},
		Restart: RestartPolicy{Policy: "on-failure"},
	}, DaemonOptions{})
	grandchild := recvLine(t, lines)
	t.Cleanup(func() {
		if pid, err := strconv.Atoi(grandchild); err == nil {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	})
	st := waitStatus(t, d, 3*waitDelay, "the exit despite the held pipe", func(s Status) bool { return s.LastExit != nil })
	if st.LastExit.Code != 0 || st.Restarts != 0 {
		t.Fatalf("status %+v (last exit %+v), want a clean exit 0 seen, no restart under on-failure", st, st.LastExit)
	}
}

// TestFaultCrashLoopIsThrottled: `false` with delay 0, max_restarts 0 and
// min_uptime 0 (no run even counts as unstable) restarts in a burst of three,
// then no faster than the floor (10ms doubling to 1s): 9 restarts take over
// 0.6 s, where they took a few milliseconds (2,600 restarts a second).
func TestFaultCrashLoopIsThrottled(t *testing.T) {
	t0 := time.Now()
	d := runDaemon(t, Spec{Argv: []string{"false"}, Restart: RestartPolicy{}}, DaemonOptions{})
	st := waitStatus(t, d, 10*time.Second, "9 restarts", func(s Status) bool { return s.Restarts >= 9 })
	if took := time.Since(t0); took < 630*time.Millisecond {
		t.Errorf("%d restarts in %v, want at least 630ms (the floor: 0+0+0+10+20+40+80+160+320 ms)", st.Restarts, took)
	}
}

// TestDaemonStopKillsEscapedGrandchild: a grandchild that left the daemon's
// process group (setsid) is found by the run's marker in its environment and
// killed when the daemon stops (issue 13: it survived destroy, which said
// "Nothing runs").
func TestDaemonStopKillsEscapedGrandchild(t *testing.T) {
	path, lines := fifo(t)
	d := runDaemon(t, Spec{
		Argv: []string{"sh", "-c", `setsid sleep 1000 & echo "$!" > "$FIFO"; exec sleep 1000`},
		Env:  map[string]string{"FIFO": path},
	}, DaemonOptions{})
	pid, err := strconv.Atoi(recvLine(t, lines))
	if err != nil {
		t.Fatal(err)
	}
	fd := pidfd(t, pid)
	if err := d.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !exited(fd, 5*time.Second) {
		_ = unix.Kill(pid, unix.SIGKILL)
		t.Fatalf("the setsid grandchild (pid %d) outlived its daemon's stop", pid)
	}
}

// TestDaemonKillsDoubleForkedGrandchild: a daemon that daemonizes a child
// the classic way — a double fork into a session of its own (setsid), the
// middle process exiting so that the grandchild is orphaned — is still found
// by its run's marker and killed at the end of the run: when the daemon is
// stopped (destroy), and when its leader exits after daemonizing (issue 13:
// such a grandchild survived destroy, which said "Nothing runs").
func TestDaemonKillsDoubleForkedGrandchild(t *testing.T) {
	for name, tc := range map[string]struct {
		after   string // what the leader does once the grandchild runs
		restart RestartPolicy
	}{
		"stopped":                        {after: "exec sleep 1000"},
		"leader exits after daemonizing": {after: "exit 0", restart: RestartPolicy{Policy: "never"}},
	} {
		t.Run(name, func(t *testing.T) {
			path, lines := fifo(t)
			d := runDaemon(t, Spec{
				Argv:    []string{"sh", "-c", `setsid sh -c 'sleep 1001 </dev/null >/dev/null 2>&1 & echo "$!" > "$FIFO"'; ` + tc.after},
				Env:     map[string]string{"FIFO": path},
				Restart: tc.restart,
			}, DaemonOptions{})
			pid, err := strconv.Atoi(recvLine(t, lines))
			if err != nil {
				t.Fatal(err)
			}
			fd := pidfd(t, pid)
			t.Cleanup(func() { _ = unix.Kill(pid, unix.SIGKILL) })
			leader := d.Status().Pid
			if sid, err := unix.Getsid(pid); err != nil || sid == leader || sid == unix.Getpid() {
				t.Fatalf("the grandchild (pid %d) is not in a session of its own: sid %d (%v), daemon %d", pid, sid, err, leader)
			}
			if tc.restart.Policy == "never" {
				waitStatus(t, d, 10*time.Second, "the leader's exit", func(s Status) bool { return s.LastExit != nil })
			} else if err := d.Stop(t.Context()); err != nil {
				t.Fatal(err)
			}
			if !exited(fd, 5*time.Second) {
				t.Fatalf("the double-forked grandchild (pid %d, its own session) outlived its daemon's run", pid)
			}
		})
	}
}

// TestDaemonCrashKillsEscapedGrandchild: when a run crashes and is restarted
// at once, the grandchild that left its process group is still found by the
// run's marker and killed; the sweep runs beside the restart (it reads every
// process's environment), not before it.
func TestDaemonCrashKillsEscapedGrandchild(t *testing.T) {
	path, lines := fifo(t)
	d := runDaemon(t, Spec{
		// The first run leaves a setsid grandchild and crashes; the next ones idle.
		Argv:    []string{"sh", "-c", `if [ ! -e "$FIFO.done" ]; then : > "$FIFO.done"; setsid sleep 1000 & echo "$!" > "$FIFO"; exit 3; fi; exec sleep 1000`},
		Env:     map[string]string{"FIFO": path},
		Restart: RestartPolicy{Policy: PolicyAlways, MaxRestarts: 5, MinUptime: time.Millisecond},
	}, DaemonOptions{})
	pid, err := strconv.Atoi(recvLine(t, lines))
	if err != nil {
		t.Fatal(err)
	}
	fd := pidfd(t, pid)
	st := waitStatus(t, d, 10*time.Second, "restarted once", func(s Status) bool { return s.Restarts >= 1 && s.State == StateOnline })
	if st.LastExit == nil || st.LastExit.Code != 3 {
		t.Fatalf("status %+v, want the run before exited 3", st)
	}
	if !exited(fd, 5*time.Second) {
		_ = unix.Kill(pid, unix.SIGKILL)
		t.Fatalf("the setsid grandchild (pid %d) of the crashed run outlived it", pid)
	}
}

// TestSweeperAnswersEachSearch: searches for escaped processes made at the
// same time share readings of /proc and each gets its own answer.
func TestSweeperAnswersEachSearch(t *testing.T) {
	mark := DaemonMarkerEnv + "=" + newMarker("sweep")
	cmd := exec.Command("sleep", "1000")
	cmd.Env = append(os.Environ(), mark)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var wg sync.WaitGroup
	got := make([][]int, 20)
	for i := range got {
		wg.Go(func() {
			kv := mark
			if i%2 == 1 {
				kv = DaemonMarkerEnv + "=" + newMarker("other")
			}
			got[i] = sweeper.find(kv, 0)
		})
	}
	wg.Wait()
	for i, pids := range got {
		want := []int{cmd.Process.Pid}
		if i%2 == 1 {
			want = nil
		}
		if !slices.Equal(pids, want) {
			t.Errorf("search %d found %v, want %v", i, pids, want)
		}
	}
}

// TestSweeperSkipsTheOtherRunsLeaders: a search does not read the
// environment of a process the runner started and holds (another run's
// leader, with its own marker), but reads that of the leader of the run it
// searches for (one that survived its SIGKILL) and of every other process.
func TestSweeperSkipsTheOtherRunsLeaders(t *testing.T) {
	mark := DaemonMarkerEnv + "=" + newMarker("leaders")
	p, err := ExecRunner{}.Start(t.Context(), Command{Argv: []string{"sleep", "1000"}, Env: []string{mark}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Signal(unix.SIGKILL); <-p.Done() }()
	other := exec.Command("sleep", "1000")
	other.Env = []string{mark}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	if got, want := sweeper.find(mark, 0), []int{other.Process.Pid}; !slices.Equal(got, want) {
		t.Errorf("search for another run's marker found %v, want %v (not the leader %d the runner holds)", got, want, p.Pid())
	}
	got := sweeper.find(mark, p.Pid())
	slices.Sort(got)
	want := []int{p.Pid(), other.Process.Pid}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("search for the run of leader %d found %v, want %v", p.Pid(), got, want)
	}
	_ = p.Signal(unix.SIGKILL)
	<-p.Done()
	leaders.mu.Lock()
	_, held := leaders.m[p.Pid()]
	leaders.mu.Unlock()
	if held {
		t.Errorf("pid %d still in the leaders after its reap", p.Pid())
	}
}

// BenchmarkSweepBesideLeaders is one search for escaped processes while 1,000
// runs' leaders (sleep) run: skipped as the runner holds them, and all read
// (as before they were skipped).
func BenchmarkSweepBesideLeaders(b *testing.B) {
	var ps []Process
	for range 1000 {
		p, err := ExecRunner{}.Start(b.Context(), Command{Argv: []string{"sleep", "1000"}, Env: []string{DaemonMarkerEnv + "=" + newMarker("bench")}})
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	defer func() {
		for _, p := range ps {
			_ = p.Signal(unix.SIGKILL)
			<-p.Done()
		}
	}()
	want := map[string]bool{DaemonMarkerEnv + "=" + newMarker("none"): true}
	b.Run("leaders-skipped", func(b *testing.B) {
		for b.Loop() {
			pidsWithEnvs(want, func() map[int]bool { return leaders.except(nil) })
		}
	})
	b.Run("all-read", func(b *testing.B) {
		for b.Loop() {
			pidsWithEnvs(want, func() map[int]bool { return nil })
		}
	})
}
