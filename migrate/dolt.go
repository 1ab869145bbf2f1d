package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/doltsql"
	"github.com/beadsctl/beadsctl/internal/plural"
	"github.com/beadsctl/beadsctl/internal/tailbuf"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
	"github.com/beadsctl/beadsctl/supervisor"
)

// This file is the bd 1.x half of migrate: a workspace in server mode whose
// Dolt SQL server bd started itself (`bd dolt start`, or a bd command's
// auto-start), detached and unsupervised. It moves under beadsctl on the same
// port, so that every bd client keeps working:
//
//	detect   the server: dolt-server.pid naming a live dolt sql-server on the
//	         workspace's data dir (bd.InspectServer), and any other server on
//	         that data dir (bd.FindServers: a double start's orphans)
//	flush    commit its working set (bd.Flush, as bd dolt stop does)
//	write    beads.hcl: a dolt_server block with port = the old server's port
//	auto-start  dolt.auto-start: false in .beads/config.yaml (unless kept)
//	stop     flushed again, identity proven, SIGTERM then SIGKILL (reconcile.StopDoltRival)
//	apply    the same apply as the rest of migrate
//	verify   exactly one dolt sql-server on the data dir, ours, bd's files name
//	         it on the old port, and `bd list` works with auto-start off
//
// Everything before the stop is undone when a later step before the stop
// fails (beads.hcl removed, config.yaml restored): the old server never
// stopped, nothing changed. After the stop, a failure says how to go back
// (`bd dolt start`).

// DoltSource is a bd 1.x workspace in server mode and the Dolt SQL server
// that serves it outside beadsctl.
type DoltSource struct {
	Workspace string `json:"workspace"`
	// ServerDir holds bd's dolt-server.{pid,port,lock,log}; DataDir is the
	// server's working directory.
	ServerDir string `json:"server_dir"`
	DataDir   string `json:"data_dir"`
	Host      string `json:"host"`
	User      string `json:"user"`
	Database  string `json:"database"`
	ProjectID string `json:"project_id,omitempty"`
	// Server is the dolt sql-server bd started (nil when none runs: a
	// workspace in server mode with its server down is a valid source too).
	Server *bd.ServerProcess `json:"server,omitempty"`
	// Via says how Server was found: "dolt-server.pid", or "data dir" when no
	// pid file names it (an orphan bd lost track of).
	Via string `json:"via,omitempty"`
	// Others are further dolt sql-servers on DataDir (a double start leaves
	// one orphaned): stopped as well, each flushed and its identity proven.
	Others []bd.ServerProcess `json:"others,omitempty"`
	// Port is the port the supervised server gets: the old server's (0 when
	// none runs: then bd's settings or beadsctl choose it). PortSource says
	// where it was read.
	Port       int    `json:"port,omitempty"`
	PortSource string `json:"port_source,omitempty"`
	// PidFile and PortFile are what bd's files say (0 when missing).
	PidFile  int `json:"pid_file,omitempty"`
	PortFile int `json:"port_file,omitempty"`
	// BdAutoStart is true while config.yaml lets bd start (and kill) servers.
	BdAutoStart bool `json:"bd_auto_start"`
}

func (s *DoltSource) String() string {
	if s.Server == nil {
		return "no Dolt server runs for " + s.DataDir
	}
	return fmt.Sprintf("bd's Dolt server pid %d on port %d (via %s), data dir %s, started %s",
		s.Server.Pid, s.Port, s.Via, s.DataDir, s.Server.StartTime.UTC().Format(time.RFC3339))
}

// defaultDoltName is the daemon name of the beads.hcl migrate writes.
const defaultDoltName = "dolt"

// detectDolt fills d.Dolt when dir is a bd 1.x workspace in server mode. It
// changes nothing. A workspace that is not one is no error (nothing of bd
// 1.x to migrate); one that cannot be read, or whose server cannot be told
// apart from another's, is.
func detectDolt(ctx context.Context, o Options, d *Detection) error {
	ws, err := bd.ReadWorkspace(o.Dir, o.env("HOME"))
	if errors.Is(err, bd.ErrNotWorkspace) {
		return nil
	}
	if err != nil {
		return err
	}
	if ws.Mode != "server" {
		if v := d.Installed; v != "" && bd1x(v) {
			return fmt.Errorf("%s is a bd %s workspace in embedded mode: bd opens its database in-process, so there is no server or daemon to supervise (bd 1.x has no `bd daemon`). "+
				"For several writers, use server mode (`bd init --server`) and run beadsctl migrate again", o.Dir, v)
		}
		return nil
	}
	if ws.Shared {
		return fmt.Errorf("%s uses bd's shared Dolt server (%s), which serves every workspace of the machine: beadsctl migrate moves one workspace's server; declare the shared one by hand (dolt_server { shared = true }, see the README)", o.Dir, ws.ServerDir)
	}
	src := &DoltSource{Workspace: o.Dir, ServerDir: ws.ServerDir, DataDir: ws.DataDir, Host: ws.Host, User: ws.User,
		Database: ws.Database, ProjectID: ws.ProjectID, BdAutoStart: ws.AutoStart}
	files := bd.ServerFiles{Dir: ws.ServerDir}
	src.PidFile, src.PortFile = files.Read()
	if src.PidFile > 0 {
		sp, ok := bd.InspectServer(ctx, src.PidFile)
		switch {
		case !ok:
			// bd itself deletes such files as stale at its next command.
			for _, p := range []string{files.PidPath(), files.PortPath()} {
				if exists(p) {
					d.StaleFiles = append(d.StaleFiles, p)
				}
			}
		case !bd.SameDir(sp.DataDir, ws.DataDir):
			return fmt.Errorf("%s names pid %d, a dolt sql-server serving %s, not this workspace's data dir %s: it is not this workspace's server, so migrate does not stop it; "+
				"fix or remove %s (bd dolt status shows what bd sees) and run beadsctl migrate again", files.PidPath(), sp.Pid, sp.DataDir, ws.DataDir, files.PidPath())
		default:
			src.Server, src.Via = &sp, bd.ServerPidFile
		}
	}
	servers, err := bd.FindServers(ctx, ws.DataDir)
	if err != nil {
		return fmt.Errorf("list dolt sql-servers: %w", err)
	}
	for _, sp := range servers {
		switch {
		case src.Server != nil && sp.Pid == src.Server.Pid:
		case src.Server == nil:
			sp := sp
			src.Server, src.Via = &sp, "data dir"
		default:
			src.Others = append(src.Others, sp)
		}
	}
	if s := src.Server; s != nil {
		switch {
		case s.Port > 0:
			src.Port, src.PortSource = s.Port, "its command line"
			if src.PortFile > 0 && src.PortFile != s.Port {
				src.PortSource += fmt.Sprintf(" (%s says %d)", bd.ServerPortFile, src.PortFile)
			}
		case src.PortFile > 0 && src.Via == bd.ServerPidFile:
			src.Port, src.PortSource = src.PortFile, bd.ServerPortFile
		default:
			return fmt.Errorf("the port of dolt sql-server pid %d is unknown (no -P on its command line, no %s): stop it with bd dolt stop and run beadsctl migrate again", s.Pid, files.PortPath())
		}
		if s.StartTime.IsZero() {
			return fmt.Errorf("dolt sql-server pid %d: its start time is unknown, so it cannot be proven to be the server seen when it is stopped; stop it with bd dolt stop and run beadsctl migrate again", s.Pid)
		}
		managed, err := managedBy(ctx, o.Dir, s.Pid)
		if err != nil {
			return err
		}
		d.Managed = managed
	}
	d.Dolt = src
	return nil
}

// bd1x reports whether bd version v has no daemon (v0.50 removed it).
func bd1x(v string) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return err1 == nil && err2 == nil && (major >= 1 || minor >= 50)
}

// doltConfig is the beads.hcl migrate writes for a bd 1.x workspace.
func doltConfig(src *DoltSource, o Options) ([]byte, string) {
	var b strings.Builder
	b.WriteString("# beads.hcl: written by beadsctl migrate for this workspace's bd 1.x Dolt server.\n")
	if src.Server != nil {
		fmt.Fprintf(&b, "# It replaces the server bd started (pid %d), on the same port.\n", src.Server.Pid)
	}
	fmt.Fprintf(&b, "daemon %q {\n  dolt_server {\n    workspace = \".\"\n", defaultDoltName)
	if src.Port > 0 {
		fmt.Fprintf(&b, "    port      = %d # bd's server's port: every bd client keeps working\n", src.Port)
	}
	if !o.KeepBdAutoStart {
		b.WriteString("    # dolt.auto-start: false in .beads/config.yaml: bd never starts a rival\n" +
			"    # server while this one restarts, nor kills it.\n" +
			"    disable_bd_auto_start = true\n")
	}
	b.WriteString("  }\n  limits { memory = \"2G\" } # bd's unsupervised servers were seen at 2 GB each\n}\n")
	detail := fmt.Sprintf("%s with dolt_server %q", o.Config, defaultDoltName)
	if src.Port > 0 {
		detail += fmt.Sprintf(" on port %d (the old server's)", src.Port)
	} else {
		detail += " (port: bd's setting, or chosen by beadsctl and kept)"
	}
	if !o.KeepBdAutoStart {
		detail += ", disable_bd_auto_start = true"
	}
	return []byte(b.String()), detail
}

// doltDaemon is the daemon of cfg that serves src's data dir.
func doltDaemon(cfg *schema.Config, src *DoltSource) *schema.Daemon {
	for i := range cfg.Daemons {
		if d := &cfg.Daemons[i]; d.Dolt != nil && bd.SameDir(d.Dolt.DataDir, src.DataDir) {
			return d
		}
	}
	return nil
}

// checkDoltConfig refuses, before anything changes, a beads.hcl that would
// not take over src's server on its port.
func checkDoltConfig(cfg *schema.Config, src *DoltSource) (*schema.Daemon, error) {
	d := doltDaemon(cfg, src)
	if d == nil {
		return nil, fmt.Errorf("beads.hcl declares no dolt_server for %s: add daemon %q { dolt_server { workspace = \".\" } } (beadsctl migrate writes one when there is no beads.hcl)", src.DataDir, defaultDoltName)
	}
	if src.Port > 0 && d.Dolt.Port != src.Port && d.Dolt.PortSource != schema.PortAuto {
		return nil, fmt.Errorf("daemon %q would serve port %d (%s), bd's server serves %d: set port = %d in its dolt_server block, so that every bd client keeps working", d.Name, d.Dolt.Port, d.Dolt.PortSource, src.Port, src.Port)
	}
	return d, nil
}

// runDolt is Run for a bd 1.x workspace (det.Dolt set).
func runDolt(ctx context.Context, o Options, det Detection, r *Report, step func(Step), fail func(name, resume string, err error) (*Report, error)) (*Report, error) {
	src := det.Dolt
	if lookPath("bd", o.env("PATH")) == "bd" {
		return fail("detect", "nothing was changed", errors.New("bd is not on PATH: migrate proves the new server with a bd command (bd list); put bd on PATH and run beadsctl migrate again"))
	}
	switch {
	case det.Managed:
		step(Step{Name: "detect", OK: true, Detail: fmt.Sprintf("beadsctl already runs the Dolt server of this workspace (pid %d, port %d); nothing to stop", src.Server.Pid, src.Port)})
	case src.Server != nil:
		detail := "found " + src.String()
		if n := len(src.Others); n > 0 {
			detail += fmt.Sprintf("; %d more on the same data dir (pid %s), stopped too", n, pids(src.Others))
		}
		step(Step{Name: "detect", OK: true, Detail: detail})
	default:
		step(Step{Name: "detect", OK: true, Detail: "bd 1.x workspace in server mode, no Dolt server runs for " + src.DataDir + "; nothing to stop"})
	}
	stopping := src.Server != nil && !det.Managed
	before := "nothing was changed"
	if stopping {
		before = "nothing was changed: bd's server still runs"
	}

	// beads.hcl: planned (validated from a temporary copy) now, written
	// after the flush.
	var planned []byte
	var cfg *schema.Config
	name := "write beads.hcl"
	writeDetail := o.Config + " exists; kept as it is"
	if !det.ConfigExists {
		planned, writeDetail = doltConfig(src, o)
	}
	cfg, err := loadConfig(o, planned, true)
	if err != nil {
		return fail("validate beads.hcl", before+"; fix beads.hcl (beadsctl validate) and run beadsctl migrate again", err)
	}
	d, err := checkDoltConfig(cfg, src)
	if err != nil {
		return fail("validate beads.hcl", before, err)
	}

	var undo []func() error
	rollback := func(name string, err error) (*Report, error) {
		var undone []string
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](); uerr != nil {
				err = fmt.Errorf("%w; undo: %v", err, uerr)
			}
		}
		if len(undo) > 0 {
			undone = append(undone, "what migrate had written was undone")
			r.Wrote = ""
		}
		return fail(name, strings.Join(append([]string{before}, undone...), "; ")+"; fix the error and run beadsctl migrate again", err)
	}

	// flush
	target := bd.SQLTarget{Addr: net.JoinHostPort(src.Host, strconv.Itoa(src.Port)), User: src.User}
	if stopping {
		if o.DryRun {
			step(Step{Name: "flush", OK: true, Detail: fmt.Sprintf("commit the working set of every database on %s (bd dolt stop's flush); a flush that fails stops nothing", target.Addr)})
		} else {
			fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			res, err := doltsql.Flush(fctx, target)
			cancel()
			r.Flushed = res.Committed
			if err != nil {
				return fail("flush", before+"; see the server's log (.beads/dolt-server.log), then run beadsctl migrate again", err)
			}
			detail := "nothing to commit on " + target.Addr
			if len(res.Committed) > 0 {
				detail = "committed the working set of " + strings.Join(res.Committed, ", ")
			}
			step(Step{Name: "flush", OK: true, Detail: detail})
		}
	}

	// write beads.hcl
	if planned != nil && !o.DryRun {
		if err := writeNew(o.Config, planned); err != nil {
			return rollback(name, err)
		}
		r.Wrote = o.Config
		path := o.Config
		undo = append(undo, func() error { return os.Remove(path) })
	}
	step(Step{Name: name, OK: true, Detail: writeDetail})

	// dolt.auto-start: false, before the stop: from then on no bd command
	// starts a rival in the moment between bd's server and ours.
	if d.Dolt.DisableBdAutoStart {
		cfgPath := filepath.Join(src.Workspace, ".beads", "config.yaml")
		switch {
		case !src.BdAutoStart:
			step(Step{Name: "disable bd auto-start", OK: true, Detail: cfgPath + " says dolt.auto-start: false already"})
		case o.DryRun:
			step(Step{Name: "disable bd auto-start", OK: true, Detail: "set dolt.auto-start: false in " + cfgPath + " (disable_bd_auto_start = true; --keep-bd-auto-start leaves it on)"})
		default:
			restore, err := saveFile(cfgPath)
			if err != nil {
				return rollback("disable bd auto-start", err)
			}
			if _, err := bd.SetAutoStartOff(filepath.Dir(cfgPath), atomicfile.Write); err != nil {
				return rollback("disable bd auto-start", err)
			}
			undo = append(undo, restore)
			step(Step{Name: "disable bd auto-start", OK: true, Detail: "dolt.auto-start: false in " + cfgPath})
		}
	}
	if !o.DryRun {
		// What apply uses is what is on disk now.
		if cfg, err = loadConfig(o, nil, false); err != nil {
			return rollback("validate beads.hcl", err)
		}
		if d, err = checkDoltConfig(cfg, src); err != nil {
			return rollback("validate beads.hcl", err)
		}
	}

	// stop bd's server (and any orphan on the data dir)
	port := d.Dolt.Port
	if src.Port > 0 {
		port = src.Port
	}
	back := fmt.Sprintf("`bd dolt start` brings bd's server back (BEADS_DOLT_SERVER_PORT=%d bd dolt start keeps port %d)", port, port)
	var downSince time.Time
	if stopping {
		all := append(slices.Clone(src.Others), *src.Server)
		how := fmt.Sprintf("flush again, prove the identity of each (dolt sql-server, cwd %s, start time), SIGTERM, SIGKILL after %v; pid %s", src.DataDir, o.StopTimeout, pids(all))
		if o.DryRun {
			step(Step{Name: "stop bd's server", OK: true, Detail: how})
		} else {
			downSince = time.Now()
			for i, sp := range all {
				if sp.Port == 0 {
					sp.Port = src.Port
				}
				res, err := reconcile.StopDoltRival(ctx, sp, src.ServerDir, src.Host, src.User, o.StopTimeout, doltsql.Flush)
				r.Flushed = appendNew(r.Flushed, res.Committed...)
				if err != nil {
					if i == 0 && stillRuns(ctx, sp) {
						// Nothing was stopped (a flush failed, or the
						// identity no longer matched): undo the rest.
						return rollback("stop bd's server", err)
					}
					return fail("stop bd's server", fmt.Sprintf("some dolt sql-servers of %s may be stopped; stop the rest with bd dolt stop, then run beadsctl apply --auto-approve; or %s", src.DataDir, back), err)
				}
			}
			step(Step{Name: "stop bd's server", OK: true, Detail: "stopped pid " + pids(all) + " (flushed, identity proven)"})
		}
	}

	// clean bd's stale files (a pid file naming no server)
	if o.DryRun {
		if len(det.StaleFiles) > 0 {
			step(Step{Name: "clean stale files", OK: true, Detail: "remove " + strings.Join(rels(o.Dir, det.StaleFiles), ", ")})
		}
	} else if cleaned, err := cleanDoltFiles(ctx, src); err != nil {
		return fail("clean stale files", "remove the files named by hand, then run beadsctl apply --auto-approve; or "+back, err)
	} else if len(cleaned) > 0 {
		r.Cleaned = append(r.Cleaned, cleaned...)
		step(Step{Name: "clean stale files", OK: true, Detail: "removed " + strings.Join(rels(o.Dir, cleaned), ", ")})
	}

	// apply and verify
	portText := strconv.Itoa(port)
	if port == 0 {
		portText = "a port beadsctl chooses and keeps"
	}
	if o.DryRun {
		step(Step{Name: "apply", OK: true, Detail: fmt.Sprintf("start %q under beadsctl's agent: dolt sql-server on %s:%s in %s, adopted by bd (dolt-server.pid/.port name it)", d.Name, src.Host, portText, src.DataDir)})
		step(Step{Name: "verify", OK: true, Detail: "SQL-healthy, exactly one dolt sql-server on the data dir and it is ours, bd's files name it on port " + portText + ", `bd list` works (BEADS_DOLT_AUTO_START=0), no drift"})
		r.OK = true
		return r, nil
	}
	after := "the old server is stopped (its working set committed); beadsctl's is not serving: see beadsctl status and beadsctl plan, then run beadsctl apply --auto-approve; or " + back
	if !stopping {
		after = "see beadsctl status and beadsctl plan, then run beadsctl apply --auto-approve"
	}
	live, err := applyConfig(ctx, o, cfg)
	if err != nil {
		return fail("apply", after, err)
	}
	if !downSince.IsZero() {
		r.DowntimeMS = float64(time.Since(downSince).Microseconds()) / 1000
	}
	nd, err := verifyDolt(ctx, o, d, live, port)
	if err != nil {
		return fail("verify", after, err)
	}
	r.New = nd
	detail := fmt.Sprintf("daemon %q online under beadsctl: dolt %s, pid %d, port %d", nd.Name, nd.Version, nd.Pid, nd.Port)
	if r.DowntimeMS > 0 {
		detail += fmt.Sprintf(" (no server for %.0f ms)", r.DowntimeMS)
	}
	step(Step{Name: "apply", OK: true, Detail: detail})
	step(Step{Name: "verify", OK: true, Detail: fmt.Sprintf("SQL-healthy; one dolt sql-server on %s, ours; dolt-server.pid = %d, dolt-server.port = %d; bd list works (BEADS_DOLT_AUTO_START=0); no drift", src.DataDir, nd.Pid, nd.Port)})
	r.OK = true
	return r, nil
}

// verifyDolt proves the migration: the agent's dolt is the one server of the
// data dir, bd's files name it on port (when known), and a bd command works
// through it without being able to start a rival.
func verifyDolt(ctx context.Context, o Options, d *schema.Daemon, live *reconcile.Live, port int) (*NewDaemon, error) {
	s, ok := live.Daemons[d.Name]
	if !ok || s.State != supervisor.StateOnline || s.Pid <= 0 {
		return nil, fmt.Errorf("daemon %q is not online under beadsctl (state %q)", d.Name, s.State)
	}
	if port > 0 && d.Dolt.Port != port {
		return nil, fmt.Errorf("daemon %q serves port %d, bd's server served %d", d.Name, d.Dolt.Port, port)
	}
	one := func(when string) error {
		servers, err := bd.FindServers(ctx, d.Dolt.DataDir)
		if err != nil {
			return fmt.Errorf("list dolt sql-servers: %w", err)
		}
		if len(servers) != 1 || servers[0].Pid != s.Pid {
			return fmt.Errorf("%s: %s serve %s (pid %s), want exactly ours, pid %d", when, plural.Count(len(servers), "dolt sql-server"), d.Dolt.DataDir, pids(servers), s.Pid)
		}
		return nil
	}
	if err := one("after apply"); err != nil {
		return nil, err
	}
	files := bd.ServerFiles{Dir: d.Dolt.ServerDir}
	if pid, p := files.Read(); pid != s.Pid || p != d.Dolt.Port {
		return nil, fmt.Errorf("bd would not find the server: %s = %d and %s = %d, the server is pid %d on port %d", files.PidPath(), pid, files.PortPath(), p, s.Pid, d.Dolt.Port)
	}
	if err := bdWorks(ctx, o, d.Dolt.Workspace); err != nil {
		return nil, err
	}
	if err := one("after bd list"); err != nil {
		return nil, err
	}
	nd := &NewDaemon{Name: d.Name, Pid: s.Pid, Port: d.Dolt.Port}
	if h := s.Health.SQL; h != nil {
		nd.Version = h.DoltVersion
	}
	return nd, nil
}

// bdOutputLimit bounds what is kept of the verifying bd command's output.
const bdOutputLimit = 16 << 10

// bdWorks runs `bd list` with the installed bd in the workspace, with
// BEADS_DOLT_AUTO_START=0 so that it can only use the supervised server
// (bounded: 30 s).
func bdWorks(ctx context.Context, o Options, ws string) error {
	bdPath := lookPath("bd", o.env("PATH"))
	if bdPath == "bd" {
		return errors.New("bd is not on PATH: a bd command cannot prove the server works")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bdPath, "list")
	cmd.Dir = ws
	cmd.Env = append(slices.Clone(o.Environ), "BEADS_DOLT_AUTO_START=0")
	cmd.WaitDelay = time.Second
	out := tailbuf.New(bdOutputLimit)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("bd list (BEADS_DOLT_AUTO_START=0) failed: %v: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// cleanDoltFiles removes dolt-server.pid and .port when the pid file names no
// live dolt sql-server (bd removes them the same way at its next command).
func cleanDoltFiles(ctx context.Context, src *DoltSource) ([]string, error) {
	files := bd.ServerFiles{Dir: src.ServerDir}
	pid, _ := files.Read()
	if pid == 0 && !exists(files.PortPath()) {
		return nil, nil
	}
	if pid > 0 {
		if _, ok := bd.InspectServer(ctx, pid); ok {
			return nil, nil
		}
	}
	var removed []string
	for _, p := range []string{files.PidPath(), files.PortPath()} {
		if err := os.Remove(p); err == nil {
			removed = append(removed, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return removed, err
		}
	}
	return removed, nil
}

// stillRuns reports whether sp is still the dolt sql-server seen (same pid
// and start time).
func stillRuns(ctx context.Context, sp bd.ServerProcess) bool {
	cur, ok := bd.InspectServer(ctx, sp.Pid)
	return ok && cur.StartTime.Equal(sp.StartTime)
}

// saveFile returns what puts path back as it is now (removed when missing).
func saveFile(path string) (func() error, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return func() error {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		}, nil
	}
	if err != nil {
		return nil, err
	}
	perm := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		perm = st.Mode().Perm()
	}
	return func() error { return atomicfile.Write(path, b, perm) }, nil
}

func pids(ps []bd.ServerProcess) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(p.Pid)
	}
	return strings.Join(s, ", ")
}

func appendNew(list []string, more ...string) []string {
	for _, m := range more {
		if !slices.Contains(list, m) {
			list = append(list, m)
		}
	}
	return list
}
