package monitor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/beadsctl/beadsctl/report"
	"github.com/google/go-cmp/cmp"
)

// fakeSource serves reports in turn and records actions.
type fakeSource struct {
	mu      sync.Mutex
	reports []report.StatusReport
	n       int
	acts    []string
	actErr  error
	logsFor []string
}

func (f *fakeSource) source() Source {
	return Source{
		Status: func() report.StatusReport {
			f.mu.Lock()
			defer f.mu.Unlock()
			r := f.reports[min(f.n, len(f.reports)-1)]
			f.n++
			return r
		},
		Logs: func(name string, n int) []string {
			f.mu.Lock()
			f.logsFor = append(f.logsFor, name)
			f.mu.Unlock()
			var out []string
			for i := range 30 {
				out = append(out, fmt.Sprintf("2026-11-26T13:55:%02dZ: %s line %d", i, name, i))
			}
			return out[max(0, len(out)-n):]
		},
		Act: func(verb, name string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.acts = append(f.acts, verb+" "+name)
			return f.actErr
		},
	}
}

func sampleReport(mem uint64, cpu float64) report.StatusReport {
	return report.StatusReport{
		Agent: report.AgentReport{Running: true, Pid: 7, Source: "agent"},
		Env:   "production",
		Daemons: []report.DaemonRow{
			{Name: "beads", Status: "online", Pid: 4242, UptimeSeconds: 3725, Restarts: 2, UnstableRestarts: 1,
				MemoryBytes: mem, MemoryLimitBytes: 200 << 20, CPUPercent: cpu, Health: "healthy"},
			{Name: "web", Status: "errored", Reason: "exited 1 before min_uptime 10 times", Restarts: 10, UnstableRestarts: 10, Health: "none"},
		},
	}
}

var clock = func() time.Time { return time.Date(2026, 11, 26, 13, 55, 40, 0, time.UTC) }

// newModel is a model whose ticks the test sends itself.
func newModel(src Source, opts Options) tea.Model {
	m := New(src, opts)
	m.manualTicks = true
	return m
}

// run executes cmd and feeds its messages back into the model, as the tea
// runtime does, until a command yields nothing more; it reports a Quit.
func run(t *testing.T, m tea.Model, cmd tea.Cmd) (tea.Model, bool) {
	t.Helper()
	for cmd != nil {
		msg := cmd()
		if _, ok := msg.(tea.QuitMsg); ok {
			return m, true
		}
		if msg == nil {
			return m, false
		}
		m, cmd = m.Update(msg)
	}
	return m, false
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/monitor -update)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s (-want +got)\n%s", name, d)
	}
}

func checkFits(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := len([]rune(l)); n > w {
			t.Errorf("line %d is %d wide, more than %d: %q", i, n, w, l)
		}
	}
}

func TestMonitorViewAndResize(t *testing.T) {
	f := &fakeSource{}
	for i := range 40 {
		// Memory climbs from 40M towards the limit; CPU wobbles.
		f.reports = append(f.reports, sampleReport(uint64(40+4*i)<<20, float64(i%7)*3))
	}
	var m tea.Model = newModel(f.source(), Options{Now: clock, History: 60})
	m, _ = m.Update(tea.WindowSizeMsg{Width: 100, Height: 24})
	m, _ = run(t, m, m.Init())
	for range 39 {
		m, _ = run(t, m, func() tea.Msg { return TickMsg{} })
	}
	golden(t, "view_100x24", m.View().Content)
	checkFits(t, m.View().Content, 100, 24)

	// Smaller: every line is cut to the width and the log pane shrinks.
	m, _ = m.Update(tea.WindowSizeMsg{Width: 50, Height: 14})
	golden(t, "view_50x14", m.View().Content)
	checkFits(t, m.View().Content, 50, 14)
	// Tiny: still within bounds.
	m, _ = m.Update(tea.WindowSizeMsg{Width: 10, Height: 3})
	checkFits(t, m.View().Content, 20, 5)
}

func TestMonitorKeys(t *testing.T) {
	f := &fakeSource{reports: []report.StatusReport{sampleReport(50<<20, 1)}}
	var m tea.Model = newModel(f.source(), Options{Now: clock})
	m, _ = m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	m, _ = run(t, m, m.Init())
	if got := m.(Model).Selected(); got != "beads" {
		t.Fatalf("selected %q, want the first daemon", got)
	}
	// Down selects web and fetches its logs; down again wraps around.
	m, cmd := m.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	m, _ = run(t, m, cmd)
	if got := m.(Model).Selected(); got != "web" {
		t.Errorf("after down: %q", got)
	}
	if !strings.Contains(m.View().Content, "web line 29") {
		t.Errorf("the log pane does not show web's logs:\n%s", m.View().Content)
	}
	m, cmd = m.Update(tea.KeyPressMsg{Code: []rune("j")[0], Text: "j"})
	m, _ = run(t, m, cmd)
	if got := m.(Model).Selected(); got != "beads" {
		t.Errorf("after j: %q", got)
	}
	// r restarts the selected daemon; the result is shown in the footer.
	m, cmd = m.Update(tea.KeyPressMsg{Code: []rune("r")[0], Text: "r"})
	if !strings.Contains(m.View().Content, "restart beads...") {
		t.Errorf("no progress shown:\n%s", m.View().Content)
	}
	m, _ = run(t, m, cmd)
	if !strings.Contains(m.View().Content, "restart beads: done") {
		t.Errorf("no result shown:\n%s", m.View().Content)
	}
	f.actErr = errors.New("agent: unknown daemon")
	for _, k := range []string{"s", "t"} {
		m, cmd = m.Update(tea.KeyPressMsg{Code: []rune(k)[0], Text: k})
		m, _ = run(t, m, cmd)
	}
	if !strings.Contains(m.View().Content, "start beads: agent: unknown daemon") {
		t.Errorf("the error is not shown:\n%s", m.View().Content)
	}
	if d := cmp.Diff([]string{"restart beads", "stop beads", "start beads"}, f.acts); d != "" {
		t.Errorf("actions (-want +got)\n%s", d)
	}
	// q quits.
	_, cmd = m.Update(tea.KeyPressMsg{Code: []rune("q")[0], Text: "q"})
	if _, quit := run(t, m, cmd); !quit {
		t.Error("q did not quit")
	}
}

func TestMonitorAgentDown(t *testing.T) {
	down := report.StatusReport{
		Agent: report.AgentReport{Source: "snapshot", Error: "agent is not running"},
		Daemons: []report.DaemonRow{{Name: "beads", Status: "unknown", Reason: "agent not running; last seen online (pid 42)",
			Health: "unknown", MemoryLimitBytes: 200 << 20}},
	}
	f := &fakeSource{reports: []report.StatusReport{down}}
	var m tea.Model = newModel(f.source(), Options{Now: clock})
	m, _ = m.Update(tea.WindowSizeMsg{Width: 90, Height: 16})
	m, _ = run(t, m, m.Init())
	m, cmd := m.Update(tea.KeyPressMsg{Code: []rune("r")[0], Text: "r"})
	m, _ = run(t, m, cmd)
	if len(f.acts) != 0 {
		t.Errorf("acted with the agent down: %v", f.acts)
	}
	golden(t, "view_agent_down", m.View().Content)
}

func TestSpark(t *testing.T) {
	got := string([]rune{spark(0), spark(0.01), spark(0.5), spark(1), spark(2)})
	if got != " ▁▄██" {
		t.Errorf("spark = %q", got)
	}
}

// TestMonitorEventsPane: the recent events show above the footer (the last
// eventLines of them, trouble styled), refreshed with the status; a short
// terminal gives the logs half the room, and the whole still fits.
func TestMonitorEventsPane(t *testing.T) {
	f := &fakeSource{reports: []report.StatusReport{sampleReport(50<<20, 1)}}
	src := f.source()
	var evs []string
	for i := range 9 {
		evs = append(evs, fmt.Sprintf("13:55:%02d.000  web          restarted   crash %d", 30+i, i))
	}
	evs = append(evs, "13:55:39.500  web          errored     10 unstable runs in a row")
	calls := 0
	src.Events = func(n int) []string {
		calls++
		return evs[max(0, len(evs)-n):]
	}
	var m tea.Model = newModel(src, Options{Now: clock})
	m, _ = m.Update(tea.WindowSizeMsg{Width: 100, Height: 24})
	m, _ = run(t, m, m.Init())
	view := m.View().Content
	golden(t, "view_events_100x24", view)
	checkFits(t, view, 100, 24)
	lines := strings.Split(view, "\n")
	if !strings.HasPrefix(lines[len(lines)-2], "13:55:39.500  web          errored") || !strings.Contains(lines[len(lines)-8], "events") {
		t.Fatalf("the events pane is not the 6 lines above the footer:\n%s", view)
	}
	if strings.Contains(view, "crash 3\n") || !strings.Contains(view, "crash 4") {
		t.Fatalf("not the last 6 events:\n%s", view)
	}
	evs = append(evs, "13:55:41.000  web          alerted     alert \"desk\" (errored): web errored")
	m, _ = run(t, m, func() tea.Msg { return TickMsg{} })
	if !strings.Contains(m.View().Content, `alert "desk" (errored)`) || calls != 2 {
		t.Fatalf("a refresh (%d calls) did not bring the new event:\n%s", calls, m.View().Content)
	}
	m, _ = m.Update(tea.WindowSizeMsg{Width: 50, Height: 14})
	checkFits(t, m.View().Content, 50, 14)
	if !strings.Contains(m.View().Content, "logs: beads") || !strings.Contains(m.View().Content, "alerted     alert") {
		t.Fatalf("a short terminal lost the logs or the last event:\n%s", m.View().Content)
	}
}
