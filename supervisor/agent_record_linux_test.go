package supervisor

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sys/unix"
)

// signalWriter closes fired the first time a write contains msg.
type signalWriter struct {
	msg   string
	fired chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.msg)) {
		select {
		case <-w.fired:
		default:
			close(w.fired)
		}
	}
	return len(p), nil
}

// TestAgentRecordWrittenAgainAfterAFailure: once agent.json could not be
// written (a full disk; here a folder in its place), it is written again when
// that is possible, with nothing else changing (issue 13: it stayed stale
// until the next change).
func TestAgentRecordWrittenAgainAfterAFailure(t *testing.T) {
	dir := t.TempDir()
	failed := &signalWriter{msg: "agent record not written", fired: make(chan struct{})}
	ta := startAgent(t, dir, func(a *Agent) { a.log = slog.New(slog.NewTextHandler(failed, nil)) })
	rec := AgentRecordPath(dir)
	waitRegularFile(t, rec, 10*time.Second) // the first record, written at start
	if err := os.Remove(rec); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(rec, "blocker"), 0o700); err != nil {
		t.Fatal(err)
	}
	ta.markDirty()
	select {
	case <-failed.fired:
	case <-time.After(10 * time.Second):
		t.Fatal("the agent never failed to write agent.json over a folder")
	}
	if err := os.RemoveAll(rec); err != nil { // the disk has space again
		t.Fatal(err)
	}
	waitRegularFile(t, rec, 10*time.Second)
	if _, err := ReadAgentRecord(dir); err != nil {
		t.Fatalf("agent.json written again but unreadable: %v", err)
	}
}

// waitRegularFile waits, woken by inotify on its folder, until path is a
// regular file.
func waitRegularFile(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(path), unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE|unix.IN_CREATE); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	for {
		if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("%s not a regular file within %v", path, timeout)
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(left/time.Millisecond)+1)
		if err != nil && err != unix.EINTR {
			t.Fatal(err)
		}
		if n > 0 {
			_, _ = unix.Read(fd, buf)
		}
	}
}

// TestAgentRecordWritesArePaced: a burst of changes (1,000 daemons
// starting) is written to agent.json a few times, not once per change; the
// last change is in the last write.
func TestAgentRecordWritesArePaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, StateDir), 0o700); err != nil {
			t.Fatal(err)
		}
		a := NewAgent(AgentOptions{Dir: dir, Version: "test", GoTimers: true})
		var mu sync.Mutex
		writes := 0
		a.recordWritten = func() { mu.Lock(); writes++; mu.Unlock() }
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { a.recordLoop(ctx); close(done) }()
		for range 100 {
			a.markDirty()
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		if writes < 2 || writes > 100/int(recordPaceMin/time.Millisecond)+2 {
			t.Errorf("%d writes for 100 changes 1 ms apart, want one every %v at most", writes, recordPaceMin)
		}
	})
}

// TestAgentRecordKeepsAlertsAndMetrics: the alerts and the metrics address an
// apply hands to the agent are in agent.json as soon as they are set, with
// no daemon changing, for `agent --restore` to set them again after a reboot
// (a SIGKILL right after the apply lost them).
func TestAgentRecordKeepsAlertsAndMetrics(t *testing.T) {
	dir := t.TempDir()
	written := make(chan struct{}, 1)
	ta := startAgent(t, dir, func(a *Agent) {
		a.recordWritten = func() {
			select {
			case written <- struct{}{}:
			default:
			}
		}
	})
	waitRegularFile(t, AgentRecordPath(dir), 10*time.Second)
	ta.SetAlerts([]AlertSpec{{Name: "desk", On: []string{"errored"}, Command: []string{"true"}, Dir: dir}})
	if _, err := ta.SetMetricsListen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		rec, err := ReadAgentRecord(dir)
		if err == nil && len(rec.Alerts) == 1 && rec.Alerts[0].Name == "desk" && rec.MetricsListen == "127.0.0.1:0" {
			return
		}
		select {
		case <-written:
		case <-deadline:
			t.Fatalf("agent.json never recorded the alerts and the metrics address: %+v, %v", rec.Alerts, err)
		}
	}
}

// TestAgentRecordHasAlertsWhenPutAnswers: once PUT /v1/alerts and PUT
// /v1/metrics/listen have answered, agent.json holds what they set: an agent
// SIGKILLed right after the apply (within the record's paced write) still
// leaves them for `agent --restore` (agent_dead.txtar lost them 2 runs in 3).
func TestAgentRecordHasAlertsWhenPutAnswers(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	for i := range 20 { // each a new value, each answered while the record loop paces
		name := "desk" + strconv.Itoa(i)
		ta.callJSON(t, http.MethodPut, "/v1/alerts", AlertsRequest{Alerts: []AlertSpec{{Name: name, On: []string{"errored"},
			Command: []string{"true"}, Dir: dir}}}, &AlertsRequest{})
		addr := "192.0.2.1:" + strconv.Itoa(9000+i) // not this machine's (TEST-NET-1): asked for, not served, recorded all the same
		ta.callJSON(t, http.MethodPut, "/v1/metrics/listen", map[string]string{"listen": addr}, &MetricsListenResult{})
		rec, err := ReadAgentRecord(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Alerts) != 1 || rec.Alerts[0].Name != name || rec.MetricsListen != addr {
			t.Fatalf("put %d answered, agent.json has alerts %+v, metrics %q", i, rec.Alerts, rec.MetricsListen)
		}
	}
}
