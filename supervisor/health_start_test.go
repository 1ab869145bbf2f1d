package supervisor

import (
	"context"
	"testing"
	"time"
)

// While a Dolt server starts, its SQL check runs while bd's files are being
// written (two fsynced files: ~10 ms on a loaded disk), and a healthy verdict
// waits for them: before, the check waited for the files, and the verdict
// came after both (apply -> SQL-healthy 15 ms median, 27 ms worst after dolt's
// first accepted query, against a 10 ms target).
func TestStartCheckRunsWhileBdsFilesAreWritten(t *testing.T) {
	files := make(chan struct{})
	ran := make(chan struct{})
	type verdict struct {
		res healthResult
		ok  bool
	}
	got := make(chan verdict, 1)
	go func() {
		res, ok := startCheck(t.Context(), func() healthResult { close(ran); return healthResult{Healthy: true, Status: "healthy"} }, files)
		got <- verdict{res, ok}
	}()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("the check did not run before bd's files were written")
	}
	select {
	case v := <-got:
		t.Fatalf("healthy (%+v) before bd's files name the run", v)
	default: // startCheck cannot return until files is closed or the test's context ends
	}
	close(files)
	if v := <-got; !v.ok || !v.res.Healthy {
		t.Fatalf("verdict %+v, want healthy", v)
	}

	// An unhealthy answer does not wait for the files: the start phase retries.
	res, ok := startCheck(t.Context(), func() healthResult { return unhealthy("refused") }, make(chan struct{}))
	if !ok || res.Healthy {
		t.Fatalf("unhealthy check: %+v %v", res, ok)
	}

	// A context that ends while waiting ends the wait.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, ok := startCheck(ctx, func() healthResult { return healthResult{Healthy: true} }, make(chan struct{})); ok {
		t.Fatal("startCheck went on after its context ended")
	}
}

// TestStartProbesFindAReadyDaemonSoon: the start phase probes 2, 4, 8 ms...
// apart, so a daemon ready 8 ms after its start (bd here) is found healthy
// within twice that, where the first probe came at 20 ms; the probes end
// at one a second (or the interval).
func TestStartProbesFindAReadyDaemonSoon(t *testing.T) {
	at, next := startProbeFirst, startProbeFirst
	for at < 8*time.Millisecond {
		next = nextStartProbe(next, 30*time.Second)
		at += next
	}
	if at > 16*time.Millisecond {
		t.Errorf("a daemon ready at 8 ms is probed healthy at %v, want within 16 ms", at)
	}
	for range 20 {
		next = nextStartProbe(next, 30*time.Second)
	}
	if next != startProbeMax || nextStartProbe(time.Second, 300*time.Millisecond) != 300*time.Millisecond {
		t.Errorf("probes settle at %v, want %v (or the interval when shorter)", next, startProbeMax)
	}
}
