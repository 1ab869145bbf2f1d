//go:build !windows

package reconcile

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// TestReadStateSummaryBesideAFIFO: a FIFO planted as state.summary.json is
// not the summary: status reads state.json at once (it waited in open(2)
// for a writer forever).
func TestReadStateSummaryBesideAFIFO(t *testing.T) {
	path, _ := writeOneDaemonState(t)
	if err := os.Remove(summaryPath(path)); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(summaryPath(path), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan *State, 1)
	go func() { sum, _ := ReadStateSummary(path); done <- sum }()
	select {
	case sum := <-done:
		if sum == nil || sum.Env != "production" || sum.Daemons["a"].Pid != 42 {
			t.Fatalf("summary beside a FIFO: %+v; want state.json's", sum)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ReadStateSummary still waits on the FIFO after 30 s")
	}
}
