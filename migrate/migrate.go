package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/plural"
	"github.com/beadsctl/beadsctl/internal/pm2"
	"github.com/beadsctl/beadsctl/internal/proc"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
	"github.com/beadsctl/beadsctl/supervisor"
)

// Options tune Detect and Run.
type Options struct {
	// Dir is the project folder: it holds .beads/ (the bd workspace) and
	// beads.hcl, and maybe an ecosystem.config.* file.
	Dir string
	// Config is the beads.hcl path (Dir/beads.hcl when empty).
	Config string
	// Profile is the env profile applied ("" for none) when ProfileSet; it
	// is then applied whatever PM2 started the app with. Without ProfileSet,
	// migrate applies the profile of the `pm2 start --env NAME` PM2 ran the app
	// with (see chooseProfile).
	Profile    string
	ProfileSet bool
	// ProfileSource says what chose Profile (--env, --no-env, BEADSCTL_ENV).
	ProfileSource string
	// Environ is the caller's environment: process.env of the ecosystem file,
	// env() of beads.hcl, and the environment of pm2 (PM2_HOME, PATH).
	Environ []string
	// DryRun plans and changes nothing.
	DryRun bool
	// Force sends SIGKILL to an old daemon still running after StopTimeout.
	Force bool
	// StopTimeout bounds the graceful stop of the old daemon (10s when 0).
	StopTimeout time.Duration
	// ApplyTimeout bounds the wait for the new daemon (reconcile.DefaultApplyTimeout when 0).
	ApplyTimeout time.Duration
	// Exe is the beadsctl executable that runs the agent.
	Exe string
	// StartAgent, when set, starts the agent of dir instead of
	// reconcile.StartAgent with Exe (the CLI prefers its lean agent).
	StartAgent func(ctx context.Context, dir string) error
	// KeepBdAutoStart leaves bd's dolt.auto-start as it is when migrating a
	// bd 1.x Dolt server: the beads.hcl written then has no
	// disable_bd_auto_start = true.
	KeepBdAutoStart bool
	// PM2 is the pm2 command ("" looks it up on Environ's PATH).
	PM2 string
	// Root is where PM2's boot hooks are looked for (/etc/systemd/system,
	// /etc/init.d, ...): "/" when empty; tests point it at a folder.
	Root string
	// Step, when set, hears of every step as it ends.
	Step func(Step)
}

// OldDaemon is a bd daemon that runs the workspace outside beadsctl.
type OldDaemon struct {
	// Manager is "pm2" or "background" (bd's own auto-started daemon, or one started by hand).
	Manager   string    `json:"manager"`
	Pid       int       `json:"pid"`
	Version   string    `json:"version,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	// StartTimeMS is the OS start time of Pid (Unix ms): no signal is sent
	// unless it still matches.
	StartTimeMS int64 `json:"start_time_ms,omitempty"`
	// Via says how it was found: daemon.lock, bd.sock, pm2 jlist.
	Via string `json:"via"`
	// App and PM2ID name the PM2 app.
	App   string `json:"app,omitempty"`
	PM2ID int    `json:"pm2_id,omitempty"`
	// Env is the NAME of `pm2 start --env NAME` PM2 started the app with ("":
	// none), EnvTies the other names that fit as well (pm2.App.StartedEnv).
	Env     string   `json:"env,omitempty"`
	EnvTies []string `json:"env_ties,omitempty"`

	// pm2 is the app as PM2 lists it: the environment it gave it.
	pm2 *pm2.App
}

// copyString names a PM2 app that runs a copy of the daemon: its pid, if
// any, and PM2's status ("waiting restart" while bd refuses it).
func (o OldDaemon) copyString() string {
	s := fmt.Sprintf("PM2 app %q (pm_id %d", o.App, o.PM2ID)
	if o.Pid > 0 {
		s += fmt.Sprintf(", pid %d", o.Pid)
	}
	if o.pm2 != nil && o.pm2.Status != "" {
		s += ", " + o.pm2.Status
	}
	return s + ")"
}

func (o OldDaemon) String() string {
	v := o.Version
	if v == "" {
		v = "unknown version"
	}
	if o.Manager == "pm2" {
		return fmt.Sprintf("PM2 app %q (pm_id %d), bd daemon pid %d, version %s, %s", o.App, o.PM2ID, o.Pid, v, o.startedWith())
	}
	return fmt.Sprintf("background bd daemon pid %d, version %s", o.Pid, v)
}

// Detection is what runs and what files there are.
type Detection struct {
	Workspace string `json:"workspace"`
	// Old is the daemon to replace (nil when none runs).
	Old *OldDaemon `json:"old,omitempty"`
	// Managed is true when beadsctl's agent already runs the workspace's daemon.
	Managed bool `json:"managed"`
	// PM2 is the pm2 command used ("" when none was found or PM2 does not run).
	PM2 string `json:"pm2,omitempty"`
	// PM2Home is PM2's home folder (PM2_HOME, else ~/.pm2).
	PM2Home string `json:"pm2_home,omitempty"`
	// PM2Saved are the apps of PM2's saved list (PM2Home/dump.pm2) that run
	// this workspace's bd daemon: `pm2 resurrect`, which PM2's boot hook runs,
	// would start them again beside ours.
	PM2Saved []string `json:"pm2_saved,omitempty"`
	// PM2Copies are the apps of PM2's live list that run this workspace's bd
	// daemon beside Old, or beside the daemon beadsctl runs (a pm2 start from
	// habit, a pm2 resurrect of an old list): bd refuses them and PM2 restarts
	// them for ever. migrate deletes them.
	PM2Copies []OldDaemon `json:"pm2_copies,omitempty"`
	// PM2Hooks are the boot hooks of that PM2 (`pm2 startup`).
	PM2Hooks []pm2.Hook `json:"pm2_hooks,omitempty"`
	// Ecosystem is the ecosystem file found ("" when none).
	Ecosystem string `json:"ecosystem,omitempty"`
	// ConfigExists tells whether beads.hcl exists (it is never overwritten).
	ConfigExists bool `json:"config_exists"`
	// Installed is the installed bd CLI's version.
	Installed string `json:"installed,omitempty"`
	// StaleFiles are bd files under .beads/ left by a daemon that is gone.
	StaleFiles []string `json:"stale_files,omitempty"`
	// Registry are the entries of ~/.beads/registry.json for the workspace.
	Registry int `json:"registry_entries"`
	// Dolt is set for a bd 1.x workspace in server mode: its Dolt SQL server.
	Dolt *DoltSource `json:"dolt,omitempty"`
}

// Step is one step of a migration as reported.
type Step struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	// Planned is true under --dry-run: the step was not carried out.
	Planned bool `json:"planned,omitempty"`
}

// Report is the outcome of Run.
type Report struct {
	DryRun    bool      `json:"dry_run"`
	Detection Detection `json:"detection"`
	Steps     []Step    `json:"steps"`
	// Wrote is the beads.hcl written ("" when one existed).
	Wrote   string   `json:"wrote,omitempty"`
	Cleaned []string `json:"cleaned,omitempty"`
	// Flushed are the databases whose working set a bd 1.x server had
	// uncommitted, committed before it was stopped.
	Flushed []string `json:"flushed,omitempty"`
	// DowntimeMS is how long no Dolt server served the workspace: from the
	// old server's stop signal to ours being SQL-healthy.
	DowntimeMS float64 `json:"downtime_ms,omitempty"`
	// New is the daemon beadsctl runs now.
	New *NewDaemon `json:"new,omitempty"`
	// Profile is the env profile applied ("" for the base blocks), and
	// ProfileSource why that one (PM2's --env, chosen, applied last).
	Profile       string `json:"profile"`
	ProfileSource string `json:"profile_source,omitempty"`
	// MismatchResolved is set when the old daemon's version differed from the
	// installed CLI's and the new one's equals it.
	MismatchResolved *bool `json:"version_mismatch_resolved,omitempty"`
	OK               bool  `json:"ok"`
	// Resume says how to go on after a failed step.
	Resume string `json:"resume,omitempty"`
}

// NewDaemon is the daemon beadsctl's agent runs after the migration.
type NewDaemon struct {
	Name string `json:"name"`
	Pid  int    `json:"pid"`
	// Version is bd's version for a bd daemon, dolt's for a Dolt server.
	Version string `json:"version"`
	// Port is a Dolt server's port.
	Port int `json:"port,omitempty"`
}

// ErrFailed is returned (wrapped) when a step fails; the report says which.
var ErrFailed = errors.New("migration failed")

// ecosystemNames are the files PM2 users keep their apps in, in the order tried.
var ecosystemNames = []string{"ecosystem.config.cjs", "ecosystem.config.js", "ecosystem.config.mjs", "ecosystem.json", "ecosystem.config.json"}

func (o *Options) defaults() {
	if o.Config == "" {
		o.Config = filepath.Join(o.Dir, "beads.hcl")
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 10 * time.Second
	}
	if o.Step == nil {
		o.Step = func(Step) {}
	}
}

func (o *Options) env(key string) string {
	for i := len(o.Environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(o.Environ[i], key+"="); ok {
			return v
		}
	}
	return ""
}

// Detect finds the old daemon, the ecosystem file and the stale bd files. It
// changes nothing: pm2 is asked only when its daemon already runs (asking a
// stopped PM2 would start one).
func Detect(ctx context.Context, o Options) (Detection, error) {
	o.defaults()
	ws := o.Dir
	d := Detection{Workspace: ws}
	if _, err := os.Stat(o.Config); err == nil {
		d.ConfigExists = true
	}
	for _, n := range ecosystemNames {
		if _, err := os.Stat(filepath.Join(o.Dir, n)); err == nil {
			d.Ecosystem = filepath.Join(o.Dir, n)
			break
		}
	}
	d.Installed, _ = bd.InstalledVersion(ctx, lookPath("bd", o.env("PATH")))

	apps, pm2bin, err := pm2Apps(ctx, o)
	if err != nil {
		return d, err
	}
	d.PM2 = pm2bin
	if err := detectPM2Saved(o, &d); err != nil {
		return d, err
	}
	lock, held, _ := bd.ReadLock(ws)
	pid, via, version, started := 0, "", "", time.Time{}
	if held && lock.Pid > 0 {
		pid, via, version, started = lock.Pid, "daemon.lock", lock.Version, lock.StartedAt
	} else {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		p, err := bd.ProbeDaemon(pctx, ws, d.Installed)
		cancel()
		if err == nil && p.Pid > 0 {
			pid, via, version = p.Pid, "bd.sock", p.Version
		}
	}
	for _, a := range apps {
		if a.Pid > 0 && (a.Pid == pid || pid == 0) {
			a.Version, a.StartedAt = version, started
			if pid == 0 {
				a.Version = ""
			}
			d.Old = &a
			break
		}
	}
	for _, a := range apps {
		if d.Old == nil || a.PM2ID != d.Old.PM2ID {
			d.PM2Copies = append(d.PM2Copies, a)
		}
	}
	if d.Old == nil && pid > 0 {
		if ppid := lock.ParentPid; held && ppid > 0 && underPM2(ppid) {
			// Stopping it with a signal would only make PM2 restart it.
			return d, fmt.Errorf("bd daemon pid %d runs under PM2 (parent pid %d), but no PM2 app for this folder was found: put pm2 on PATH (with PM2_HOME set as PM2 was started) and run migrate again", pid, ppid)
		}
		managed, err := managedBy(ctx, o.Dir, pid)
		if err != nil {
			// Whether beadsctl runs pid cannot be told: stopping it could
			// stop our own daemon.
			return d, err
		}
		if managed {
			d.Managed = true
		} else {
			d.Old = &OldDaemon{Manager: "background", Pid: pid, Version: version, StartedAt: started, Via: via}
		}
	}
	if d.Old == nil && !d.Managed {
		if err := detectDolt(ctx, o, &d); err != nil {
			return d, err
		}
	}
	if d.Old != nil {
		if t, err := proc.StartTime(d.Old.Pid); err == nil {
			d.Old.StartTimeMS = t.UnixMilli()
		}
	}
	if !held && pid == 0 {
		for _, n := range []string{"bd.sock", "daemon.pid", "daemon.lock"} {
			if p := filepath.Join(ws, ".beads", n); exists(p) {
				d.StaleFiles = append(d.StaleFiles, p)
			}
		}
	}
	if entries, _, err := readRegistry(o.env("HOME")); err == nil {
		for _, e := range entries {
			if sameDir(e.WorkspacePath, ws) {
				d.Registry++
			}
		}
	}
	return d, nil
}

// underPM2 tells whether pid is PM2's God daemon (its title is "PM2 vX: God Daemon (...)").
func underPM2(pid int) bool {
	argv, err := proc.Cmdline(pid)
	if err != nil {
		return false
	}
	cmd := strings.Join(argv, " ")
	return strings.HasPrefix(cmd, "PM2 ") || strings.Contains(cmd, "God Daemon")
}

// managedBy tells whether beadsctl's agent for dir runs pid; an agent that
// lives but does not answer is an error (it may well run pid).
func managedBy(ctx context.Context, dir string, pid int) (bool, error) {
	c := reconcile.Dial(dir)
	defer c.Close()
	st, err := c.Status(ctx) // bounded by the client's deadline
	if errors.Is(err, reconcile.ErrAgentNotAnswering) {
		return false, fmt.Errorf("bd daemon pid %d: whether beadsctl runs it cannot be told: %w", pid, err)
	}
	if err != nil {
		return false, nil
	}
	return slices.ContainsFunc(st.Daemons, func(s supervisor.Status) bool { return s.Pid == pid }), nil
}

// Run migrates: write beads.hcl when there is none, stop the old daemon, clean
// bd's stale files, apply and verify. Each step is reported as it ends; the
// first failure stops the migration, and Report.Resume says how to go on.
// With DryRun, the steps are planned and nothing changes.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	r := &Report{DryRun: o.DryRun}
	step := func(s Step) {
		s.Planned = o.DryRun && s.Name != "detect"
		r.Steps = append(r.Steps, s)
		o.Step(s)
	}
	fail := func(name, resume string, err error) (*Report, error) {
		step(Step{Name: name, Detail: err.Error()})
		r.Resume = resume
		return r, fmt.Errorf("%w: %s: %v", ErrFailed, name, err)
	}
	det, err := Detect(ctx, o)
	if err != nil {
		return fail("detect", "nothing was changed; fix the error and run beadsctl migrate again", err)
	}
	r.Detection = det
	profile, why := chooseProfile(o, det)
	o.Profile, r.Profile, r.ProfileSource = profile, profile, why
	if det.Dolt != nil {
		return runDolt(ctx, o, det, r, step, fail)
	}
	old := det.Old
	switch {
	case old != nil:
		step(Step{Name: "detect", OK: true, Detail: "found " + old.String() + " (via " + old.Via + ")"})
	case det.Managed && len(det.PM2Copies) > 0:
		step(Step{Name: "detect", OK: true, Detail: "beadsctl already runs the bd daemon of this workspace; PM2 runs a copy beside it (pm2 copy)"})
	case det.Managed:
		step(Step{Name: "detect", OK: true, Detail: "beadsctl already runs the bd daemon of this workspace; nothing to stop"})
	default:
		step(Step{Name: "detect", OK: true, Detail: "no bd daemon runs for " + det.Workspace})
	}

	// 1. beads.hcl
	var hcl []byte
	name := "write beads.hcl"
	switch {
	case det.ConfigExists:
		step(Step{Name: name, OK: true, Detail: o.Config + " exists; kept as it is"})
	default:
		src, detail, err := configFor(det, o)
		if err != nil {
			return fail(name, "nothing was changed; write beads.hcl by hand (beadsctl import pm2 helps) and run beadsctl migrate again", err)
		}
		hcl = src
		if !o.DryRun {
			if err := writeNew(o.Config, hcl); err != nil {
				return fail(name, "nothing was changed", err)
			}
			r.Wrote = o.Config
		}
		step(Step{Name: name, OK: true, Detail: detail})
	}
	// A config error never stops a running daemon: load it before anything stops.
	cfg, err := loadConfig(o, hcl, o.DryRun)
	if err != nil {
		base := o
		base.Profile = ""
		if b, berr := loadConfig(base, hcl, o.DryRun); berr == nil {
			if perr := checkProfile(b, profile, why); perr != nil {
				err = perr // the file loads, but not under the profile PM2 ran the app with
			}
		}
		return fail("validate beads.hcl", "the old daemon still runs; fix beads.hcl (beadsctl validate) and run beadsctl migrate again", err)
	}

	// 2. stop the old daemon, and PM2's copies beside it
	beside := "the old daemon"
	if det.Managed {
		beside = "beadsctl's"
	}
	for _, c := range det.PM2Copies {
		if o.DryRun {
			step(Step{Name: "pm2 copy", OK: true, Detail: fmt.Sprintf("pm2 delete %d: %s, a second copy of the workspace's bd daemon that PM2 runs or restarts beside %s", c.PM2ID, c.copyString(), beside)})
			continue
		}
		if out, err := pm2.Command(ctx, det.PM2, o.Environ, o.Dir, "delete", strconv.Itoa(c.PM2ID)); err != nil {
			return fail("pm2 copy", "nothing of beadsctl's was changed; run pm2 delete "+strconv.Itoa(c.PM2ID)+" and beadsctl migrate again",
				fmt.Errorf("pm2 delete %d: %v: %s", c.PM2ID, err, strings.TrimSpace(out)))
		}
		step(Step{Name: "pm2 copy", OK: true, Detail: "deleted " + c.copyString() + ", a second copy of the workspace's bd daemon that PM2 ran or restarted beside " + beside})
	}
	var restore string
	if old != nil {
		restore = restoreHint(old, det)
		how := "SIGTERM, then wait up to " + o.StopTimeout.String() + " for daemon.lock to be released"
		if old.Manager == "pm2" {
			how = fmt.Sprintf("pm2 delete %s (so PM2 does not restart it), then wait up to %s for daemon.lock to be released", old.App, o.StopTimeout)
		}
		if o.Force {
			how += ", then SIGKILL (--force)"
		}
		if o.DryRun {
			step(Step{Name: "stop old daemon", OK: true, Detail: "stop " + old.String() + ": " + how})
		} else {
			if err := stopOld(ctx, o, det, old); err != nil {
				return fail("stop old daemon", "the old daemon was not stopped and still serves the workspace; "+
					"run beadsctl migrate --force to SIGKILL it after the timeout, or stop it by hand and run beadsctl migrate again", err)
			}
			step(Step{Name: "stop old daemon", OK: true, Detail: "stopped " + old.String()})
		}
	}

	// 3. clean stale files
	if o.DryRun {
		step(Step{Name: "clean stale files", OK: true, Detail: "remove .beads/bd.sock, .beads/daemon.pid, .beads/daemon.lock if left behind, and this workspace's ~/.beads/registry.json entries"})
	} else {
		cleaned, err := clean(o)
		r.Cleaned = cleaned
		if err != nil {
			return fail("clean stale files", "the old daemon is stopped; remove the files named by hand, then run beadsctl apply --auto-approve"+restore, err)
		}
		detail := "nothing stale left"
		if len(cleaned) > 0 {
			detail = "removed " + strings.Join(rels(o.Dir, cleaned), ", ")
		}
		step(Step{Name: "clean stale files", OK: true, Detail: detail})
	}

	// 4. apply and verify
	var names []string
	for _, d := range cfg.Daemons {
		names = append(names, d.Name)
	}
	if o.DryRun {
		step(Step{Name: "apply", OK: true, Detail: fmt.Sprintf("start %s under beadsctl's agent%s (bd %s installed)", strings.Join(names, ", "), profileNote(profile, why), orDefault(det.Installed, "version unknown"))})
		if d := beadsDaemon(cfg, ""); old != nil && old.pm2 != nil && d != nil {
			step(envStep(old, d, true))
		}
		step(Step{Name: "verify", OK: true, Detail: "new daemon online, its version equal to the installed bd's, no other daemon for the workspace, drift clean"})
		planPM2(det, step)
		r.OK = true
		return r, nil
	}
	nd, err := applyAndVerify(ctx, o, cfg)
	if err != nil {
		return fail("apply", "the old daemon is stopped; see beadsctl plan, then run beadsctl apply --auto-approve"+restore, err)
	}
	r.New = nd
	step(Step{Name: "apply", OK: true, Detail: fmt.Sprintf("daemon %q online under beadsctl%s: pid %d, bd %s", nd.Name, profileNote(profile, why), nd.Pid, nd.Version)})
	if d := beadsDaemon(cfg, nd.Name); old != nil && old.pm2 != nil && d != nil {
		step(envStep(old, d, false))
	}
	if old != nil && old.Version != "" && old.Version != det.Installed {
		ok := nd.Version == det.Installed
		r.MismatchResolved = &ok
		step(Step{Name: "version mismatch", OK: ok, Detail: fmt.Sprintf("old daemon %s, installed bd %s, new daemon %s", old.Version, det.Installed, nd.Version)})
	}
	step(Step{Name: "verify", OK: true, Detail: "online, version " + nd.Version + " equals the installed bd's, no other daemon holds the workspace, no drift"})
	if err := finishPM2(ctx, o, det, step); err != nil {
		return fail("pm2 saved list", "beadsctl runs the daemon now, but PM2's saved list still names it: pm2 resurrect (what PM2's boot hook runs) would start a second copy; "+
			"run pm2 save --force (or remove it from "+pm2.DumpPath(det.PM2Home)+"), or beadsctl migrate again", err)
	}
	r.OK = true
	return r, nil
}

// configFor is the beads.hcl to write: converted from the ecosystem file (the
// app that runs the old daemon when PM2 runs it), or a plain bd daemon.
func configFor(det Detection, o Options) ([]byte, string, error) {
	if det.Ecosystem != "" {
		app := ""
		if det.Old != nil && det.Old.Manager == "pm2" {
			app = det.Old.App
		}
		res, err := ImportFile(det.Ecosystem, o.Environ, ImportOptions{App: app, OutDir: filepath.Dir(o.Config), Home: o.env("HOME")})
		if err != nil {
			return nil, "", fmt.Errorf("convert %s: %w", filepath.Base(det.Ecosystem), err)
		}
		detail := fmt.Sprintf("%s from %s (daemons %s)", o.Config, filepath.Base(det.Ecosystem), strings.Join(res.Daemons, ", "))
		if n := len(res.Warnings); n > 0 {
			detail += fmt.Sprintf("; %s (beadsctl import pm2 %s shows them)", plural.Count(n, "warning"), filepath.Base(det.Ecosystem))
		}
		return res.HCL, detail, nil
	}
	src := `# beads.hcl: written by beadsctl migrate for the bd daemon of this folder.
daemon "beads" {
  command  = "bd"
  args     = ["daemon", "--start", "--foreground"]
  interval = "5s"
}
`
	return []byte(src), o.Config + " with one bd daemon (no ecosystem file here)", nil
}

// loadConfig loads beads.hcl, or planned (when not nil and fromTemp) from
// a temporary copy beside it: what would be written is validated before it is.
func loadConfig(o Options, planned []byte, fromTemp bool) (*schema.Config, error) {
	path := o.Config
	if planned != nil && fromTemp {
		// Validate what would be written, from a temporary copy beside it.
		f, err := os.CreateTemp(filepath.Dir(o.Config), ".beads-migrate-*.hcl")
		if err != nil {
			return nil, err
		}
		defer os.Remove(f.Name())
		if _, err := f.Write(planned); err != nil {
			f.Close()
			return nil, err
		}
		f.Close()
		path = f.Name()
	}
	cfg, _, diags := schema.Load(path, o.Profile, o.Environ)
	if diags.HasErrors() {
		return nil, schema.Error(diags)
	}
	return cfg, nil
}

func writeNew(path string, b []byte) error {
	return atomicfile.WriteNew(path, b, 0o644) // an existing beads.hcl is never overwritten
}

func restoreHint(old *OldDaemon, det Detection) string {
	if old.Manager == "pm2" && det.Ecosystem != "" {
		return fmt.Sprintf("; to go back to PM2: pm2 start %s --only %s", filepath.Base(det.Ecosystem), old.App)
	}
	return "; to go back to a background daemon: bd daemon --start"
}

// stopOld stops the old daemon: pm2 delete for PM2 (PM2 signals and waits
// kill_timeout itself), SIGTERM for a background daemon; then waits until
// daemon.lock is free. With Force, a daemon still there gets SIGKILL. A signal
// goes only to a pid proven to hold daemon.lock with the start time Detect saw
// (bd.ProveHolder); otherwise the refusal names both pids.
func stopOld(ctx context.Context, o Options, det Detection, old *OldDaemon) error {
	var start time.Time
	if old.StartTimeMS != 0 {
		start = time.UnixMilli(old.StartTimeMS)
	}
	if old.Manager != "pm2" {
		_, err := bd.StopDaemon(ctx, det.Workspace, old.Pid, start, bd.StopOptions{Timeout: o.StopTimeout, Kill: o.Force})
		return err
	}
	out, err := pm2.Command(ctx, det.PM2, o.Environ, o.Dir, "delete", old.App)
	if err != nil {
		return fmt.Errorf("pm2 delete %s: %v: %s", old.App, err, strings.TrimSpace(out))
	}
	h := proc.Handle{Pid: old.Pid, Start: start}
	if bd.WaitReleased(ctx, det.Workspace, h, o.StopTimeout) {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !o.Force {
		return fmt.Errorf("pid %d still holds .beads/daemon.lock %v after pm2 delete", old.Pid, o.StopTimeout)
	}
	proven, err := bd.ProveHolder(det.Workspace, old.Pid, start)
	if err == nil {
		err = proven.Signal(syscall.SIGKILL)
	}
	if err != nil && !errors.Is(err, proc.ErrGone) {
		return fmt.Errorf("not killing the old daemon: %w", err)
	}
	if !bd.WaitReleased(ctx, det.Workspace, h, 5*time.Second) {
		return fmt.Errorf("pid %d still holds .beads/daemon.lock after SIGKILL", old.Pid)
	}
	return nil
}

// clean removes bd.sock and daemon.pid when stale (bd.CleanStale),
// daemon.lock when nobody holds it, and the workspace's registry entries whose
// process is gone.
func clean(o Options) ([]string, error) {
	ws := o.Dir
	removed, err := bd.CleanStale(ws)
	if err != nil {
		return removed, err
	}
	lockPath := filepath.Join(ws, ".beads", "daemon.lock")
	if _, held, _ := bd.ReadLock(ws); !held && exists(lockPath) {
		if err := os.Remove(lockPath); err != nil {
			return removed, err
		}
		removed = append(removed, lockPath)
	}
	entries, path, err := readRegistry(o.env("HOME"))
	if err != nil || path == "" {
		return removed, nil // no registry: nothing to clean
	}
	kept := entries[:0:0]
	dropped := 0
	for _, e := range entries {
		if sameDir(e.WorkspacePath, ws) && (e.Pid <= 0 || !alive(e.Pid) || !lockHeldBy(ws, e.Pid)) {
			dropped++
			continue
		}
		kept = append(kept, e)
	}
	if dropped > 0 {
		b, err := json.MarshalIndent(kept, "", "  ")
		if err != nil {
			return removed, err
		}
		if err := atomicfile.Write(path, b, 0o600); err != nil {
			return removed, err
		}
		removed = append(removed, fmt.Sprintf("%s (%s for this workspace)", path, plural.Count(dropped, "entry")))
	}
	return removed, nil
}

func lockHeldBy(ws string, pid int) bool {
	l, held, err := bd.ReadLock(ws)
	return err == nil && held && l.Pid == pid
}

// registryEntry is one entry of ~/.beads/registry.json; unknown fields are kept.
type registryEntry struct {
	WorkspacePath string         `json:"workspace_path"`
	Pid           int            `json:"pid"`
	Version       string         `json:"version,omitempty"`
	Rest          map[string]any `json:"-"`
}

func (e registryEntry) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for k, v := range e.Rest {
		m[k] = v
	}
	m["workspace_path"], m["pid"] = e.WorkspacePath, e.Pid
	if e.Version != "" {
		m["version"] = e.Version
	}
	return json.Marshal(m)
}

func (e *registryEntry) UnmarshalJSON(b []byte) error {
	type plain registryEntry
	if err := json.Unmarshal(b, (*plain)(e)); err != nil {
		return err
	}
	return json.Unmarshal(b, &e.Rest)
}

func readRegistry(home string) ([]registryEntry, string, error) {
	if home == "" {
		return nil, "", nil
	}
	path := filepath.Join(home, ".beads", "registry.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	var entries []registryEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return entries, path, nil
}

// applyAndVerify applies cfg and verifies its bd daemon.
func applyAndVerify(ctx context.Context, o Options, cfg *schema.Config) (*NewDaemon, error) {
	live, err := applyConfig(ctx, o, cfg)
	if err != nil {
		return nil, err
	}
	var nd *NewDaemon
	for _, d := range cfg.Daemons {
		if !d.IsBeads() {
			continue
		}
		s := live.Daemons[d.Name]
		b := live.Beads[d.Name]
		if b.Unmanaged != nil {
			return nil, fmt.Errorf("another bd daemon holds the workspace: %s", b.Unmanaged)
		}
		if b.Running != b.Installed {
			return nil, fmt.Errorf("daemon %q runs bd %s, the installed CLI is %s", d.Name, b.Running, b.Installed)
		}
		if nd == nil {
			nd = &NewDaemon{Name: d.Name, Pid: s.Pid, Version: b.Running}
		}
	}
	if nd == nil {
		return nil, errors.New("beads.hcl declares no bd daemon")
	}
	return nd, nil
}

// applyConfig applies cfg under the project lock, replacing nothing (the old
// daemon is stopped by now, and one still holding the workspace is an
// error), then looks again as drift would: what it returns has no drift.
func applyConfig(ctx context.Context, o Options, cfg *schema.Config) (*reconcile.Live, error) {
	s, err := reconcile.OpenSession(ctx, reconcile.SessionOptions{
		File: cfg.Path, Profile: cfg.Env, Load: func(string) (*schema.Config, error) { return cfg, nil },
		Command: "migrate", Lock: true, LockTimeout: 30 * time.Second,
		StartAgent: func(ctx context.Context, dir string) error {
			if o.StartAgent != nil {
				return o.StartAgent(ctx, dir)
			}
			return reconcile.StartAgent(ctx, dir, o.Exe)
		},
	})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	p, err := s.Plan(ctx)
	if err != nil {
		return nil, err
	}
	if b := p.Blocking(); len(b) > 0 {
		return nil, &reconcile.UnmanagedError{Found: b}
	}
	if _, err := s.Apply(ctx, p, reconcile.ApplyOptions{Timeout: o.ApplyTimeout}); err != nil {
		return nil, err
	}
	// Verify with a fresh look, as drift would.
	live, err := s.Observe(ctx)
	if err != nil {
		return nil, err
	}
	if fs := reconcile.Findings(cfg, live, false); reconcile.HasDrift(fs) {
		var msgs []string
		for _, f := range fs {
			if !f.Info {
				msgs = append(msgs, f.Kind+": "+f.Actual)
			}
		}
		return nil, fmt.Errorf("drift after apply: %s", strings.Join(msgs, "; "))
	}
	return live, nil
}

// lookPath finds name on the PATH given (not this process's), or returns name.
func lookPath(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return name
}

func sameDir(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	if err1 != nil || err2 != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return ra == rb
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func rels(dir string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
			out[i] = r
		} else {
			out[i] = p
		}
	}
	return out
}
