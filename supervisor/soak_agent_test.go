//go:build soak && linux

package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// soakFigures are the agent's own resources: this test process hosts it.
type soakFigures struct {
	rssKB, heapKB   uint64
	fds, goroutines int
}

func (f soakFigures) String() string {
	return fmt.Sprintf("rss=%dKB heap=%dKB fds=%d goroutines=%d", f.rssKB, f.heapKB, f.fds, f.goroutines)
}

func soakMeasure(t *testing.T) soakFigures {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fig := soakFigures{heapKB: ms.HeapAlloc / 1024, goroutines: runtime.NumGoroutine()}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		fig.fds = len(ents)
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				fig.rssKB, _ = strconv.ParseUint(strings.Fields(v)[0], 10, 64)
			}
		}
	}
	return fig
}

// countStarts counts "daemon started" records that are restarts after a crash.
type countStarts struct {
	slog.Handler
	restarts *atomic.Int64
}

func (c countStarts) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "daemon started" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "restart_reason" && a.Value.String() == ReasonCrash {
				c.restarts.Add(1)
			}
			return true
		})
	}
	return nil
}
func (c countStarts) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c countStarts) WithGroup(string) slog.Handler      { return c }
func (c countStarts) Enabled(context.Context, slog.Level) bool {
	return true
}

// TestSoakAgent50Daemons1000Restarts: 50 crashing daemons under one agent until
// 1,000 crash-restarts in total. The agent's memory, open files and goroutines
// stay flat (figures after warm-up and at the end are logged), every restart is
// counted in the daemons' status, and once the daemons are gone so are their
// goroutines and files.
func TestSoakAgent50Daemons1000Restarts(t *testing.T) {
	const daemons, restarts = 50, 1000
	var logged atomic.Int64
	dir := t.TempDir()
	base := soakMeasure(t)
	ta := startAgent(t, dir, func(a *Agent) {
		a.log = slog.New(countStarts{Handler: slog.DiscardHandler, restarts: &logged})
	})
	for i := range daemons {
		ta.put(t, Spec{
			Name:    fmt.Sprintf("crash%02d", i),
			Argv:    []string{"sh", "-c", "echo up; echo oops >&2; sleep 0.2; exit 3"},
			Dir:     dir,
			Restart: RestartPolicy{Policy: "always", Delay: 10 * time.Millisecond, Backoff: "constant", MinUptime: 100 * time.Millisecond},
			Logs:    LogSpec{Out: fmt.Sprintf("%s/logs/crash%02d.out.log", dir, i), Error: fmt.Sprintf("%s/logs/crash%02d.err.log", dir, i)},
		})
	}
	total := func() (n int) {
		var as AgentStatus
		ta.callJSON(t, http.MethodGet, "/v1/status", nil, &as)
		for _, st := range as.Daemons {
			if st.State == StateErrored {
				t.Fatalf("daemon %s errored: %s", st.Name, st.Reason)
			}
			n += st.Restarts
		}
		return n
	}
	waitRestarts := func(n int) {
		deadline := time.Now().Add(10 * time.Minute)
		for total() < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d restarts after 10 minutes", total())
			}
			<-time.After(200 * time.Millisecond) // a poll of the API, not a wait for an event
		}
	}
	waitRestarts(restarts / 10)
	warm := soakMeasure(t)
	started := time.Now()
	waitRestarts(restarts)
	end := soakMeasure(t)
	t.Logf("soak: %d daemons, %d restarts in %v", daemons, total(), time.Since(started).Round(time.Second))

	// Stop everything, then compare counts: nothing runs, nothing restarts any more.
	for i := range daemons {
		var res DaemonResult
		ta.callJSON(t, http.MethodPost, fmt.Sprintf("/v1/daemons/crash%02d/stop", i), nil, &res)
	}
	if got, want := int64(total()), logged.Load(); got != want {
		t.Errorf("status counts %d restarts, the agent logged %d", got, want)
	}
	for i := range daemons {
		ta.call(t, http.MethodDelete, fmt.Sprintf("/v1/daemons/crash%02d", i), nil)
	}
	ta.hc.CloseIdleConnections()
	after := soakMeasure(t)
	t.Logf("soak: agent before=%v warm=%v end=%v after-removal=%v", base, warm, end, after)

	if end.fds > warm.fds+10 {
		t.Errorf("open files grew from %d to %d", warm.fds, end.fds)
	}
	if end.heapKB > warm.heapKB*3/2+4096 {
		t.Errorf("heap grew from %dKB to %dKB", warm.heapKB, end.heapKB)
	}
	if end.goroutines > warm.goroutines+daemons {
		t.Errorf("goroutines grew from %d to %d", warm.goroutines, end.goroutines)
	}
	if after.goroutines > base.goroutines+15 || after.fds > base.fds+5 {
		t.Errorf("after removal: %v, before the daemons: %v (goroutine or fd leak)", after, base)
	}
}
