package reconcile

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/schema"
)

func doltDaemon(dir string) schema.Daemon {
	d := schema.Daemon{Name: "dolt", Command: "dolt", Root: dir,
		Dolt: &schema.DoltServer{Workspace: dir, ServerDir: dir + "/.beads", DataDir: dir + "/.beads/dolt", Host: "127.0.0.1",
			PortSource: schema.PortAuto, User: "root",
			Workspaces: []schema.DoltProject{{Workspace: dir, BeadsDir: dir + "/.beads", Database: "demo", ProjectID: "p-1", BdAutoStart: true}}},
		Health: schema.Health{Check: "sql", SQL: &schema.SQLCheck{}}}
	d.Hash = schema.HashDaemon(&d)
	return d
}

func TestChoosePortIsStableAndSkipsTaken(t *testing.T) {
	free := func(string, int) bool { return true }
	a, err := ChoosePort("/p/.beads/dolt", "127.0.0.1", free)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := ChoosePort("/p/.beads/dolt", "127.0.0.1", free); a != b || a < autoPortBase || a >= autoPortBase+autoPortRange {
		t.Fatalf("ports %d and %d for the same data dir", a, b)
	}
	taken := func(_ string, p int) bool { return p != a }
	if c, _ := ChoosePort("/p/.beads/dolt", "127.0.0.1", taken); c == a {
		t.Fatalf("a taken port %d was chosen", a)
	}
	if _, err := ChoosePort("/p", "127.0.0.1", func(string, int) bool { return false }); err == nil || !strings.Contains(err.Error(), "set port") {
		t.Fatalf("all taken: %v", err)
	}
}

func TestPinDoltPortsKeepsTheAppliedPort(t *testing.T) {
	dir := t.TempDir()
	cfg := &schema.Config{Dir: dir, Daemons: []schema.Daemon{doltDaemon(dir)}}
	applied := doltDaemon(dir)
	applied.Dolt.Port = 15555
	st := &State{Daemons: map[string]DaemonState{"dolt": {Spec: applied}}}
	PinDoltPorts(cfg, st, DoltProbes{PortFree: func(string, int) bool { return true }})
	d := cfg.Daemons[0]
	if d.Dolt.Port != 15555 || d.Args[4] != "15555" || d.Health.SQL.Address != "127.0.0.1:15555" {
		t.Fatalf("pinned %d %q %q", d.Dolt.Port, d.Args, d.Health.SQL.Address)
	}

	// Never applied: the deterministic choice, the same in plan and apply.
	cfg2 := &schema.Config{Dir: dir, Daemons: []schema.Daemon{doltDaemon(dir)}}
	cfg3 := &schema.Config{Dir: dir, Daemons: []schema.Daemon{doltDaemon(dir)}}
	pr := DoltProbes{PortFree: func(string, int) bool { return true }}
	PinDoltPorts(cfg2, &State{}, pr)
	PinDoltPorts(cfg3, &State{}, pr)
	if cfg2.Daemons[0].Dolt.Port == 0 || cfg2.Daemons[0].Hash != cfg3.Daemons[0].Hash {
		t.Fatalf("auto ports differ: %d %d", cfg2.Daemons[0].Dolt.Port, cfg3.Daemons[0].Dolt.Port)
	}
}

func TestDoltFindingsAndBlocking(t *testing.T) {
	dir := t.TempDir()
	d := doltDaemon(dir)
	d.SetPort(15001, "test")
	d.Command = "/nonexistent/dolt"
	cfg := &schema.Config{Dir: dir, Daemons: []schema.Daemon{d}}
	rival := bd.ServerProcess{Pid: 4242, Port: 15001, DataDir: d.Dolt.DataDir, StartTime: time.UnixMilli(1700000000000)}
	pr := DoltProbes{
		FindServers: func(context.Context, string) ([]bd.ServerProcess, error) { return []bd.ServerProcess{rival}, nil },
		PortFree:    func(string, int) bool { return false },
	}
	live := &Live{State: &State{}, Daemons: map[string]agentapi.Status{}}
	observeDolt(t.Context(), cfg, live, pr)
	fs := doltFindings(cfg, live)
	kinds := map[string]string{}
	for _, f := range fs {
		kinds[f.Kind] = f.Actual
	}
	if !strings.Contains(kinds[KindDoltMissing], "not on PATH") || !strings.Contains(kinds[KindDoltRival], "pid 4242 on port 15001") {
		t.Fatalf("findings %+v", fs)
	}
	if _, ok := kinds[KindDoltPortTaken]; ok {
		t.Fatalf("a rival on the port is a rival, not another program: %+v", fs)
	}
	if !strings.Contains(kinds[KindBdAutoStart], "disable_bd_auto_start") {
		t.Fatalf("no auto-start finding: %+v", fs)
	}
	p := &Plan{Drift: fs}
	if b := p.Blocking(); len(b) != 2 {
		t.Fatalf("blocking %+v", b)
	}
	msg := (&UnmanagedError{Found: p.Blocking()}).Error()
	if !strings.Contains(msg, "replace-unmanaged") || !strings.Contains(msg, "not on PATH") {
		t.Fatalf("refusal %q", msg)
	}

	// Without a rival, a taken port is another program's.
	pr.FindServers = func(context.Context, string) ([]bd.ServerProcess, error) { return nil, nil }
	live = &Live{State: &State{}, Daemons: map[string]agentapi.Status{}}
	observeDolt(t.Context(), cfg, live, pr)
	found := false
	for _, f := range doltFindings(cfg, live) {
		found = found || f.Kind == KindDoltPortTaken && strings.Contains(f.Actual, "127.0.0.1:15001")
	}
	if !found {
		t.Fatalf("no port-taken finding: %+v", doltFindings(cfg, live))
	}
}

func TestDoltFilesFindings(t *testing.T) {
	dir := t.TempDir()
	d := doltDaemon(dir)
	d.SetPort(15002, "test")
	d.Command = "sh"
	cfg := &schema.Config{Dir: dir, Daemons: []schema.Daemon{d}}
	if err := os.MkdirAll(d.Dolt.ServerDir, 0o700); err != nil {
		t.Fatal(err)
	}
	files := bd.ServerFiles{Dir: d.Dolt.ServerDir}
	if err := files.Write(999, 16000, writeTestFile); err != nil {
		t.Fatal(err)
	}
	live := &Live{AgentUp: true, State: &State{}, Daemons: map[string]agentapi.Status{
		"dolt": {Name: "dolt", State: agentapi.StateOnline, Pid: 123, Dolt: &agentapi.DoltStatus{Port: 15002}}}}
	observeDolt(t.Context(), cfg, live, DoltProbes{})
	var got []string
	for _, f := range doltFindings(cfg, live) {
		if f.Kind == KindDoltFiles {
			got = append(got, f.Actual)
		}
	}
	if len(got) != 2 || got[0] != "it says pid 999" || got[1] != "it says port 16000" {
		t.Fatalf("dolt-files findings %q", got)
	}
}

func TestDoltEditsOnlyWhenAsked(t *testing.T) {
	dir := t.TempDir()
	d := doltDaemon(dir)
	cfg := &schema.Config{Dir: dir, Daemons: []schema.Daemon{d}}
	if e := doltEdits(cfg); len(e) != 0 {
		t.Fatalf("edits without disable_bd_auto_start: %+v", e)
	}
	cfg.Daemons[0].Dolt.DisableBdAutoStart = true
	e := doltEdits(cfg)
	if len(e) != 1 || e[0].Key != "dolt.auto-start" || e[0].After != "false" {
		t.Fatalf("edits %+v", e)
	}
}

func writeTestFile(path string, data []byte, perm os.FileMode) error {
	return os.WriteFile(path, data, perm)
}

// `dolt version` starts the whole dolt binary (0.2-0.5 s on this machine):
// Observe asks it only when a server of ours reports its version, the one
// finding that needs it. Before, every plan and every apply that started the
// server waited for it first.
func TestObserveAsksDoltVersionOnlyForARunningServer(t *testing.T) {
	exe, err := os.Executable() // a command that exists
	if err != nil {
		t.Fatal(err)
	}
	d := doltDaemon(t.TempDir())
	d.SetPort(15001, "test")
	d.Command = exe
	cfg := &schema.Config{Dir: d.Root, Daemons: []schema.Daemon{d}}
	calls := 0
	pr := Probes{Dolt: DoltProbes{Version: func(context.Context, string) (string, error) { calls++; return "1.88.1", nil }}}

	// Nothing runs: no `dolt version`.
	live := Observe(t.Context(), cfg, nil, nil, pr)
	if calls != 0 {
		t.Fatalf("dolt version ran %d times with no server running", calls)
	}
	if dl := live.Dolt["dolt"]; dl.Installed != "" || dl.Missing != "" {
		t.Fatalf("live dolt: %+v", dl)
	}

	// Our server runs and reports another version: asked once, and drift says so.
	agent := statusOf(agentapi.Status{Name: "dolt", Pid: 4242, State: agentapi.StateOnline,
		Dolt:   &agentapi.DoltStatus{Port: 15001},
		Health: agentapi.HealthStatus{Status: "healthy", SQL: &bd.SQLReport{DoltVersion: "1.88.0"}}})
	live = Observe(t.Context(), cfg, nil, agent, pr)
	if calls != 1 || live.Dolt["dolt"].Installed != "1.88.1" {
		t.Fatalf("dolt version calls %d, installed %q; want 1, 1.88.1", calls, live.Dolt["dolt"].Installed)
	}
	found := false
	for _, f := range doltFindings(cfg, live) {
		if f.Kind == KindDoltVersion {
			found = f.Expected == "dolt 1.88.1 (installed)" && f.Actual == "the server runs dolt 1.88.0"
		}
	}
	if !found {
		t.Fatalf("no %s finding: %+v", KindDoltVersion, doltFindings(cfg, live))
	}
}

// statusOf is an agent that reports one daemon.
type statusOf agentapi.Status

func (s statusOf) Status(context.Context) (agentapi.AgentStatus, error) {
	return agentapi.AgentStatus{Pid: 1, Daemons: []agentapi.Status{agentapi.Status(s)}}, nil
}
