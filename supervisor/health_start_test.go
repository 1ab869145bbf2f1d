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
