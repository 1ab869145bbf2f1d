package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/schema"
)

// SessionOptions say what a Session opens.
type SessionOptions struct {
	// File is beads.hcl; Profile the env profile; Environ the environment the
	// file is loaded with (nil: os.Environ()).
	File, Profile string
	Environ       []string
	// StickyProfile says that nothing chose the profile (no --env,
	// BEADSCTL_ENV or saved plan): Profile is ignored, and the session uses
	// the profile of the last apply (State.Env), as read again once the lock
	// is held. The applied profile sticks, as a selected Terraform workspace.
	StickyProfile bool
	// Load loads File under profile as the command shows it (diagnostics
	// rendered); nil loads it silently and returns the diagnostics as an error.
	Load func(profile string) (*schema.Config, error)
	// Command names the holder of the lock ("apply", "stop", "monitor stop").
	Command string
	// Lock takes the project's lock, waiting up to LockTimeout, and reloads
	// File once it is held (what the command acts on is the file as it is once
	// nothing else can act). Changed, when set, is told that the file changed.
	Lock        bool
	LockTimeout time.Duration
	Changed     func(file, lock string)
	// StateOnly opens no config, no state and no agent: the folder of File
	// and its lock (state reset, which must work when the state is unusable).
	StateOnly bool
	// ConfigOptional lets the session open when File does not load (broken,
	// or missing): it then acts on the daemons state.json records, in the
	// folder of File, and ConfigError says why (destroy, which must stop
	// what runs whatever became of beads.hcl).
	ConfigOptional bool
	// AgentTimeout bounds each call to the agent (--agent-timeout; 0: the
	// client's default). Version is this beadsctl's version: an agent of
	// another one is replaced by apply and not driven by the verbs.
	AgentTimeout time.Duration
	Version      string
	// StartAgent starts the agent of dir when an apply or a verb needs it.
	StartAgent func(ctx context.Context, dir string) error
	// FlushDolt commits the working set of a rival Dolt server before
	// --replace-unmanaged stops it (nil: such a server is not stopped).
	FlushDolt bd.FlushFunc
	// TestAlertsHere runs beads.hcl's alerts with env when no agent does
	// (alert test; nil: it says that the agent is needed).
	TestAlertsHere func(ctx context.Context, specs []agentapi.AlertSpec, name string, env []string) ([]agentapi.AlertResult, error)
	// Probes are how Observe asks bd and the OS (nil: DefaultProbes).
	Probes *Probes
	// Prefetch asks the agent for its status as soon as state.json has been
	// read, while the state is decoded and beads.hcl loaded, for the Observe
	// that follows (plan): a 1,000-daemon plan decoded the agent's 650 KB
	// answer after the 1.4 MB state, one core idle. Without Lock only; the
	// answer is dropped (and Observe asks again) when the session reads the
	// state again, so that the status is never older than the state.
	Prefetch bool
}

// Session is one command's hold on a project: beads.hcl as loaded (again,
// once the lock is held), the lock, the state, the agent's client and the
// live view. Every command that reads or changes what runs goes through one,
// and it is the only writer of state.json. Its rule: the state is written
// once after a mutation the agent confirmed at least part of (see confirmed);
// never when nothing was done, and so never when the agent does not answer
// (every mutation refuses before it starts); the previous file is kept as
// state.json.backup (writeState).
type Session struct {
	o      SessionOptions
	cfg    *schema.Config
	cfgErr error
	dir    string
	lock   *Lock
	st     *State
	client *Client
	live   *Live
	pre    *prefetch
}

// OpenSession loads the config, takes the lock when asked, reloads the config
// under it and reads the state. It does not ask the agent: Observe does.
func OpenSession(ctx context.Context, o SessionOptions) (*Session, error) {
	if o.Environ == nil {
		o.Environ = os.Environ()
	}
	if o.Load == nil {
		o.Load = func(profile string) (*schema.Config, error) { return loadSilently(o.File, profile, o.Environ) }
	}
	// What was read before the lock is used again under it when the lock
	// was free and the file is the same one (fileStamp): a 1,000-daemon
	// apply read state.json twice and parsed beads.hcl twice.
	var early *State
	var earlyStamp fileStamp
	var pre *prefetch
	prefetchFrom := func(dir string) func() {
		if !o.Prefetch || o.Lock || o.StateOnly {
			return nil
		}
		return func() { pre = startPrefetch(ctx, dir, o) }
	}
	opened := false
	defer func() {
		if !opened && pre != nil {
			pre.stop()
		}
	}()
	if o.StickyProfile && !o.StateOnly {
		path := StatePath(fileDir(o.File))
		earlyStamp = stampOf(path)
		if st, err := readState(path, prefetchFrom(fileDir(o.File))); err == nil { // an unusable state is reported below
			o.Profile, early = st.Env, st
		}
	}
	cfgStamp := stampOf(o.File)
	s := &Session{o: o}
	if o.StateOnly {
		s.dir = filepath.Dir(o.File)
	} else {
		if err := s.load(o.Profile); err != nil { // a config error never touches a running daemon
			return nil, err
		}
		s.dir = fileDir(o.File)
		if s.cfg != nil {
			s.dir = s.cfg.Dir
		}
	}
	if o.Lock {
		l, err := AcquireLock(ctx, LockPath(s.dir), o.Command, o.LockTimeout)
		if err != nil {
			return nil, err
		}
		s.lock = l
		if !o.StateOnly && (l.Waited() || !cfgStamp.same(stampOf(o.File))) {
			if err := s.reload(); err != nil {
				s.Close()
				return nil, err
			}
		}
	}
	if o.StateOnly {
		return s, nil // the state may be what is broken
	}
	st := early
	if st == nil || s.lock.Waited() || !earlyStamp.same(stampOf(StatePath(s.dir))) {
		if pre != nil { // of the state read before: older than this one
			pre.stop()
			pre = nil
		}
		var err error
		if st, err = readState(StatePath(s.dir), prefetchFrom(s.dir)); err != nil {
			s.Close()
			return nil, err
		}
	}
	if st.key == nil {
		// A command that holds the lock may record or send a hash: the key
		// is created now, before anything is. One that does not (plan,
		// drift) creates no file: its hashes are keyed with a key of its own.
		if s.lock != nil {
			key, err := ensureKey(filepath.Join(s.dir, agentapi.StateDir, SecretKeyName))
			if err != nil {
				s.Close()
				return nil, err
			}
			st.useKey(key, false)
		} else {
			st.useKey(temporaryKey(), true)
		}
	}
	s.st = st
	if o.StickyProfile && st.Env != s.o.Profile {
		// An apply under another profile ran while this command waited.
		s.o.Profile = st.Env
		if err := s.load(st.Env); err != nil {
			s.Close()
			return nil, err
		}
	}
	if s.cfg == nil {
		s.cfg = st.recordedConfig(o.File, s.dir)
	}
	keyHashes(s.cfg, st)
	s.pre, opened = pre, true
	return s, nil
}

// load loads the config under profile. With ConfigOptional a file that does
// not load leaves the session without one, and cfgErr says why.
func (s *Session) load(profile string) error {
	cfg, err := s.o.Load(profile)
	switch {
	case err == nil:
		s.cfg, s.cfgErr = cfg, nil
	case s.o.ConfigOptional:
		s.cfg, s.cfgErr = nil, err
	default:
		return err
	}
	return nil
}

// ConfigError is why the session acts without beads.hcl, on the daemons
// state.json records (nil when the file loaded; see ConfigOptional).
func (s *Session) ConfigError() error { return s.cfgErr }

// fileDir is the absolute folder of file.
// fileStamp identifies a file as it is: the same file (device and inode),
// size and modification time. The zero stamp (no file) equals only itself.
type fileStamp struct {
	fi os.FileInfo
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{fi}
}

// same reports whether both stamps are of the same, unchanged file (or of
// no file at all).
func (a fileStamp) same(b fileStamp) bool {
	if a.fi == nil || b.fi == nil {
		return a.fi == nil && b.fi == nil
	}
	return os.SameFile(a.fi, b.fi) && a.fi.Size() == b.fi.Size() && a.fi.ModTime().Equal(b.fi.ModTime())
}

func fileDir(file string) string {
	if abs, err := filepath.Abs(file); err == nil {
		return filepath.Dir(abs)
	}
	return filepath.Dir(file)
}

// keyHashes keys the daemon hashes of cfg with the state's key: from here on
// every hash of the config that is shown, saved or sent (plans, the agent's
// specs, state.json) is keyed, and compared with recorded ones through
// sameDigest.
func keyHashes(cfg *schema.Config, st *State) {
	for i := range cfg.Daemons {
		cfg.Daemons[i].Hash = st.digest(cfg.Daemons[i].Hash)
	}
}

// reload loads the file again under the lock: another apply may have run
// while this command waited, and the file changed since.
func (s *Session) reload() error {
	fresh, err := loadSilently(s.o.File, s.o.Profile, s.o.Environ)
	switch {
	case err == nil && s.cfg != nil && fresh.Dir == s.cfg.Dir && ConfigHash(fresh) == ConfigHash(s.cfg):
		return nil
	case err != nil && s.cfg == nil:
		return nil // it did not load before the lock either (ConfigOptional)
	}
	if s.o.Changed != nil {
		s.o.Changed(s.o.File, LockPath(s.dir))
	}
	return s.load(s.o.Profile)
}

// schemaLoad is schema.Load through the project's configuration cache
// (tests count the parses through it).
var schemaLoad = func(file, profile string, environ []string) (*schema.Config, map[string]*hcl.File, hcl.Diagnostics) {
	return schema.LoadCached(ConfigCache(file), file, profile, environ)
}

// ConfigCache is the configuration cache of the project of file
// (schema.Cache): entries in its state folder, authenticated with its secret
// key. nil while the project has no key (nothing applied there yet) or the
// key cannot be read (reading the state says why): nothing is cached then.
func ConfigCache(file string) *schema.Cache {
	dir := filepath.Join(fileDir(file), agentapi.StateDir)
	key, err := readKey(filepath.Join(dir, SecretKeyName))
	if err != nil || key == nil {
		return nil
	}
	return &schema.Cache{Dir: dir, Key: key}
}

func loadSilently(file, profile string, environ []string) (*schema.Config, error) {
	cfg, _, diags := schemaLoad(file, profile, environ)
	if diags.HasErrors() {
		return nil, schema.Error(diags)
	}
	return cfg, nil
}

// Config is the config the session acts on (nil with StateOnly).
func (s *Session) Config() *schema.Config { return s.cfg }

// State is the state as read (and as the last mutation recorded it); nil
// with StateOnly.
func (s *Session) State() *State { return s.st }

// Live is what Observe saw (nil before it).
func (s *Session) Live() *Live { return s.live }

// Client is the agent's client (dialled by Observe).
func (s *Session) Client() *Client { return s.client }

// view is what Observe saw, observing first when nothing was seen yet.
func (s *Session) view(ctx context.Context) (*Live, error) {
	if s.live != nil {
		return s.live, nil
	}
	return s.Observe(ctx)
}

// Observe asks the agent and bd what runs (pinning the dolt_server ports,
// see PinDoltPorts); Plan, Apply, Verb and Destroy act on what it saw last.
func (s *Session) Observe(ctx context.Context) (*Live, error) {
	if s.cfg == nil {
		return nil, errors.New("observe: the session has no config")
	}
	pr := DefaultProbes()
	if s.o.Probes != nil {
		pr = *s.o.Probes
	}
	var src StatusSource = s.client
	switch pre := s.pre; {
	case pre != nil && s.client == nil && pre.dir == s.dir:
		s.client, src = pre.client, pre
	case pre != nil:
		pre.stop()
	}
	s.pre = nil
	if s.client == nil {
		s.client = dialFor(s.dir, s.o)
		src = s.client
	}
	live := Observe(ctx, s.cfg, s.st, src, pr)
	if s.o.Version != "" {
		live.Version = s.o.Version // an agent of another version is replaced by apply
	}
	if ctx.Err() != nil {
		// Interrupted (Ctrl-C) while asking: what was seen is incomplete, and
		// a plan made from it would say what is not so.
		return nil, fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	s.live = live
	return live, nil
}

// Plan observes and computes the plan; when the agent does not answer there
// is no plan (what runs cannot be known: no plan is better than a wrong one).
// With targets (plan/apply -target: names or daemon.NAME addresses) the plan
// covers those daemons only (see Target).
func (s *Session) Plan(ctx context.Context, targets ...string) (*Plan, error) {
	live, err := s.view(ctx)
	if err != nil {
		return nil, err
	}
	if err := live.AgentAnswers(); err != nil {
		return nil, err
	}
	p := ComputePlan(s.cfg, live)
	if len(targets) == 0 {
		return p, nil
	}
	names, err := TargetNames(s.cfg, live, targets)
	if err != nil {
		return nil, err
	}
	if err := Target(p, s.cfg, live, names); err != nil {
		return nil, err
	}
	return p, nil
}

// Apply executes p (computed by Plan) and records what the agent confirmed.
// A plan without changes records the daemons it adopts (running as declared
// but not recorded), writes again a state an older beadsctl hashed without
// the key (keyed now), and does nothing else.
func (s *Session) Apply(ctx context.Context, p *Plan, o ApplyOptions) ([]Outcome, error) {
	live, err := s.view(ctx)
	if err != nil {
		return nil, err
	}
	if !p.HasChanges() {
		if !s.adopts(p) && !s.st.Unkeyed() && (!s.st.Applied() || s.st.Env == s.cfg.Env) {
			return nil, nil
		}
		// Daemons adopted, or the profile switched with nothing to change
		// (the new one sticks): recorded; nothing is started or stopped.
		o = ApplyOptions{Now: o.Now}
	} else if o.EnsureAgent == nil {
		o.EnsureAgent = s.ensureAgent()
	}
	if o.FlushDolt == nil {
		o.FlushDolt = s.o.FlushDolt
	}
	outcomes, err := applyPlan(ctx, s.cfg, p, live, s.st, s.client, o)
	return outcomes, s.commit(confirmed(outcomes, err, true), err)
}

// ApplyMetrics makes the agent serve its metrics where beads.hcl's metrics
// block says, or stop serving them when there is none. It returns the
// address served. An address the agent cannot bind (taken) is an error that
// changes nothing else; without a metrics block, an agent that is down or
// does not know the request has nothing to stop.
func (s *Session) ApplyMetrics(ctx context.Context) (string, error) {
	if s.client == nil || s.cfg == nil {
		return "", nil
	}
	want := ""
	if m := s.cfg.Metrics; m != nil {
		want = m.Listen
	}
	bound, err := s.client.SetMetricsListen(ctx, want)
	if want == "" {
		return "", nil
	}
	return bound, err
}

// adopts reports whether a no-op plan finds a daemon running as declared that
// the state does not record.
func (s *Session) adopts(p *Plan) bool {
	for _, ch := range p.Changes {
		if _, ok := s.st.Daemons[ch.Name]; !ok && ch.Live != nil {
			return true
		}
	}
	return false
}

// Verb starts, stops or restarts the named daemons (see runVerb) and records
// whether each was stopped on purpose.
func (s *Session) Verb(ctx context.Context, verb Verb, names []string, o VerbOptions) ([]Outcome, error) {
	live, err := s.view(ctx)
	if err != nil {
		return nil, err
	}
	if err := live.AgentAnswers(); err != nil {
		return nil, err
	}
	if err := live.AgentDrivable(); err != nil {
		return nil, err
	}
	if o.EnsureAgent == nil {
		o.EnsureAgent = s.ensureAgent()
	}
	if o.FlushDolt == nil {
		o.FlushDolt = s.o.FlushDolt
	}
	outcomes, err := runVerb(ctx, verb, s.cfg, names, live, s.st, s.client, o)
	return outcomes, s.commit(confirmed(outcomes, err, false), err)
}

// Destroy stops every daemon and the agent (see destroyAll) and records that
// nothing runs when the state recorded anything.
func (s *Session) Destroy(ctx context.Context, progress func(Progress)) error {
	live, err := s.view(ctx)
	if err != nil {
		return err
	}
	err = destroyAll(ctx, s.cfg, live, s.st, s.client, progress)
	return s.commit(err == nil && (s.st.Applied() || len(s.st.Daemons) > 0), err)
}

// ResetState moves the state file aside as state.json.reset-<time> and
// returns where ("" when there was none). Nothing is stopped.
func (s *Session) ResetState(now time.Time) (string, error) {
	path := StatePath(s.dir)
	aside := fmt.Sprintf("%s.reset-%s", path, now.UTC().Format("20060102T150405Z"))
	if err := os.Rename(path, aside); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("reset state: %w", err)
	}
	return aside, nil
}

// confirmed is the rule for writing state after a mutation: the agent
// confirmed at least part of it. For apply, that is any outcome (a failed
// change the agent runs is recorded too, and so is the config it came from)
// or a success; for a verb, an outcome that succeeded (failed ones leave the
// state alone).
func confirmed(outcomes []Outcome, err error, apply bool) bool {
	if apply {
		return err == nil || len(outcomes) > 0
	}
	return slices.ContainsFunc(outcomes, func(o Outcome) bool { return o.Err == nil })
}

// commit writes the state when record is set, then returns opErr (or the
// write's error when the operation succeeded).
func (s *Session) commit(record bool, opErr error) error {
	if record {
		if err := writeState(StatePath(s.dir), s.st); err != nil {
			return errors.Join(opErr, err)
		}
	}
	return opErr
}

func (s *Session) ensureAgent() func(ctx context.Context) error {
	if s.o.StartAgent == nil {
		return nil
	}
	dir := s.dir
	return func(ctx context.Context) error { return s.o.StartAgent(ctx, dir) }
}

// Close releases the lock and the agent's client.
func (s *Session) Close() error {
	if s.pre != nil {
		s.pre.stop()
		s.pre = nil
	}
	if s.client != nil {
		s.client.Close()
	}
	if s.lock == nil {
		return nil
	}
	l := s.lock
	s.lock = nil
	return l.Release()
}

// dialFor is the agent's client of dir, with the session's timeout and version.
func dialFor(dir string, o SessionOptions) *Client {
	c := Dial(dir)
	if o.AgentTimeout > 0 {
		c.SetTimeout(o.AgentTimeout)
	}
	if o.Version != "" {
		c.SetVersion(o.Version)
	}
	return c
}

// prefetch is the agent's status asked for ahead of Observe
// (SessionOptions.Prefetch), through a client of its own (the session's
// once used).
type prefetch struct {
	dir    string
	client *Client
	cancel context.CancelFunc
	done   chan struct{}
	st     agentapi.AgentStatus
	err    error
}

func startPrefetch(ctx context.Context, dir string, o SessionOptions) *prefetch {
	ctx, cancel := context.WithCancel(ctx)
	p := &prefetch{dir: dir, client: dialFor(dir, o), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.st, p.err = p.client.Status(ctx)
	}()
	return p
}

// Status is the answer asked for (a StatusSource for Observe).
func (p *prefetch) Status(ctx context.Context) (agentapi.AgentStatus, error) {
	select {
	case <-p.done:
		return p.st, p.err
	case <-ctx.Done():
		p.cancel()
		<-p.done
		return agentapi.AgentStatus{}, context.Cause(ctx)
	}
}

// stop drops the answer: the call is cancelled, and its client closed.
func (p *prefetch) stop() {
	p.cancel()
	<-p.done
	p.client.Close()
}
