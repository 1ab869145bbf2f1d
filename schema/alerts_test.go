package schema

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadAlerts(t *testing.T) {
	src := `
daemon "web" {
  command = "sleep"
}
alert "desk" {
  on            = ["errored", "crash_loop", "memory", "unhealthy", "recovered"]
  command       = ["notify-send", "beadsctl"]
  timeout       = "5s"
  daemons       = ["web"]
  unhealthy_for = "1m"
  window        = "2m"
}
alert "hook" {
  on      = ["errored"]
  command = ["curl", "-fsS"]
}
`
	cfg, diags := loadSrc(t, src, "")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	want := []Alert{
		{Name: "desk", On: []string{"errored", "crash_loop", "memory", "unhealthy", "recovered"}, Command: []string{"notify-send", "beadsctl"},
			Timeout: 5 * time.Second, Daemons: []string{"web"}, UnhealthyFor: time.Minute, Window: 2 * time.Minute},
		{Name: "hook", On: []string{"errored"}, Command: []string{"curl", "-fsS"}, Timeout: 10 * time.Second,
			UnhealthyFor: 30 * time.Second, Window: time.Minute},
	}
	if d := cmp.Diff(want, cfg.Alerts); d != "" {
		t.Fatalf("(-want +got)\n%s", d)
	}
}

func TestLoadAlertErrors(t *testing.T) {
	src := `daemon "web" {
  command = "sleep"
}
alert "a" {
  on      = ["errored", "crashloop"]
  command = []
  timeout = "10x"
  daemons = ["wbe"]
}
alert "b" {
  command = ["true"]
  window  = "0s"
  bogus   = 1
}
alert "c" {
  on      = ["crash_loop"]
  command = ["true"]
  window  = "10ms"
}
alert "a" {
  on      = ["errored"]
  command = ["true"]
}
`
	_, diags := loadSrc(t, src, "")
	got := strings.Join(diagLines(diags), "\n")
	for _, want := range []string{
		`5:25: error: Unknown alert event; "crashloop" is not an event an alert is fired on; use "errored", "crash_loop", "memory", "unhealthy" or "recovered". Did you mean "crash_loop"?`,
		`6:13: error: Alert without a command`,
		`7:13: error: Invalid alert.timeout; timeout must be a duration such as "10s": "10x" is not a duration`,
		`8:14: error: Unknown daemon; alert "a" names daemon "wbe", which beads.hcl does not declare. Did you mean "web"?`,
		`10:1: error: Alert without events; alert "b" needs on = [...]`,
		`12:13: error: Invalid alert.window; window must be a duration such as "10s": it must be longer than 0.`,
		`13:3: error: Unsupported argument`,
		`18:13: error: Invalid alert.window; window must be a duration such as "10s": it must be 1s or longer, or a crash loop would send an alert a crash (1m0s is the default).`,
		`20:7: error: Duplicate alert block; An alert "a" is already declared at beads.hcl:4`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no diagnostic %q in:\n%s", want, got)
		}
	}
}

// TestAlertsThatCannotFire: an alert on unhealthy where none of its daemons
// has a health check, or on memory where none has limits.memory, would never
// run: validate warns at the trigger (it did not: nothing told the user).
func TestAlertsThatCannotFire(t *testing.T) {
	src := `daemon "web" {
  command = "sleep"
}
daemon "db" {
  command = "sleep"
  health {
    check   = "tcp"
    address = "127.0.0.1:5432"
  }
}
alert "web" {
  on      = ["errored", "unhealthy", "memory"]
  command = ["true"]
  daemons = ["web"]
}
alert "all" {
  on      = ["unhealthy", "memory"]
  command = ["true"]
}
`
	_, diags := loadSrc(t, src, "")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := strings.Join(diagLines(diags), "\n")
	for _, want := range []string{
		`12:25: warning: Alert that cannot fire; alert "web" fires on unhealthy, but none of its daemons (web) has a health check (a health block): it never will.`,
		`12:38: warning: Alert that cannot fire; alert "web" fires on memory, but none of its daemons (web) has limits.memory: it never will.`,
		`17:27: warning: Alert that cannot fire; alert "all" fires on memory, but no daemon has limits.memory: it never will.`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no diagnostic %q in:\n%s", want, got)
		}
	}
	if strings.Count(got, "Alert that cannot fire") != 3 {
		t.Errorf("want 3 warnings (db's health check serves alert \"all\"):\n%s", got)
	}
}
