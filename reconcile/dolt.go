package reconcile

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/proc"
	"github.com/beadsctl/beadsctl/schema"
)

// This file is the bd 1.x side of observe, plan, drift and apply: the Dolt
// SQL server a dolt_server block declares, the files bd finds it by, rival
// servers on its data dir, and bd's own auto-start setting.

// Kinds of drift findings about Dolt servers.
const (
	KindDoltRival     = "dolt-rival"      // another dolt sql-server serves the data dir
	KindDoltFiles     = "dolt-files"      // dolt-server.pid/.port do not name our server
	KindDoltVersion   = "dolt-version"    // installed dolt differs from the running server
	KindDoltPortTaken = "dolt-port-taken" // the port is held by another program
	KindDoltMissing   = "dolt-missing"    // no dolt binary to run
	KindBdAutoStart   = "bd-auto-start"   // bd may still start (or kill) servers itself
)

// DoltLive is what Observe learnt of one dolt_server daemon's world.
type DoltLive struct {
	// Rivals are dolt sql-servers on the same data dir that are not our child.
	Rivals []bd.ServerProcess `json:"rivals,omitempty"`
	// PidFile and PortFile are what dolt-server.pid and .port say (0: missing).
	PidFile  int `json:"pid_file,omitempty"`
	PortFile int `json:"port_file,omitempty"`
	// Installed is `dolt version` of the binary on PATH, asked only while
	// our server runs and reports its own ("" otherwise, or when unknown);
	// Missing is set when there is none.
	Installed string `json:"installed,omitempty"`
	Missing   string `json:"missing,omitempty"`
	// PortHolder describes a process that is not ours listening on the port.
	PortHolder string `json:"port_holder,omitempty"`
}

// DoltProbes are the OS facts Observe gathers for Dolt servers.
type DoltProbes struct {
	FindServers func(ctx context.Context, dataDir string) ([]bd.ServerProcess, error)
	// Version runs `<dolt> version`.
	Version func(ctx context.Context, dolt string) (string, error)
	// PortFree reports whether host:port can be bound now.
	PortFree func(host string, port int) bool
}

// DefaultDoltProbes are the real ones.
func DefaultDoltProbes() DoltProbes {
	return DoltProbes{FindServers: bd.FindServers, Version: DoltVersion, PortFree: portFree}
}

// The ports beadsctl chooses from: below Linux's ephemeral range (32768 on),
// so that no outgoing connection takes one, and above the well-known servers.
const (
	autoPortBase  = 15000
	autoPortRange = 15000
	autoPortTries = 64
)

// ChoosePort is the port beadsctl gives a server on dataDir that nothing
// else names: the first free one from a start derived from the data dir, so
// that plan and apply choose the same port, and two projects rarely start
// from the same one (a taken port is skipped, never shared).
func ChoosePort(dataDir, host string, free func(host string, port int) bool) (int, error) {
	h := fnv.New32a()
	h.Write([]byte(dataDir))
	start := int(h.Sum32() % autoPortRange)
	for i := range autoPortTries {
		p := autoPortBase + (start+i)%autoPortRange
		if free == nil || free(host, p) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port among %d tried from %d: set port = ... in the dolt_server block", autoPortTries, autoPortBase+start)
}

var doltVersionRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`dolt version (\d+\.\d+\.\d+\S*)`) })

// DoltVersion runs `dolt version` (bounded: 5 s) and returns its semver.
func DoltVersion(ctx context.Context, dolt string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, dolt, "version")
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if m := doltVersionRe().FindSubmatch(out); m != nil {
		return string(m[1]), nil
	}
	if err == nil {
		err = fmt.Errorf("no version in %q", strings.TrimSpace(string(out)))
	}
	return "", err
}

func portFree(host string, port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// PinDoltPorts gives every dolt_server daemon that beads.hcl and bd's
// settings leave without a port the one it had at the last apply, so that the
// port stays the same across restarts and applies; one that never ran gets
// ChoosePort's. A port read from dolt-server.port yields to the applied one
// too: a rival may have written that file.
func PinDoltPorts(desired *schema.Config, st *State, pr DoltProbes) {
	for i := range desired.Daemons {
		d := &desired.Daemons[i]
		if d.Dolt == nil || (d.Dolt.PortSource != schema.PortAuto && d.Dolt.PortSource != schema.PortFromPortFile) {
			continue
		}
		if s, ok := st.Daemons[d.Name]; ok && s.Spec.Dolt != nil && s.Spec.Dolt.Port > 0 {
			d.SetPort(s.Spec.Dolt.Port, "kept from the last apply")
		} else if d.Dolt.Port == 0 {
			if p, err := ChoosePort(d.Dolt.DataDir, d.Dolt.Host, pr.PortFree); err == nil {
				d.SetPort(p, "chosen by beadsctl (free now; kept across applies)")
			}
		}
		d.Hash = st.digest(d.Hash) // SetPort hashed it again, unkeyed
	}
}

// observeDolt fills live.Dolt for the dolt_server daemons of desired.
func observeDolt(ctx context.Context, desired *schema.Config, live *Live, pr DoltProbes) {
	installed := map[string]DoltLive{}
	for i := range desired.Daemons {
		d := &desired.Daemons[i]
		if d.Dolt == nil {
			continue
		}
		a, running := live.Daemons[d.Name]
		ourPid := 0
		if running && live.AgentUp {
			ourPid = a.Pid
		}
		var dl DoltLive
		// `dolt version` starts the whole dolt binary (0.2-0.5 s and 110 MB
		// on a loaded 2-core machine): it is asked only when a server of ours
		// reports its version, the one finding that needs it, so that an
		// apply that starts the server does not wait for it first.
		askVersion := ourPid != 0 && a.Health.SQL != nil && a.Health.SQL.DoltVersion != ""
		if v, ok := installed[d.Command]; ok && (v.Installed != "" || v.Missing != "" || !askVersion) {
			dl.Installed, dl.Missing = v.Installed, v.Missing
		} else {
			if path, err := exec.LookPath(d.Command); err != nil {
				dl.Missing = fmt.Sprintf("%s is not on PATH (install Dolt: `make dolt` in a beadsctl checkout, or https://docs.dolthub.com/introduction/installation)", d.Command)
			} else if askVersion && pr.Version != nil {
				dl.Installed, _ = pr.Version(ctx, path)
			}
			installed[d.Command] = dl
		}
		dl.PidFile, dl.PortFile = bd.ServerFiles{Dir: d.Dolt.ServerDir}.Read()
		if pr.FindServers != nil {
			servers, _ := pr.FindServers(ctx, d.Dolt.DataDir)
			for _, sp := range servers {
				if sp.Pid != ourPid {
					dl.Rivals = append(dl.Rivals, sp)
				}
			}
		}
		if ourPid == 0 && len(dl.Rivals) == 0 && d.Dolt.Port > 0 && pr.PortFree != nil && !pr.PortFree(d.Dolt.Host, d.Dolt.Port) {
			dl.PortHolder = fmt.Sprintf("another program listens on %s:%d", d.Dolt.Host, d.Dolt.Port)
		}
		if live.Dolt == nil {
			live.Dolt = map[string]DoltLive{}
		}
		live.Dolt[d.Name] = dl
	}
}

// doltFindings are the drift findings about Dolt servers.
func doltFindings(desired *schema.Config, live *Live) []Finding {
	var out []Finding
	for i := range desired.Daemons {
		d := &desired.Daemons[i]
		dl, ok := live.Dolt[d.Name]
		if d.Dolt == nil || !ok {
			continue
		}
		a, running := live.Daemons[d.Name]
		running = running && live.AgentUp && a.Pid > 0
		if dl.Missing != "" {
			out = append(out, Finding{Kind: KindDoltMissing, Daemon: d.Name, Expected: "a dolt binary to run", Actual: dl.Missing})
		}
		for _, r := range dl.Rivals {
			out = append(out, Finding{Kind: KindDoltRival, Daemon: d.Name, Expected: "no dolt sql-server but ours on " + d.Dolt.DataDir,
				Actual: rivalString(r)})
		}
		if dl.PortHolder != "" {
			out = append(out, Finding{Kind: KindDoltPortTaken, Daemon: d.Name, Expected: fmt.Sprintf("port %d free for the server", d.Dolt.Port),
				Actual: dl.PortHolder + ": free it, or set port = ... in the dolt_server block"})
		}
		if running {
			files := bd.ServerFiles{Dir: d.Dolt.ServerDir}
			if dl.PidFile != a.Pid {
				out = append(out, Finding{Kind: KindDoltFiles, Daemon: d.Name, Expected: fmt.Sprintf("%s names pid %d (ours)", files.PidPath(), a.Pid),
					Actual: fileSays(dl.PidFile, "pid")})
			}
			if a.Dolt != nil && dl.PortFile != a.Dolt.Port {
				out = append(out, Finding{Kind: KindDoltFiles, Daemon: d.Name, Expected: fmt.Sprintf("%s says %d (ours)", files.PortPath(), a.Dolt.Port),
					Actual: fileSays(dl.PortFile, "port")})
			}
			if v := a.Health.SQL; v != nil && v.DoltVersion != "" && dl.Installed != "" && v.DoltVersion != dl.Installed {
				out = append(out, Finding{Kind: KindDoltVersion, Daemon: d.Name, Expected: "dolt " + dl.Installed + " (installed)",
					Actual: "the server runs dolt " + v.DoltVersion})
			}
		}
		for _, p := range d.Dolt.Workspaces {
			if p.BdAutoStart {
				f := Finding{Kind: KindBdAutoStart, Daemon: d.Name, Expected: "dolt.auto-start: false in " + p.BeadsDir + "/config.yaml",
					Actual: "bd may start its own server when ours is down, and kill servers it does not know: set disable_bd_auto_start = true in the dolt_server block (apply then writes it)", Info: true}
				if d.Dolt.DisableBdAutoStart {
					f.Actual, f.Info = "auto-start is on; apply writes dolt.auto-start: false", true
				}
				out = append(out, f)
			}
		}
	}
	return out
}

func fileSays(n int, what string) string {
	if n == 0 {
		return "the file is missing"
	}
	return fmt.Sprintf("it says %s %d", what, n)
}

func rivalString(r bd.ServerProcess) string {
	s := fmt.Sprintf("dolt sql-server pid %d", r.Pid)
	if r.Port > 0 {
		s += fmt.Sprintf(" on port %d", r.Port)
	}
	if !r.StartTime.IsZero() {
		s += ", started " + r.StartTime.UTC().Format(time.RFC3339)
	}
	return s + " (not ours: started by bd or by hand)"
}

// ConfigEdit is a change apply makes to a file bd reads (not a daemon).
type ConfigEdit struct {
	// Daemon is the dolt_server daemon the edit is for (plan -target keeps
	// the edits of its targets only).
	Daemon string `json:"daemon,omitempty"`
	Path   string `json:"path"`
	Key    string `json:"key"`
	Before string `json:"before"`
	After  string `json:"after"`
	Reason string `json:"reason"`
}

// doltEdits are the config.yaml edits a plan offers: dolt.auto-start: false
// where a dolt_server asks for it and bd's setting is still on.
func doltEdits(desired *schema.Config) []ConfigEdit {
	var out []ConfigEdit
	for i := range desired.Daemons {
		d := &desired.Daemons[i]
		if d.Dolt == nil || !d.Dolt.DisableBdAutoStart {
			continue
		}
		for _, p := range d.Dolt.Workspaces {
			if p.BdAutoStart {
				out = append(out, ConfigEdit{Daemon: d.Name, Path: p.BeadsDir + "/config.yaml", Key: "dolt.auto-start", Before: "(on)", After: "false",
					Reason: fmt.Sprintf("daemon %q supervises this workspace's Dolt server: bd must not start a rival or kill it", d.Name)})
			}
		}
	}
	return out
}

// applyEdits writes the config edits of a plan.
func applyEdits(edits []ConfigEdit, write bd.WriteFunc) error {
	for _, e := range edits {
		if e.Key != "dolt.auto-start" {
			continue
		}
		dir := strings.TrimSuffix(e.Path, "/config.yaml")
		if _, err := bd.SetAutoStartOff(dir, write); err != nil {
			return fmt.Errorf("set dolt.auto-start: false in %s: %w", e.Path, err)
		}
	}
	return nil
}

// StopDoltRival takes over a rival dolt sql-server: it proves the pid is
// still the process Observe saw (a dolt sql-server with that start time),
// flushes its working set, sends SIGTERM through internal/proc (identity
// checked at the signal), waits up to timeout, then SIGKILL, and removes bd's
// files when they name it. A process whose start time is unknown is never
// signalled; a flush that fails stops nothing (flush runs it: nil refuses
// to stop a server with a port).
func StopDoltRival(ctx context.Context, r bd.ServerProcess, serverDir, host, user string, timeout time.Duration, flush bd.FlushFunc) (bd.FlushResult, error) {
	h := proc.Handle{Pid: r.Pid, Start: r.StartTime.Truncate(time.Millisecond)}
	if r.StartTime.IsZero() {
		return bd.FlushResult{}, fmt.Errorf("pid %d: its start time is unknown, so it is not proven to be the server seen; stop it by hand (bd dolt stop)", r.Pid)
	}
	if cur, ok := bd.InspectServer(ctx, r.Pid); !ok || h.Verify() != nil || !cur.StartTime.Equal(r.StartTime) {
		return bd.FlushResult{}, fmt.Errorf("pid %d is no longer the dolt sql-server seen (exited or recycled); run plan again", r.Pid)
	}
	var res bd.FlushResult
	if r.Port > 0 {
		if flush == nil {
			return res, fmt.Errorf("pid %d: no way to flush its working set here, so it is not stopped; stop it by hand (bd dolt stop)", r.Pid)
		}
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var err error
		res, err = flush(fctx, bd.SQLTarget{Addr: net.JoinHostPort(host, strconv.Itoa(r.Port)), User: user})
		cancel()
		if err != nil {
			return res, fmt.Errorf("flush pid %d before the stop: %w (nothing was stopped)", r.Pid, err)
		}
	}
	if err := h.Signal(syscall.SIGTERM); err != nil {
		if errors.Is(err, proc.ErrGone) {
			return res, nil
		}
		return res, fmt.Errorf("signal pid %d: %w", r.Pid, err)
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	err := h.WaitGone(wctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if err := h.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, proc.ErrGone) {
			return res, fmt.Errorf("SIGKILL pid %d: %w", r.Pid, err)
		}
		kctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = h.WaitGone(kctx)
		cancel()
		if err != nil {
			return res, fmt.Errorf("pid %d survived SIGKILL: %w", r.Pid, err)
		}
	}
	files := bd.ServerFiles{Dir: serverDir}
	if pid, _ := files.Read(); pid == r.Pid {
		_ = files.Remove(r.Pid)
	}
	return res, nil
}

// doltSpec is the supervisor's part of a dolt_server daemon.
func doltSpec(d schema.Daemon) (*agentapi.DoltSpec, *agentapi.SQLHealth) {
	var h *agentapi.SQLHealth
	if d.Health.SQL != nil {
		h = &agentapi.SQLHealth{Address: d.Health.SQL.Address, User: d.Health.SQL.User}
		for _, db := range d.Health.SQL.Databases {
			h.Databases = append(h.Databases, bd.Database{Name: db.Name, ProjectID: db.ProjectID})
		}
	}
	if d.Dolt == nil {
		return nil, h
	}
	return &agentapi.DoltSpec{ServerDir: d.Dolt.ServerDir, Host: d.Dolt.Host, Port: d.Dolt.Port, User: d.Dolt.User}, h
}

func declaredDaemon(desired *schema.Config, name string) *schema.Daemon {
	for i := range desired.Daemons {
		if desired.Daemons[i].Name == name {
			return &desired.Daemons[i]
		}
	}
	return nil
}

// replaceDoltRivals stops every rival server of d (apply --replace-unmanaged):
// flushed, identity proven, SIGTERM then SIGKILL; ours then starts on d's port.
func replaceDoltRivals(ctx context.Context, d *schema.Daemon, dl DoltLive, flush bd.FlushFunc, progress func(Progress)) error {
	if d == nil || d.Dolt == nil {
		return nil
	}
	for _, r := range dl.Rivals {
		progress(Progress{Daemon: d.Name, Step: "replacing-unmanaged", Detail: rivalString(r)})
		res, err := StopDoltRival(ctx, r, d.Dolt.ServerDir, d.Dolt.Host, d.Dolt.User, 5*time.Second, flush)
		if err != nil {
			return fmt.Errorf("replace the rival dolt sql-server pid %d: %w", r.Pid, err)
		}
		if len(res.Committed) > 0 {
			progress(Progress{Daemon: d.Name, Step: "flushed", Detail: "committed the working set of " + strings.Join(res.Committed, ", ")})
		}
	}
	return nil
}

// doltAttrs are the plan attributes of a dolt_server daemon (and of a sql
// check): what bd derives, with where the port came from.
func doltAttrs(d *schema.Daemon) []attr {
	var out []attr
	if ds := d.Dolt; ds != nil {
		// PortSource is not shown: it is not applied state, and would read as
		// a change between a plan and the apply after it.
		port := strconv.Itoa(ds.Port)
		out = append(out,
			attr{"dolt_server.workspace", strconv.Quote(ds.Workspace), true},
			attr{"dolt_server.shared", strconv.FormatBool(ds.Shared), true},
			attr{"dolt_server.server_dir", strconv.Quote(ds.ServerDir), true},
			attr{"dolt_server.port", port, true},
			attr{"dolt_server.disable_bd_auto_start", strconv.FormatBool(ds.DisableBdAutoStart), false},
		)
	}
	if h := d.Health.SQL; h != nil {
		var dbs []string
		for _, db := range h.Databases {
			s := db.Name
			if db.ProjectID != "" {
				s += " (project " + db.ProjectID + ")"
			}
			dbs = append(dbs, s)
		}
		out = append(out,
			attr{"health.sql.address", strconv.Quote(h.Address), false},
			attr{"health.sql.databases", strconv.Quote(strings.Join(dbs, ", ")), false},
		)
	}
	return out
}
