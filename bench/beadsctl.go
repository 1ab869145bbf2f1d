//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/beadsctl/beadsctl/supervisor"
)

// beadsctlTool drives beadsctl the way a user does: it writes beads.hcl in its
// folder and runs `beadsctl apply --auto-approve`, `stop`, `status --json`,
// `destroy --auto-approve`. It reads the agent's status straight from the
// control socket when it polls.
type beadsctlTool struct {
	bin  string
	path string // PATH for the commands (holds bd = the simulator)
	dir  string
	apps []App
	http *http.Client
	// agentPid is the last agent pid seen, killed by the harness if destroy leaves it.
	agentPid int
}

var _ Tool = (*beadsctlTool)(nil)

func newBeadsctl(bin, pathDir, dir string) *beadsctlTool {
	dir = mustMkdir(dir)
	sock := supervisor.SocketPath(dir)
	return &beadsctlTool{
		bin:  bin,
		path: pathDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		dir:  dir,
		http: &http.Client{
			Timeout: 5 * time.Second,
			Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			}},
		},
	}
}

func (b *beadsctlTool) Name() string { return "beadsctl" }

func (b *beadsctlTool) cmd(args ...string) *exec.Cmd {
	c := exec.Command(b.bin, args...)
	c.Dir = b.dir
	env := []string{"PATH=" + b.path}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "BEADSCTL_") {
			env = append(env, kv)
		}
	}
	c.Env = append(env, "NO_COLOR=1")
	return c
}

// hcl renders the declared apps as beads.hcl.
func (b *beadsctlTool) hcl() []byte {
	var s strings.Builder
	for _, a := range b.apps {
		fmt.Fprintf(&s, "daemon %q {\n", a.Name)
		fmt.Fprintf(&s, "  command = %q\n", a.Argv[0])
		if a.Dolt != nil {
			fmt.Fprintf(&s, "  dolt_server {\n    workspace = %q\n    port      = %d\n  }\n", a.Dolt.Workspace, a.Dolt.Port)
		} else {
			fmt.Fprintf(&s, "  args    = [%s]\n", quoteList(a.Argv[1:]))
			fmt.Fprintf(&s, "  dir     = %q\n", a.Dir)
		}
		if len(a.Env) > 0 {
			keys := make([]string, 0, len(a.Env))
			for k := range a.Env {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			s.WriteString("  environment = {\n")
			for _, k := range keys {
				fmt.Fprintf(&s, "    %s = %q\n", k, a.Env[k])
			}
			s.WriteString("  }\n")
		}
		policy := "always"
		if !a.Autorestart {
			policy = "never"
		}
		s.WriteString("  restart {\n")
		fmt.Fprintf(&s, "    policy       = %q\n", policy)
		fmt.Fprintf(&s, "    delay        = %q\n", a.RestartDelay.String())
		fmt.Fprintf(&s, "    backoff      = \"constant\"\n")
		fmt.Fprintf(&s, "    max_restarts = %d\n", a.MaxRestarts)
		fmt.Fprintf(&s, "    min_uptime   = %q\n", a.MinUptime.String())
		s.WriteString("  }\n")
		if a.MemoryLimit > 0 {
			fmt.Fprintf(&s, "  limits {\n    memory = \"%dK\"\n  }\n", a.MemoryLimit/1024)
		}
		for _, d := range a.DependsOn {
			fmt.Fprintf(&s, "  depends_on %q {\n    condition = %q\n  }\n", d.Name, d.Condition)
		}
		if len(a.HealthExec) > 0 {
			fmt.Fprintf(&s, "  health {\n    check    = \"exec\"\n    command  = [%s]\n    interval = \"10s\"\n    timeout  = \"2s\"\n  }\n", quoteList(a.HealthExec))
		}
		fmt.Fprintf(&s, "  stop {\n    signal  = \"SIGTERM\"\n    timeout = %q\n  }\n", a.KillTimeout.String())
		s.WriteString("  logs {\n")
		fmt.Fprintf(&s, "    out        = %q\n", orDevNull(a.Out))
		fmt.Fprintf(&s, "    error      = %q\n", orDevNull(a.Err))
		fmt.Fprintf(&s, "    timestamps = %t\n", a.Timestamps)
		if a.Timestamps {
			fmt.Fprintf(&s, "    date_format = %q\n", DateFormat)
		}
		s.WriteString("  }\n")
		s.WriteString("}\n\n")
	}
	return []byte(s.String())
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// writeConfig writes the declared apps to beads.hcl (without applying them).
func (b *beadsctlTool) writeConfig() error {
	return os.WriteFile(filepath.Join(b.dir, "beads.hcl"), b.hcl(), 0o644)
}

func (b *beadsctlTool) apply(ctx context.Context) error {
	if err := b.writeConfig(); err != nil {
		return err
	}
	_, err := run(ctx, b.cmd("apply", "--auto-approve"))
	return err
}

func (b *beadsctlTool) Start(ctx context.Context, apps ...App) error {
	b.apps = append(b.apps, apps...)
	return b.apply(ctx)
}

func (b *beadsctlTool) Remove(ctx context.Context, name string) error {
	b.apps = slices.DeleteFunc(b.apps, func(a App) bool { return a.Name == name })
	return b.apply(ctx)
}

func (b *beadsctlTool) Stop(ctx context.Context, name string) error {
	_, err := run(ctx, b.cmd("stop", name))
	return err
}

func (b *beadsctlTool) agentStatus(ctx context.Context) (*supervisor.AgentStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent/v1/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("agent status: %s", resp.Status)
	}
	var st supervisor.AgentStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("agent status: %w", err)
	}
	if st.Pid > 0 {
		b.agentPid = st.Pid
	}
	return &st, nil
}

func (b *beadsctlTool) SupervisorPid(ctx context.Context) (int, error) {
	st, err := b.agentStatus(ctx)
	if err != nil {
		return 0, err
	}
	return st.Pid, nil
}

func (b *beadsctlTool) Status(ctx context.Context) ([]AppState, error) {
	st, err := b.agentStatus(ctx)
	if err != nil {
		return nil, err
	}
	var out []AppState
	for _, d := range st.Daemons {
		out = append(out, AppState{Name: d.Name, Pid: d.Pid, State: string(d.State), Restarts: d.Restarts})
	}
	return out, nil
}

func (b *beadsctlTool) StatusCommand() *exec.Cmd { return b.cmd("status", "--json") }

func (b *beadsctlTool) Down(ctx context.Context) error {
	ctx, cancel := withTimeout(ctx, 30*time.Second)
	defer cancel()
	if !fileExists(filepath.Join(b.dir, "beads.hcl")) {
		return nil
	}
	_, err := run(ctx, b.cmd("destroy", "--auto-approve"))
	if b.agentPid > 0 {
		// destroy may return while the agent finishes exiting.
		if werr := waitGone(ctx, b.agentPid, 10*time.Second); err == nil {
			err = werr
		}
	}
	return err
}
