//go:build !windows

package agentmain

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/beadsctl/beadsctl/internal/agentapi"
)

// The jobs beadsctl hands over: alert test runs the alert's command with the
// sample on its stdin, an unknown alert is the answer's error; a flush of a
// server that is not there is the answer's error; an unknown job is refused.
func TestJobs(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "payload.json")
	job := agentapi.AlertTestJob{Alerts: []agentapi.AlertSpec{{Name: "file", On: []string{"crash_loop"}, Command: []string{"sh", "-c", "cat > " + out}, Dir: dir}}}
	var a agentapi.AlertTestAnswer
	runAs(t, agentapi.JobAlertTest, job, &a)
	if a.Error != "" || len(a.Results) != 1 || !a.Results[0].OK() || a.Results[0].Trigger != "crash_loop" {
		t.Fatalf("answer %+v", a)
	}
	if b, err := os.ReadFile(out); err != nil || !bytes.Contains(b, []byte(`"test":true`)) {
		t.Errorf("the command read %q (%v), want the sample", b, err)
	}
	job.Name = "nope"
	a = agentapi.AlertTestAnswer{}
	runAs(t, agentapi.JobAlertTest, job, &a)
	if a.Error != `no alert "nope" (the alerts are file)` || a.Results != nil {
		t.Errorf("unknown alert: %+v", a)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody listens there now
	var f agentapi.DoltFlushAnswer
	runAs(t, agentapi.JobDoltFlush, agentapi.DoltFlushJob{Addr: addr}, &f)
	if f.Error == "" || len(f.Committed) != 0 {
		t.Errorf("flush of nothing: %+v", f)
	}

	if err := runJob(t.Context(), "reboot", strings.NewReader("{}"), new(bytes.Buffer)); err == nil || err.Error() != `unknown job "reboot"` {
		t.Errorf("unknown job: %v", err)
	}
}

func runAs(t *testing.T, kind string, req, answer any) {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runJob(t.Context(), kind, bytes.NewReader(in), &out); err != nil {
		t.Fatalf("job %s: %v", kind, err)
	}
	if err := json.Unmarshal(out.Bytes(), answer); err != nil {
		t.Fatalf("job %s answered %q: %v", kind, out.Bytes(), err)
	}
}

// The daemons beadsctl hands over are read from a descriptor (from its
// start, whatever was read of it before, and not left to the daemons) or
// from a file, which is removed; without either, --foreground says what it
// is for.
func TestReadRun(t *testing.T) {
	want := agentapi.AgentRun{Specs: []agentapi.Spec{{Name: "web", Argv: []string{"sleep", "1"}}}, MetricsListen: "127.0.0.1:9", ResumeObservers: true}
	b, _ := json.Marshal(want)
	f, err := os.CreateTemp(t.TempDir(), "run")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil { // the offset is at its end now
		t.Fatal(err)
	}
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Setenv(agentapi.AgentRunEnv, "fd:"+strconv.Itoa(fd))
	got, err := readRun()
	if err != nil || got.Specs[0].Name != "web" || got.MetricsListen != want.MetricsListen || !got.ResumeObservers {
		t.Fatalf("from a descriptor: %+v, %v", got, err)
	}
	if _, ok := os.LookupEnv(agentapi.AgentRunEnv); ok {
		t.Errorf("%s is left for the daemons", agentapi.AgentRunEnv)
	}
	if err := syscall.Fstat(fd, new(syscall.Stat_t)); err == nil {
		t.Errorf("descriptor %d left open", fd)
	}

	path := filepath.Join(t.TempDir(), "run.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(agentapi.AgentRunEnv, path)
	if got, err := readRun(); err != nil || got.Specs[0].Name != "web" {
		t.Fatalf("from a file: %+v, %v", got, err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("the file is left")
	}

	os.Unsetenv(agentapi.AgentRunEnv)
	if _, err := readRun(); err == nil || !strings.Contains(err.Error(), "run beadsctl agent --foreground") {
		t.Errorf("without: %v", err)
	}
}

// beadsctl-agent runs for the beadsctl of its version, or by itself, and
// refuses another; the variable is not left for the daemons.
func TestVersionCheck(t *testing.T) {
	for _, tc := range []struct {
		env *string
		ok  bool
	}{{nil, true}, {ptr("1.2"), true}, {ptr("9.9.9"), false}} {
		if tc.env != nil {
			t.Setenv(agentapi.AgentVersionEnv, *tc.env)
		} else {
			os.Unsetenv(agentapi.AgentVersionEnv)
		}
		if got := checkVersion("1.2"); got != tc.ok {
			t.Errorf("%v: %v, want %v", tc.env, got, tc.ok)
		}
		if _, set := os.LookupEnv(agentapi.AgentVersionEnv); set {
			t.Errorf("%v: left set", tc.env)
		}
	}
}

func ptr(s string) *string { return &s }
