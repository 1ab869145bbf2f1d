package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/schema"
)

// PlanFormatVersion is the format_version of `plan --json` and of saved plans.
// The minor number grows with additions; the major one with any other change.
const PlanFormatVersion = "1.2"

// Action is what apply does to one daemon.
type Action string

// The actions. A replace is the pair ["delete", "create"] (-/+: a restart).
const (
	ActionNoop   Action = "no-op"
	ActionCreate Action = "create" // + start
	ActionUpdate Action = "update" // ~ in place, the process keeps running
	ActionDelete Action = "delete" // - stop
)

// Sensitive is shown instead of the value of a sensitive environment variable.
const Sensitive = "(sensitive)"

// Hashed is shown instead of an environment value that state.json keeps only
// a keyed hash of, and that is not sensitive: a state of a beadsctl before
// environment_plain hashed every value (sensitive ones show as Sensitive).
const Hashed = "(hashed in state)"

// Plan is what apply would do, as plain data. Its exported fields and their JSON
// tags are the `plan --json` format and the saved plan format; the human
// renderer reads the same value.
type Plan struct {
	FormatVersion string `json:"format_version"`
	// Env is the profile the plan was computed for ("" for none).
	Env string `json:"env"`
	// Changes holds one entry per daemon (no-op included), sorted by name;
	// with Targets, one per target.
	Changes []Change `json:"changes"`
	// Targets are the daemons of plan/apply -target (addresses, sorted): the
	// plan covers them only, and is partial. LeftOut are the other daemons
	// that have changes (or bd file edits) of their own, which it leaves out.
	Targets []string `json:"targets,omitempty"`
	LeftOut []string `json:"left_out,omitempty"`
	// Drift holds what Observe found that is not a change of the file: unmanaged
	// bd daemons, version mismatches, processes changed under us, the agent down.
	Drift []Finding `json:"drift"`
	// Alerts are the alert blocks that differ from the agent's (added,
	// changed, removed); apply hands them to the agent, no daemon restarted.
	Alerts []AlertChange `json:"alerts,omitempty"`
	// Edits are changes to files bd reads (dolt.auto-start: false in a
	// workspace's config.yaml) that apply makes before it starts daemons.
	Edits []ConfigEdit `json:"edits,omitempty"`
	// Agent is set when apply replaces the agent: it runs another version of
	// beadsctl. The daemons it runs are then restarted under the new one.
	Agent *AgentChange `json:"agent,omitempty"`
	// Graph is the dependency graph of the declared daemons: the start
	// order and every depends_on edge.
	Graph Graph `json:"graph"`

	// The fields below exist for saved plans (`plan --out`): apply refuses a saved
	// plan when any of them no longer matches. They must not influence the plan's
	// content.
	Lineage        string    `json:"lineage,omitempty"`
	Serial         int64     `json:"serial"`
	ConfigHash     string    `json:"config_hash"`
	AgentPid       int       `json:"agent_pid,omitempty"`
	AgentStartTime time.Time `json:"agent_start_time,omitzero"`
}

// Graph is the order in which daemons start: Order's levels (each daemon
// depends only on daemons of earlier levels; stop and destroy run them in
// reverse) and the depends_on edges, sorted by dependent then dependency.
type Graph struct {
	Order [][]string `json:"order"`
	Edges []Edge     `json:"edges"`
}

// Edge is one depends_on block: Daemon waits for DependsOn to meet Condition.
type Edge struct {
	Daemon    string `json:"daemon"`
	DependsOn string `json:"depends_on"`
	Condition string `json:"condition"`
	OnRestart string `json:"on_restart"`
}

// Dependent is what a change of one daemon does to a daemon depending on it.
type Dependent struct {
	Daemon    string `json:"daemon"`
	OnRestart string `json:"on_restart"`
	// Effect is "restarts with it" (on_restart = "restart") or "keeps
	// running" (on_restart = "ignore").
	Effect string `json:"effect"`
}

// AgentChange is the replacement of an agent of another beadsctl version.
type AgentChange struct {
	Pid int `json:"pid"`
	// Version and API are the running agent's; WantVersion and WantAPI this beadsctl's.
	Version     string `json:"version"`
	API         int    `json:"api"`
	WantVersion string `json:"want_version"`
	WantAPI     int    `json:"want_api"`
	// Daemons are those the old agent runs: they stop gracefully with it and
	// start again under the new agent (as the changes below say).
	Daemons []string `json:"daemons"`
}

// Change is the planned action on one daemon.
type Change struct {
	// Address is "daemon.NAME".
	Address string `json:"address"`
	Name    string `json:"name"`
	// Actions is one of ["no-op"], ["create"], ["update"], ["delete"], ["delete","create"].
	Actions []Action `json:"actions"`
	// Before is the daemon as last applied (environment values hashed), nil when
	// it was never applied. After is the daemon as declared with sensitive values
	// masked, nil for a delete.
	Before *schema.Daemon `json:"before"`
	After  *schema.Daemon `json:"after"`
	// Reason says why, e.g. "bd 0.28.0 installed, daemon runs 0.26.0".
	Reason     string      `json:"reason,omitempty"`
	Attributes []Attribute `json:"attributes,omitempty"`
	// Live is the process apply expects to find (for stale saved plans), nil when
	// the agent does not run the daemon.
	Live *LiveProcess `json:"live,omitempty"`
	// Start is true when the daemon exists in the agent but is stopped, and apply starts it.
	Start bool `json:"start,omitempty"`
	// Follows names the dependency whose restart restarts this daemon (its
	// depends_on has on_restart = "restart"): the agent restarts it, apply
	// only waits for its new run.
	Follows string `json:"follows,omitempty"`
	// Dependents says, for a restart, what happens to the daemons that
	// depend on this one.
	Dependents []Dependent `json:"dependents,omitempty"`
}

// LiveProcess is what the plan saw running for one daemon.
type LiveProcess struct {
	State     agentapi.State `json:"state"`
	Pid       int            `json:"pid,omitempty"`
	StartTime time.Time      `json:"start_time,omitzero"`
}

// Attribute is the before and after of one attribute. A nil side means absent.
type Attribute struct {
	Path          string  `json:"path"`
	Before        *string `json:"before"`
	After         *string `json:"after"`
	ForcesRestart bool    `json:"forces_restart,omitempty"`
	Sensitive     bool    `json:"sensitive,omitempty"`
	// From is the env file that sets this environment variable (as beads.hcl
	// names it), "" when beads.hcl does.
	From string `json:"from,omitempty"`
}

// Is reports whether the change's actions are exactly as.
func (c *Change) Is(as ...Action) bool { return slices.Equal(c.Actions, as) }

// Replace reports whether the change is a restart (-/+).
func (c *Change) Replace() bool { return c.Is(ActionDelete, ActionCreate) }

// Summary counts the changes: started, updated in place, restarted, stopped.
func (p *Plan) Summary() (start, update, restart, stop int) {
	for i := range p.Changes {
		c := &p.Changes[i]
		switch {
		case c.Is(ActionCreate):
			start++
		case c.Is(ActionUpdate):
			update++
		case c.Replace():
			restart++
		case c.Is(ActionDelete):
			stop++
		}
	}
	return
}

// HasChanges reports whether applying the plan would do anything.
func (p *Plan) HasChanges() bool {
	if len(p.Edits) > 0 || p.Agent != nil || len(p.Alerts) > 0 {
		return true
	}
	for i := range p.Changes {
		if !p.Changes[i].Is(ActionNoop) {
			return true
		}
	}
	return false
}

// Blocking returns the drift findings that stop apply: unmanaged bd daemons
// and rival Dolt servers (both taken over with --replace-unmanaged), a bd
// daemon's folder that is no workspace (bd init), a Dolt port held by another
// program and a missing dolt binary.
func (p *Plan) Blocking() []Finding {
	var out []Finding
	for _, f := range p.Drift {
		switch f.Kind {
		case KindUnmanaged, KindBdWorkspace, KindDoltRival, KindDoltPortTaken, KindDoltMissing:
			out = append(out, f)
		}
	}
	return out
}

// Live is what Observe found: the last applied state, the agent and its daemons,
// and for bd daemons the installed and running versions and rivals.
type Live struct {
	// State is the last applied state (fresh, Applied() false, when never applied).
	State *State
	// AgentUp tells whether the agent answered; Agent is its answer.
	AgentUp bool
	Agent   agentapi.AgentStatus
	// Daemons is what the agent runs, by name.
	Daemons map[string]agentapi.Status
	// AgentErr is why the agent did not answer (nil when it did, or was not asked).
	AgentErr error
	// Beads is, by daemon name, what was learnt of bd daemons.
	Beads map[string]BeadsLive
	// Dolt is, by daemon name, what was learnt of dolt_server daemons.
	Dolt map[string]DoltLive
	// PM2 are the PM2 apps that run a daemon's command in its folder, in
	// PM2's live list or its saved list (ObservePM2; drift asks, plan does not).
	PM2 []PM2App
	// Version is the beadsctl version planning ("" compares none): an agent
	// of another version (or control API) is replaced by apply.
	Version string
	// At is when the agent was asked (zero: not known): a daemon online
	// between crashes is in a crash loop until it has outlived min_uptime.
	At time.Time
}

// AgentDrivable returns nil when the agent may be driven by this beadsctl
// (start, stop, restart), and the refusal otherwise (apply replaces it).
func (l *Live) AgentDrivable() error {
	if a := l.AgentOutdated(); a != nil {
		return &AgentVersionError{AgentVersion: a.Version, AgentAPI: a.API, Version: a.WantVersion}
	}
	return nil
}

// AgentOutdated returns the replacement of an agent that answers but runs
// another beadsctl version or control API than live.Version; nil otherwise.
func (l *Live) AgentOutdated() *AgentChange {
	if l == nil || !l.AgentUp || l.Version == "" || (l.Agent.Version == l.Version && l.Agent.API == agentapi.APIVersion) {
		return nil
	}
	a := &AgentChange{Pid: l.Agent.Pid, Version: l.Agent.Version, API: l.Agent.API,
		WantVersion: l.Version, WantAPI: agentapi.APIVersion, Daemons: []string{}}
	for _, s := range l.Agent.Daemons {
		a.Daemons = append(a.Daemons, s.Name)
	}
	sort.Strings(a.Daemons)
	return a
}

// BeadsLive is what Observe learnt of one bd daemon's workspace.
type BeadsLive struct {
	// Installed is the installed bd CLI's version ("" when unknown).
	Installed string `json:"installed,omitempty"`
	// InstalledErr says why Installed is unknown when `bd version` did not answer in time.
	InstalledErr string `json:"installed_error,omitempty"`
	// Running is the running daemon's version ("" when none runs or unknown).
	Running string `json:"running,omitempty"`
	// Unmanaged is a bd daemon holding the workspace that is not ours.
	Unmanaged *Unmanaged `json:"unmanaged,omitempty"`
	// Workspace says why bd cannot run its daemon in the daemon's folder
	// ("" when it can): no .beads/ set up by bd init there or above, or a
	// parent's workspace that bd would use instead of the one beadsctl watches.
	Workspace string `json:"workspace_problem,omitempty"`
}

// Unmanaged is a bd daemon that beadsctl did not start.
type Unmanaged struct {
	Pid       int       `json:"pid"`
	Version   string    `json:"version,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	// StartTimeMS is the OS start time of the process (Unix ms; 0 when unknown):
	// no signal is sent to the pid unless it still matches.
	StartTimeMS int64 `json:"start_time_ms,omitempty"`
	// StartTimeErr says why StartTimeMS is 0 when its reading failed: the pid is
	// then not proven, and nothing is signalled.
	StartTimeErr string `json:"start_time_error,omitempty"`
	// Via says how it was seen: "daemon.lock" or "bd.sock".
	Via string `json:"via"`
	// Workspace is the folder holding its .beads/.
	Workspace string `json:"workspace"`
}

// StartTime is StartTimeMS as a time (zero when unknown).
func (u Unmanaged) StartTime() time.Time {
	if u.StartTimeMS == 0 {
		return time.Time{}
	}
	return time.UnixMilli(u.StartTimeMS)
}

// ComputePlan compares what beads.hcl declares with what runs. It does no I/O
// and its result depends only on its arguments.
func ComputePlan(desired *schema.Config, live *Live) *Plan {
	if live == nil {
		live = &Live{}
	}
	st := live.State
	if st == nil {
		st = &State{}
	}
	p := &Plan{
		FormatVersion: PlanFormatVersion,
		Env:           desired.Env,
		Changes:       make([]Change, 0, len(desired.Daemons)),
		Drift:         []Finding{},
		Lineage:       st.Lineage,
		Serial:        st.Serial,
		ConfigHash:    ConfigHash(desired),
	}
	if live.AgentUp {
		p.AgentPid, p.AgentStartTime = live.Agent.Pid, live.Agent.StartTime
	}
	p.Alerts = planAlerts(desired, live)
	declared := make(map[string]bool, len(desired.Daemons))
	for i := range desired.Daemons {
		d := &desired.Daemons[i]
		declared[d.Name] = true
		p.Changes = append(p.Changes, planDaemon(d, live, st))
	}
	var gone []string
	for name := range st.Daemons {
		if !declared[name] {
			gone = append(gone, name)
		}
	}
	for name := range live.Daemons {
		if _, inState := st.Daemons[name]; !declared[name] && !inState {
			gone = append(gone, name)
		}
	}
	for _, name := range gone {
		c := Change{Address: "daemon." + name, Name: name, Actions: []Action{ActionDelete}}
		if s, ok := st.Daemons[name]; ok {
			before := st.Shown(s)
			c.Before = &before
		}
		if a, ok := live.Daemons[name]; ok && live.AgentUp {
			c.Live = liveOf(a)
			c.Reason = "removed from beads.hcl"
		} else {
			c.Reason = "removed from beads.hcl; not running, forgotten from state"
		}
		p.Changes = append(p.Changes, c)
	}
	sort.SliceStable(p.Changes, func(i, j int) bool { return p.Changes[i].Name < p.Changes[j].Name })
	p.Graph = graphOf(desired)
	cascade(p, desired)
	p.Edits = doltEdits(desired)
	if p.Agent = live.AgentOutdated(); p.Agent != nil {
		why := fmt.Sprintf("the agent is replaced (beadsctl %s -> %s): stopped with it, started again under the new agent", p.Agent.Version, p.Agent.WantVersion)
		for i := range p.Changes {
			c := &p.Changes[i]
			if c.Live != nil && (c.Is(ActionNoop) || c.Is(ActionUpdate)) {
				c.Actions, c.Reason = []Action{ActionDelete, ActionCreate}, why
			}
		}
	}
	for _, f := range Findings(desired, live, false) {
		if f.Kind != KindConfigChanged && f.Kind != KindNeverApplied {
			p.Drift = append(p.Drift, f)
		}
	}
	return p
}

// graphOf is the dependency graph of desired.
func graphOf(desired *schema.Config) Graph {
	g := Graph{Order: schema.StartOrder(desired.Daemons), Edges: []Edge{}}
	if g.Order == nil {
		g.Order = [][]string{}
	}
	for _, d := range desired.Daemons {
		for _, dep := range d.DependsOn {
			g.Edges = append(g.Edges, Edge{Daemon: d.Name, DependsOn: dep.Daemon, Condition: dep.Condition, OnRestart: dep.OnRestart})
		}
	}
	return g
}

// cascade says, for each planned restart of a running daemon, what happens
// to its dependents: those with on_restart = "restart" restart with it (a
// change of their own that was a no-op or an update becomes a restart that
// Follows it), the others keep running.
func cascade(p *Plan, desired *schema.Config) {
	byName := map[string]*Change{}
	for i := range p.Changes {
		byName[p.Changes[i].Name] = &p.Changes[i]
	}
	// In start order, so that a restart reaches the dependents' dependents.
	for _, level := range p.Graph.Order {
		for _, name := range level {
			c := byName[name]
			if c == nil || !c.Replace() || c.Live == nil {
				continue
			}
			for _, e := range p.Graph.Edges {
				if e.DependsOn != name {
					continue
				}
				dc := byName[e.Daemon]
				effect := "keeps running"
				if e.OnRestart == schema.OnRestartRestart {
					effect = "restarts with it"
					if dc != nil && dc.Live != nil && (dc.Is(ActionNoop) || dc.Is(ActionUpdate)) {
						dc.Actions, dc.Follows = []Action{ActionDelete, ActionCreate}, name
						why := fmt.Sprintf("restarts with %s, which restarts (depends_on %q has on_restart = \"restart\")", name, name)
						dc.Reason = strings.TrimPrefix(dc.Reason+"; "+why, "; ")
					}
				}
				c.Dependents = append(c.Dependents, Dependent{Daemon: e.Daemon, OnRestart: e.OnRestart, Effect: effect})
			}
		}
	}
}

func liveOf(a agentapi.Status) *LiveProcess {
	return &LiveProcess{State: a.State, Pid: a.Pid, StartTime: a.StartTime}
}

func planDaemon(d *schema.Daemon, live *Live, st *State) Change {
	c := Change{Address: "daemon." + d.Name, Name: d.Name, After: Masked(d)}
	s, applied := st.Daemons[d.Name]
	if applied {
		before := st.Shown(s)
		c.Before = &before
	}
	a, running := live.Daemons[d.Name]
	running = running && live.AgentUp
	if running {
		c.Live = liveOf(a)
	}
	if applied && !st.SameDigest(s.Hash, d.Hash) {
		c.Attributes = envFrom(st.DiffDaemons(&s, d), d)
	}
	forces := false
	var forcing []string
	for _, at := range c.Attributes {
		if at.ForcesRestart {
			forces = true
			forcing = append(forcing, at.Path)
		}
	}
	var reasons []string
	if s, done := completedOneShot(d, st); done && (!running || a.State == agentapi.StateCompleted) {
		// A one-shot that completed with this spec: not run again.
		c.Actions = []Action{ActionNoop}
		c.Reason = fmt.Sprintf("completed successfully at %s; runs again when its spec changes", s.CompletedAt.Local().Format(time.DateTime))
		return c
	}
	switch {
	case running && a.State == agentapi.StateCompleted && !st.SameDigest(a.SpecHash, d.Hash):
		c.Actions = []Action{ActionCreate}
		c.Start = true
		reasons = append(reasons, "the one-shot's spec changed: it runs again")
	case !running || a.State == agentapi.StateStopped:
		c.Actions = []Action{ActionCreate}
		c.Start = running
		switch {
		case applied && s.Destroyed && !running:
			reasons = append(reasons, "nothing runs since beadsctl destroy; apply starts it")
		case (applied && s.Stopped) || (running && a.Stopped):
			reasons = append(reasons, "stopped on purpose (beadsctl stop); apply starts it")
		case !live.AgentUp && applied:
			reasons = append(reasons, "the agent is not running")
		case running:
			reasons = append(reasons, "daemon is stopped"+suffix(a.Reason))
		case applied:
			reasons = append(reasons, "the agent does not run it")
		}
	case a.State == agentapi.StateErrored:
		c.Actions = []Action{ActionDelete, ActionCreate}
		reasons = append(reasons, "daemon errored"+suffix(a.Reason))
	case !applied:
		if st.SameDigest(a.SpecHash, d.Hash) {
			// Running as declared but not in state: adopt it without touching it.
			c.Actions = []Action{ActionNoop}
			reasons = append(reasons, "running as declared; apply records it in state")
		} else {
			c.Actions = []Action{ActionDelete, ActionCreate}
			reasons = append(reasons, "the agent runs a spec that was not applied from here")
		}
	default:
		if forces {
			reasons = append(reasons, strings.Join(forcing, ", ")+" changed, which forces a restart")
		}
		switch {
		case a.SpecHash != "" && !st.SameDigest(a.SpecHash, s.Hash) && !st.SameDigest(a.SpecHash, d.Hash):
			forces = true
			reasons = append(reasons, "the agent runs a spec that was not applied from here")
		case st.SameDigest(a.SpecHash, s.Hash):
			if r := liveChanged(st, &s, &a); r != "" {
				forces = true
				reasons = append(reasons, r)
			}
		}
		if b, ok := live.Beads[d.Name]; ok && b.Installed != "" && b.Running != "" && b.Installed != b.Running {
			forces = true
			reasons = append(reasons, fmt.Sprintf("bd %s installed, daemon runs %s", b.Installed, b.Running))
		}
		switch {
		case forces:
			c.Actions = []Action{ActionDelete, ActionCreate}
		case !st.SameDigest(s.Hash, d.Hash) || (a.SpecHash != "" && !st.SameDigest(a.SpecHash, d.Hash)):
			c.Actions = []Action{ActionUpdate}
		default:
			c.Actions = []Action{ActionNoop}
		}
	}
	c.Reason = strings.Join(reasons, "; ")
	return c
}

func suffix(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// liveChanged says how the running process differs from what the last apply
// recorded ("" when it does not).
func liveChanged(st *State, s *DaemonState, a *agentapi.Status) string {
	switch {
	case len(s.Argv) > 0 && len(a.Argv) > 0 && !slices.Equal(s.Argv, a.Argv):
		return fmt.Sprintf("argv changed under us: %q, applied %q", a.Argv, s.Argv)
	case s.Dir != "" && a.Dir != "" && s.Dir != a.Dir:
		return fmt.Sprintf("working directory changed under us: %s, applied %s", a.Dir, s.Dir)
	case s.EnvHash != "" && a.EnvHash != "" && !st.SameDigest(s.EnvHash, a.EnvHash):
		return "environment changed under us"
	}
	return ""
}

// Masked returns a copy of d with sensitive environment values replaced by
// Sensitive: the daemon as plans and show print it.
func Masked(d *schema.Daemon) *schema.Daemon {
	m := *d
	if len(d.Sensitive) > 0 && len(d.Environment) > 0 {
		m.Environment = maps.Clone(d.Environment)
		for _, k := range d.Sensitive {
			if _, ok := m.Environment[k]; ok {
				m.Environment[k] = Sensitive
			}
		}
	}
	return &m
}

// attr is one flattened attribute of a daemon.
type attr struct {
	path   string
	value  string
	forces bool
}

// flatten lists the attributes of d in a fixed order, environment keys sorted.
// Everything the agent cannot change without restarting the process forces a restart.
func flatten(d *schema.Daemon) []attr {
	args, envFiles := jsonList(d.Args), jsonList(d.EnvFiles)
	out := []attr{
		{"command", strconv.Quote(d.Command), true},
		{"args", string(args), true},
		{"interval", dur(d.Interval), true},
		{"dir", strconv.Quote(d.Dir), true},
		{"env_file", string(envFiles), false}, // its variables are environment.*
	}
	keys := slices.Sorted(maps.Keys(d.Environment))
	for _, k := range keys {
		out = append(out, attr{"environment." + k, d.Environment[k], true})
	}
	sens, hcmd := jsonList(d.Sensitive), jsonList(d.Health.Command)
	out = append(out,
		attr{"sensitive", string(sens), false},
		attr{"restart.policy", strconv.Quote(d.Restart.Policy), false},
		attr{"restart.delay", dur(d.Restart.Delay), false},
		attr{"restart.backoff", strconv.Quote(d.Restart.Backoff), false},
		attr{"restart.max_delay", dur(d.Restart.MaxDelay), false},
		attr{"restart.max_restarts", strconv.Itoa(d.Restart.MaxRestarts), false},
		attr{"restart.min_uptime", dur(d.Restart.MinUptime), false},
		attr{"limits.memory", size(d.Limits.Memory), false},
		attr{"limits.check_interval", dur(d.Limits.CheckInterval), false},
		attr{"stop.signal", strconv.Quote(d.Stop.Signal), false},
		attr{"stop.timeout", dur(d.Stop.Timeout), false},
		attr{"logs.out", strconv.Quote(d.Logs.Out), true},
		attr{"logs.error", strconv.Quote(d.Logs.Error), true},
		attr{"logs.combined", strconv.Quote(d.Logs.Combined), true},
		attr{"logs.timestamps", strconv.FormatBool(d.Logs.Timestamps), true},
		attr{"logs.date_format", strconv.Quote(d.Logs.DateFormat), true},
		attr{"logs.rotate.max_size", size(d.Logs.Rotate.MaxSize), false},
		attr{"logs.rotate.keep", strconv.Itoa(d.Logs.Rotate.Keep), false},
		attr{"logs.rotate.compress", strconv.FormatBool(d.Logs.Rotate.Compress), false},
		attr{"health.check", strconv.Quote(d.Health.Check), false},
		attr{"health.interval", dur(d.Health.Interval), false},
		attr{"health.timeout", dur(d.Health.Timeout), false},
		attr{"health.failures", strconv.Itoa(d.Health.Failures), false},
		attr{"health.command", string(hcmd), false},
		attr{"health.address", strconv.Quote(d.Health.Address), false},
	)
	if d.Health.OnlineAfter > 0 {
		// Only apply's wait reads it; listed when set, as most files never do.
		out = append(out, attr{"health.online_after", dur(d.Health.OnlineAfter), false})
	}
	for _, dep := range d.DependsOn {
		// The next start waits on it: in place, never a restart.
		out = append(out, attr{"depends_on." + dep.Daemon, fmt.Sprintf("{ condition = %q, on_restart = %q }", dep.Condition, dep.OnRestart), false})
	}
	if h := d.Health.HTTP; h != nil {
		status, _ := json.Marshal(h.Status)
		out = append(out,
			attr{"health.http.url", strconv.Quote(h.URL), false},
			attr{"health.http.status", string(status), false},
			attr{"health.http.body", strconv.Quote(h.Body), false},
			attr{"health.http.tls_skip_verify", strconv.FormatBool(h.TLSSkipVerify), false},
		)
	}
	return append(out, doltAttrs(d)...)
}

// jsonList is l as a JSON array, <, > and & as written ("2>&1", not
// "2\u003e\u00261").
func jsonList(l []string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return "null"
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func dur(d time.Duration) string {
	if d == 0 {
		return `"0s"`
	}
	return strconv.Quote(d.String())
}

// size shows a byte count the way beads.hcl writes it ("200M") when it is exact.
func size(n uint64) string {
	for _, u := range []struct {
		s string
		n uint64
	}{{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n >= u.n && n%u.n == 0 {
			return strconv.Quote(strconv.FormatUint(n/u.n, 10) + u.s)
		}
	}
	return strconv.FormatUint(n, 10)
}

// diffDaemons lists the attributes that differ between before (as recorded in
// state: sensitive environment values hashed, see recording) and after (as
// declared). Environment values are compared with rec; sensitive ones (in
// either) are shown as Sensitive, the others old -> new, or "(changed)" when
// the state keeps only a hash of the old one (written by an older beadsctl).
func diffDaemons(before, after *schema.Daemon, rec recording) []Attribute {
	b, a := flatten(before), flatten(after)
	sensitive := map[string]bool{}
	for _, k := range before.Sensitive {
		sensitive["environment."+k] = true
	}
	for _, k := range after.Sensitive {
		sensitive["environment."+k] = true
	}
	bv := make(map[string]string, len(b))
	for _, x := range b {
		bv[x.path] = x.value
	}
	seen := make(map[string]bool, len(a))
	var out []Attribute
	for _, x := range a {
		seen[x.path] = true
		old, had := bv[x.path]
		key, isEnv := strings.CutPrefix(x.path, "environment.")
		switch {
		case !had:
			out = append(out, envAttr(x, nil, &x.value, sensitive[x.path]))
		case isEnv && !rec.same(key, old, x.value):
			out = append(out, hashedAs(envAttr(x, &old, &x.value, sensitive[x.path]), rec.hashed(key, old), "(changed)"))
		case !isEnv && old != x.value:
			o, n := old, x.value
			out = append(out, Attribute{Path: x.path, Before: &o, After: &n, ForcesRestart: x.forces})
		}
	}
	for _, x := range b {
		if !seen[x.path] {
			key, isEnv := strings.CutPrefix(x.path, "environment.")
			out = append(out, hashedAs(envAttr(x, &x.value, nil, sensitive[x.path]), isEnv && rec.hashed(key, x.value), "(not recorded)"))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return attrOrder(out[i].Path) < attrOrder(out[j].Path) })
	return out
}

// envAttr builds the Attribute of an environment variable; its values are quoted
// (or masked) here, since flatten keeps them raw for hashing.
func envAttr(x attr, before, after *string, sensitive bool) Attribute {
	if !strings.HasPrefix(x.path, "environment.") {
		return Attribute{Path: x.path, Before: before, After: after, ForcesRestart: x.forces}
	}
	show := func(v *string) *string {
		if v == nil {
			return nil
		}
		s := strconv.Quote(*v)
		if sensitive {
			s = Sensitive
		}
		return &s
	}
	return Attribute{Path: x.path, Before: show(before), After: show(after), ForcesRestart: x.forces, Sensitive: sensitive}
}

// hashedAs shows the old value of a not sensitive a as shown when the state
// keeps only its hash (hashed): "(changed)", or "(not recorded)" for a removal.
func hashedAs(a Attribute, hashed bool, shown string) Attribute {
	if hashed && !a.Sensitive {
		a.Before = &shown
	}
	return a
}

// attrOrder keeps attributes in flatten's order, environment variables by name
// among them.
func attrOrder(path string) string {
	for i, p := range attrPaths() {
		if path == p || (strings.HasSuffix(p, ".") && strings.HasPrefix(path, p)) {
			return fmt.Sprintf("%02d%s", i, path)
		}
	}
	return "99" + path
}

// attrPaths is built on first use (a plan), not at every command's start.
var attrPaths = sync.OnceValue(func() []string {
	var out []string
	for _, x := range flatten(&schema.Daemon{}) {
		out = append(out, x.path)
		switch x.path {
		case "dir":
			out = append(out, "environment.")
		case "health.address":
			out = append(out, "depends_on.")
		}
	}
	return out
})

// Attributes lists every attribute of d that has a value, as a create shows
// them: sensitive environment values masked. hashedEnv says that d's
// environment values are recorded hashes (a spec from a state written before
// environment_plain): those are shown as Hashed. A spec from beads.hcl, or
// from a state with plain values, has none — a value that merely looks like a
// hash (an image digest "sha256:…") is a value.
func Attributes(d *schema.Daemon, hashedEnv bool) []Attribute {
	sensitive := map[string]bool{}
	for _, k := range d.Sensitive {
		sensitive["environment."+k] = true
	}
	var out []Attribute
	for _, x := range flatten(d) {
		switch x.value {
		case `""`, `"0s"`, "0", "false", "null", "[]":
			continue
		}
		if hashedEnv && strings.HasPrefix(x.path, "environment.") && !sensitive[x.path] {
			v := Hashed
			out = append(out, Attribute{Path: x.path, After: &v})
			continue
		}
		a := envAttr(x, nil, &x.value, sensitive[x.path])
		a.ForcesRestart = false
		out = append(out, a)
	}
	return envFrom(out, d)
}

// envFrom names the env file of each environment variable in attrs that
// one of d's env files sets.
func envFrom(attrs []Attribute, d *schema.Daemon) []Attribute {
	for i := range attrs {
		if k, ok := strings.CutPrefix(attrs[i].Path, "environment."); ok {
			attrs[i].From = d.EnvFrom[k]
		}
	}
	return attrs
}

// ErrStalePlan is wrapped when a saved plan no longer matches what runs.
var ErrStalePlan = errors.New("saved plan is stale")

// CheckSaved refuses a saved plan when the state (lineage, serial), the config
// or any live process it saw changed since it was saved; fresh is the plan
// computed now from the same file.
func CheckSaved(saved, fresh *Plan) error {
	stale := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s; run beadsctl plan again", ErrStalePlan, fmt.Sprintf(format, args...))
	}
	switch {
	case saved.FormatVersion != PlanFormatVersion:
		return stale("format_version %q, this beadsctl writes %q", saved.FormatVersion, PlanFormatVersion)
	case saved.Lineage != fresh.Lineage:
		return stale("the state's lineage changed (%s, now %s)", orNone(saved.Lineage), orNone(fresh.Lineage))
	case saved.Serial != fresh.Serial:
		return stale("the state changed since the plan was saved (serial %d, now %d)", saved.Serial, fresh.Serial)
	case !slices.Equal(saved.Targets, fresh.Targets):
		return stale("the plan's -target (%s) is not this one's (%s)", orNone(strings.Join(saved.Targets, ", ")), orNone(strings.Join(fresh.Targets, ", ")))
	case saved.ConfigHash != fresh.ConfigHash || saved.Env != fresh.Env:
		return stale("beads.hcl or the profile changed since the plan was saved")
	case saved.AgentPid != fresh.AgentPid || !saved.AgentStartTime.Equal(fresh.AgentStartTime):
		return stale("the agent changed (pid %d, now %d)", saved.AgentPid, fresh.AgentPid)
	}
	was := map[string]*LiveProcess{}
	for i := range saved.Changes {
		was[saved.Changes[i].Name] = saved.Changes[i].Live
	}
	for i := range fresh.Changes {
		c := &fresh.Changes[i]
		w, ok := was[c.Name]
		if !ok {
			return stale("daemon %q appeared", c.Name)
		}
		n := c.Live
		if (w == nil) != (n == nil) || (w != nil && (w.Pid != n.Pid || !w.StartTime.Equal(n.StartTime) || w.State != n.State)) {
			return stale("daemon %q changed since the plan was saved (%s, now %s)", c.Name, w.describe(), n.describe())
		}
	}
	if len(saved.Changes) != len(fresh.Changes) {
		return stale("a daemon disappeared")
	}
	return nil
}

func (l *LiveProcess) describe() string {
	if l == nil {
		return "not running"
	}
	if l.Pid == 0 {
		return string(l.State)
	}
	return fmt.Sprintf("%s pid %d", l.State, l.Pid)
}
