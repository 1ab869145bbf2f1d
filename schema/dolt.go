package schema

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/hashicorp/hcl/v2"
)

// DoltServer is a dolt_server block: the Dolt SQL server that bd 1.x's server
// mode needs, derived from the workspace the way bd derives it (see
// ../shared/BEADS.md, "bd 1.x"). Paths are absolute.
type DoltServer struct {
	// Workspace is the folder holding .beads/ ("" for a shared server named
	// without one).
	Workspace string `json:"workspace,omitempty"`
	// Workspaces are every workspace the server serves (a shared server may
	// serve several); health checks each one's database and project id.
	Workspaces []DoltProject `json:"workspaces,omitempty"`
	// Shared is bd's shared server (~/.beads/shared-server, port 3308).
	Shared bool `json:"shared,omitempty"`
	// ServerDir holds dolt-server.pid/.port/.lock; DataDir is the server's
	// working directory (its databases).
	ServerDir string `json:"server_dir"`
	DataDir   string `json:"data_dir"`
	Host      string `json:"host"`
	// Port is 0 until a port is chosen (PortSource "auto"): reconcile pins
	// one with SetPort and keeps it across applies.
	Port       int    `json:"port"`
	PortSource string `json:"-"`
	User       string `json:"user"`
	// DisableBdAutoStart asks apply to write dolt.auto-start: false into each
	// workspace's .beads/config.yaml. BdAutoStart is what config.yaml says
	// now (not part of the hash: it is not the process).
	DisableBdAutoStart bool `json:"disable_bd_auto_start,omitempty"`
	BdAutoStart        bool `json:"-"`
}

// DoltProject is one workspace's database on a Dolt server.
type DoltProject struct {
	Workspace string `json:"workspace"`
	BeadsDir  string `json:"beads_dir"`
	Database  string `json:"database"`
	ProjectID string `json:"project_id,omitempty"`
	// BdAutoStart: config.yaml does not say dolt.auto-start: false.
	BdAutoStart bool `json:"-"`
}

// Port sources, as plan and validate name them.
const (
	PortFromHCL      = "beads.hcl"
	PortFromPortFile = "dolt-server.port"
	PortAuto         = "auto"
)

// dolt derives command, args, dir and health of a dolt_server daemon.
// It runs before health(), whose defaults it sets.
func (r *resolver) dolt(d *Daemon) {
	if !hasBlock(r.l, "dolt_server") {
		return
	}
	blame := r.l.blocks["dolt_server"]
	ds := &DoltServer{Host: bd.DefaultDoltHost, User: bd.DefaultDoltUser}
	r.boolean("dolt_server.shared", &ds.Shared)
	r.boolean("dolt_server.disable_bd_auto_start", &ds.DisableBdAutoStart)

	var dirs []string
	var dirRanges []hcl.Range
	if f := r.str("dolt_server.workspace", &ds.Workspace); f != nil {
		dirs, dirRanges = append(dirs, ds.Workspace), append(dirRanges, f.rng)
	}
	if more, f := r.strs("dolt_server.workspaces"); f != nil {
		if !ds.Shared {
			r.add(hcl.DiagError, f.rng, "workspaces needs a shared server",
				"Only a shared server (shared = true) serves several workspaces; a per-project server serves the one named by workspace.")
		}
		for i, w := range more {
			dirs = append(dirs, w)
			rng := f.rng
			if len(f.elem) == len(more) {
				rng = f.elem[i]
			}
			dirRanges = append(dirRanges, rng)
		}
	}
	if len(dirs) == 0 && !ds.Shared {
		dirs, dirRanges = []string{"."}, []hcl.Range{blame}
	}

	seen := map[string]bool{}
	var first *bd.Workspace
	for i, w := range dirs {
		abs := absPath(d.Root, w)
		if seen[abs] {
			continue
		}
		seen[abs] = true
		ws, ok := r.workspace(abs, dirRanges[i], ds.Shared)
		if !ok {
			continue
		}
		if first == nil {
			first = &ws
		}
		ds.Workspaces = append(ds.Workspaces, DoltProject{Workspace: abs, BeadsDir: ws.BeadsDir, Database: ws.Database, ProjectID: ws.ProjectID, BdAutoStart: ws.AutoStart})
	}
	if ds.Workspace != "" {
		ds.Workspace = absPath(d.Root, ds.Workspace)
	} else if !ds.Shared {
		ds.Workspace = d.Root
	}

	switch {
	case ds.Shared:
		ds.ServerDir = bd.SharedServerDir(r.home)
		ds.DataDir = filepath.Join(ds.ServerDir, "dolt")
		ds.Port, ds.PortSource = bd.DefaultSharedPort, "shared server default"
	case first != nil:
		ds.ServerDir, ds.DataDir = first.ServerDir, first.DataDir
		ds.Host, ds.User = first.Host, first.User
		ds.Port, ds.PortSource = first.Port, first.PortSource
	}
	if first != nil && first.Port > 0 {
		ds.Port, ds.PortSource = first.Port, first.PortSource
	}
	if f := r.str("dolt_server.host", &ds.Host); f != nil {
		if ip := net.ParseIP(ds.Host); ip == nil && ds.Host != "localhost" {
			r.add(hcl.DiagError, f.rng, "Invalid dolt_server.host", fmt.Sprintf("%q is not an IP address or localhost; bd connects to 127.0.0.1 by default.", ds.Host))
		}
	}
	var port int
	if f := r.integer("dolt_server.port", &port); f != nil {
		if port < 1 || port > 65535 {
			r.add(hcl.DiagError, f.rng, "Invalid dolt_server.port", fmt.Sprintf("port must be from 1 to 65535; %d is not. Leave it out to let beadsctl choose one and keep it.", port))
		} else {
			if ds.Port > 0 && ds.Port != port && first != nil && first.PortSource != "" {
				r.add(hcl.DiagWarning, f.rng, "Port differs from bd's setting",
					fmt.Sprintf("dolt_server.port is %d but %s in %s says %d. beadsctl writes %d into dolt-server.port, which bd reads first, so bd commands follow it; remove one of the two settings to avoid confusion.", port, first.PortSource, first.BeadsDir, ds.Port, port))
			}
			ds.Port, ds.PortSource = port, PortFromHCL
		}
	}
	if ds.Port == 0 && ds.ServerDir != "" {
		if _, p := (bd.ServerFiles{Dir: ds.ServerDir}).Read(); p > 0 {
			ds.Port, ds.PortSource = p, PortFromPortFile
		}
	}
	if ds.Port == 0 {
		ds.PortSource = PortAuto
	}
	ds.BdAutoStart = false
	for _, p := range ds.Workspaces {
		ds.BdAutoStart = ds.BdAutoStart || p.BdAutoStart
	}

	if f := r.l.fields["args"]; f != nil {
		r.add(hcl.DiagError, f.rng, "args are derived for a dolt_server",
			"A dolt_server daemon runs `dolt sql-server -H <host> -P <port> --loglevel=warning` in the data dir, exactly as bd starts it, so that bd adopts it. Remove args; set port or host in the dolt_server block.")
	}
	if f := r.l.fields["dir"]; f != nil {
		r.add(hcl.DiagError, f.rng, "dir is derived for a dolt_server",
			"A dolt_server daemon runs in the workspace's Dolt data dir (.beads/dolt, or dolt_data_dir in metadata.json). Remove dir; name the workspace with dolt_server { workspace = \"...\" }.")
	}
	if d.Command == "" {
		d.Command = "dolt"
	}
	d.Dir = ds.DataDir
	d.Dolt = ds
	d.Args = bd.ServerArgs(ds.Host, ds.Port)
}

// workspace reads one workspace for a dolt_server and reports, at rng, why it
// cannot be supervised.
func (r *resolver) workspace(abs string, rng hcl.Range, shared bool) (bd.Workspace, bool) {
	ws, err := bd.ReadWorkspace(abs, r.home)
	if err != nil {
		switch {
		case errors.Is(err, bd.ErrNotWorkspace):
			r.add(hcl.DiagError, rng, "Not a Beads workspace",
				fmt.Sprintf("%s. Create one in server mode with `bd init --server` in %s, or name the folder that holds .beads/ with workspace = \"...\".", strings.TrimPrefix(err.Error(), bd.ErrNotWorkspace.Error()+": "), abs))
		default:
			r.add(hcl.DiagError, rng, "Cannot read the Beads workspace",
				fmt.Sprintf("%s. Fix or restore the file (bd writes it at `bd init`); nothing was started or stopped.", err))
		}
		return ws, false
	}
	if ws.Mode != "server" && !(shared && ws.Shared) {
		r.add(hcl.DiagError, rng, "Workspace is in embedded mode",
			fmt.Sprintf("%s uses Dolt embedded in bd (dolt_mode %q in %s): bd opens the database in-process, so there is no server to supervise. For several writers (agents, a team) use server mode: `bd init --server` in a new workspace, or set \"dolt_mode\": \"server\" in metadata.json. Otherwise remove this dolt_server daemon.",
				abs, ws.Mode, filepath.Join(ws.BeadsDir, "metadata.json")))
		return ws, false
	}
	if shared && !ws.Shared {
		r.add(hcl.DiagWarning, rng, "Workspace does not use the shared server",
			fmt.Sprintf("bd in %s looks for its own server in .beads/, not the shared one: set `dolt.shared-server: true` in %s (or BEADS_DOLT_SHARED_SERVER=1 for every bd command).", abs, filepath.Join(ws.BeadsDir, "config.yaml")))
	}
	return ws, true
}

// SetPort pins the port of a dolt_server daemon whose port was left to
// beadsctl (PortSource "auto") and recomputes what depends on it: args, the
// health address and the hash.
func (d *Daemon) SetPort(port int, source string) {
	if d.Dolt == nil {
		return
	}
	d.Dolt.Port, d.Dolt.PortSource = port, source
	d.Args = bd.ServerArgs(d.Dolt.Host, port)
	if d.Health.Check == "sql" && d.Health.SQL != nil {
		d.Health.SQL.Address = net.JoinHostPort(d.Dolt.Host, strconv.Itoa(port))
	}
	d.Hash = HashDaemon(d)
}

// Dolt health defaults: a SQL check often enough to notice a wedged server.
const (
	DefaultDoltHealthInterval = 10 * time.Second
	DefaultDoltHealthTimeout  = 3 * time.Second
)

// doltHealthDefaults fills h for a dolt_server daemon that has no health
// block of its own.
func doltHealthDefaults(d *Daemon, h *Health) {
	ds := d.Dolt
	h.Check, h.Interval, h.Timeout = "sql", DefaultDoltHealthInterval, DefaultDoltHealthTimeout
	h.SQL = &SQLCheck{User: ds.User}
	if ds.Port > 0 {
		h.SQL.Address = net.JoinHostPort(ds.Host, strconv.Itoa(ds.Port))
	}
	for _, p := range ds.Workspaces {
		h.SQL.Databases = append(h.SQL.Databases, SQLDatabase{Name: p.Database, ProjectID: p.ProjectID})
	}
}

// SQLCheck is a health check over the MySQL protocol (check = "sql").
type SQLCheck struct {
	Address string `json:"address"`
	User    string `json:"user,omitempty"`
	// Databases must exist; each with a ProjectID must hold it as the
	// `_project_id` row of its metadata table (bd's identity check).
	Databases []SQLDatabase `json:"databases,omitempty"`
}

// SQLDatabase is one database a SQL check expects.
type SQLDatabase struct {
	Name      string `json:"name"`
	ProjectID string `json:"project_id,omitempty"`
}

// sqlHealth fills the SQL check from the health block (check = "sql"): address,
// user and database, over the dolt_server's defaults when there is one.
func (r *resolver) sqlHealth(d *Daemon, blame hcl.Range) {
	h := &d.Health
	sqlAttrs := []string{"health.user", "health.database", "health.project_id"}
	if h.Check != "sql" {
		r.noEffect(sqlAttrs, "sql", h.Check)
		h.SQL = nil
		return
	}
	if h.SQL == nil {
		h.SQL = &SQLCheck{}
	}
	if f := r.l.fields["health.address"]; f != nil {
		h.SQL.Address = h.Address
		if err := checkAddress(h.Address); err != nil {
			r.add(hcl.DiagError, f.rng, "Invalid health address", fmt.Sprintf("health.address: %s.", err))
		}
	} else if h.SQL.Address == "" && d.Dolt == nil {
		r.add(hcl.DiagError, blame, "Missing health address",
			`check = "sql" connects over the MySQL protocol: set address = "127.0.0.1:3306" (host:port) in the health block.`)
	}
	h.Address = ""
	r.str("health.user", &h.SQL.User)
	var db, pid string
	dbf, pidf := r.str("health.database", &db), r.str("health.project_id", &pid)
	if dbf != nil {
		h.SQL.Databases = []SQLDatabase{{Name: db, ProjectID: pid}}
	} else if pidf != nil {
		r.add(hcl.DiagError, pidf.rng, "project_id needs a database",
			"health.project_id is checked against the `_project_id` row of a database's metadata table: name the database too.")
	}
}

// noEffect warns at each of attrs that is set: it belongs to check kind
// want, and this check is got.
func (r *resolver) noEffect(attrs []string, want, got string) {
	for _, a := range attrs {
		if f := r.l.fields[a]; f != nil {
			r.add(hcl.DiagWarning, f.name, a+" has no effect",
				fmt.Sprintf("%s is only used with check = %q; this check is %q.", a, want, got))
		}
	}
}

// envHome is HOME in environ ("" when unset).
func envHome(environ []string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], "HOME="); ok {
			return v
		}
	}
	return ""
}

func hasBlock(l *layer, path string) bool {
	_, ok := l.blocks[path]
	return ok
}
