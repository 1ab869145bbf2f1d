package supervisor

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beadsctl/beadsctl/internal/alerton"
)

// sentAlert is one run of an alert's command in a timing test: when, what.
type sentAlert struct {
	at time.Time
	p  AlertPayload
}

// fakeAlerter is an alerter whose commands are recorded, not run, for
// synctest: its timers are the bubble's.
func fakeAlerter(t *testing.T, specs ...AlertSpec) (a *alerter, sent func() []sentAlert) {
	var mu sync.Mutex
	var got []sentAlert
	a = newAlerter(slog.New(slog.NewTextHandler(io.Discard, nil)), func(Event) {})
	a.runCmd = func(_ context.Context, s AlertSpec, p AlertPayload, _ []string) AlertResult {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, sentAlert{at: time.Now(), p: p})
		return AlertResult{Alert: s.Name, Trigger: p.Trigger}
	}
	a.setSpecs(specs)
	a.start(t.Context())
	go a.run(t.Context())
	t.Cleanup(a.stop)
	return a, func() []sentAlert {
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		return append([]sentAlert(nil), got...)
	}
}

// TestAlertUnhealthyTiming: "unhealthy" runs the command once the daemon has
// been unhealthy for unhealthy_for, not before; not again while it stays so,
// even as its failing check restarts it every 10 s (each restart's first
// check is a new transition to unhealthy: each used to start the spell
// again, so the alert never came); "recovered" runs once, at once, when the
// check passes (not held back as a summary behind the unhealthy alert's window).
func TestAlertUnhealthyTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const unhealthyFor, window = 30 * time.Second, 60 * time.Second
		a, sent := fakeAlerter(t, AlertSpec{Name: "desk", On: []string{alerton.Unhealthy, alerton.Recovered},
			Command: []string{"x"}, UnhealthyFor: unhealthyFor, Window: window})
		start := time.Now()
		health := func(from, to string) {
			a.feed(Event{At: time.Now(), Kind: EventHealth, Daemon: "web", From: from, Health: to, Message: "exit status 1"})
		}
		health("unknown", "healthy")
		health("healthy", "unhealthy")
		// Its check restarts it every 10 s; each new run's check fails again.
		for i := 0; i < 2; i++ {
			time.Sleep(10 * time.Second)
			a.feed(Event{At: time.Now(), Kind: EventRestarted, Daemon: "web", Reason: ReasonHealth})
			a.feed(Event{At: time.Now(), Kind: EventStarted, Daemon: "web", Pid: 10 + i})
			health("unknown", "unhealthy")
		}
		time.Sleep(unhealthyFor - 20*time.Second - time.Millisecond)
		if got := sent(); len(got) != 0 {
			t.Fatalf("alerted %v after %s, before unhealthy_for (%s)", got[0].p.Message, time.Since(start), unhealthyFor)
		}
		time.Sleep(time.Millisecond)
		got := sent()
		if len(got) != 1 || got[0].p.Trigger != alerton.Unhealthy || got[0].p.Summary {
			t.Fatalf("at unhealthy_for: %d alerts, want one unhealthy: %+v", len(got), got)
		}
		if d := got[0].at.Sub(start); d != unhealthyFor {
			t.Fatalf("alerted after %s, want %s", d, unhealthyFor)
		}
		// It stays unhealthy, restarted every 10 s, for three windows: no
		// other alert, not even a summary.
		for range 3 * window / (10 * time.Second) {
			time.Sleep(10 * time.Second)
			a.feed(Event{At: time.Now(), Kind: EventRestarted, Daemon: "web", Reason: ReasonHealth})
			health("unknown", "unhealthy")
		}
		if got := sent(); len(got) != 1 {
			t.Fatalf("%d alerts while it stayed unhealthy, want 1: %+v", len(got), got[1:])
		}
		health("unhealthy", "healthy")
		got = sent()
		if len(got) != 2 || got[1].p.Trigger != alerton.Recovered || got[1].p.Summary || !got[1].at.Equal(time.Now()) {
			t.Fatalf("on recovery: %+v, want one recovered at once", got)
		}
		health("healthy", "unhealthy") // a new spell, healthy again before unhealthy_for
		time.Sleep(unhealthyFor - time.Second)
		health("unhealthy", "healthy")
		time.Sleep(2 * window)
		if got := sent(); len(got) != 2 {
			t.Fatalf("a spell shorter than unhealthy_for alerted: %+v", got[2:])
		}
	})
}

// TestAlertRecoveredNotHeldBack: a recovery right after the alert it follows
// is sent at once, not counted into the window's summary (it used to come a
// minute late as "1 more alerts"); recoveries have their own window.
func TestAlertRecoveredNotHeldBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, sent := fakeAlerter(t, AlertSpec{Name: "desk", On: []string{alerton.Errored, alerton.Recovered},
			Command: []string{"x"}, UnhealthyFor: time.Second, Window: time.Minute})
		a.feed(Event{At: time.Now(), Kind: EventErrored, Daemon: "web", Reason: "no more restarts"})
		a.feed(Event{At: time.Now(), Kind: EventHealth, Daemon: "web", From: "unknown", Health: "healthy"})
		got := sent()
		triggers := map[string]bool{} // the two commands run at once, in either order
		for _, g := range got {
			triggers[g.p.Trigger] = !g.p.Summary
		}
		if len(got) != 2 || !triggers[alerton.Errored] || !triggers[alerton.Recovered] {
			t.Fatalf("got %+v, want errored and recovered, at once", got)
		}
		time.Sleep(2 * time.Minute)
		if got := sent(); len(got) != 2 {
			t.Fatalf("a summary followed: %+v", got[2:])
		}
	})
}
