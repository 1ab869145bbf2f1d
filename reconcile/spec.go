// Package reconcile observes what runs, computes the plan that brings it to what
// beads.hcl declares, applies it through the agent, and detects drift. It owns the
// agent's client, the state file and the lock. A command reaches all of it through
// one Session (session.go): opened once with the file, profile and lock timeout,
// it holds the lock, the state, the agent's client and the live view, offers
// Plan, Apply, Verb, Destroy and ResetState, and is the only writer of
// state.json. It imports schema, supervisor (for data types) and the internal/
// leaves (bd's protocol, process identity, atomic files, locks); it never
// prints. The reports built from what it observes (status, health, logs) live
// in package report.
package reconcile

import (
	"path/filepath"
	"slices"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/schema"
)

// SpecFor turns a resolved daemon into the spec the supervisor runs.
// bdVersion is the installed bd CLI's version, sent by beads-rpc health checks as
// client_version ("" when unknown). key is the project's secret key: the
// spec's Hash and EnvHash, which the agent reports back (and writes into
// agent.json and agent.log), are keyed with it, so that no value can be
// guessed from them.
func SpecFor(d schema.Daemon, bdVersion string, key []byte) agentapi.Spec {
	dolt, sqlHealth := doltSpec(d)
	env := make(map[string]string, len(d.Environment))
	for k, v := range d.Environment {
		env[k] = v
	}
	return agentapi.Spec{
		Name:      d.Name,
		Argv:      d.Argv(),
		Dir:       d.Dir,
		Env:       env,
		Sensitive: slices.Clone(d.Sensitive),
		Beads:     d.IsBeads(),
		Dolt:      dolt,
		Restart: agentapi.RestartPolicy{
			Policy:      d.Restart.Policy,
			Delay:       d.Restart.Delay,
			Backoff:     d.Restart.Backoff,
			MaxDelay:    d.Restart.MaxDelay,
			MaxRestarts: d.Restart.MaxRestarts,
			MinUptime:   d.Restart.MinUptime,
		},
		Limits: agentapi.Limits{Memory: d.Limits.Memory, CheckInterval: d.Limits.CheckInterval},
		Stop:   agentapi.StopPolicy{Signal: d.Stop.Signal, Timeout: d.Stop.Timeout},
		Logs: agentapi.LogSpec{
			Out:        d.Logs.Out,
			Error:      d.Logs.Error,
			Combined:   d.Logs.Combined,
			Timestamps: d.Logs.Timestamps,
			DateFormat: d.Logs.GoLayout,
			Rotate: agentapi.Rotate{
				MaxSize:  d.Logs.Rotate.MaxSize,
				Keep:     d.Logs.Rotate.Keep,
				Compress: d.Logs.Rotate.Compress,
			},
		},
		Health: agentapi.HealthSpec{
			Check:         d.Health.Check,
			Interval:      d.Health.Interval,
			Timeout:       d.Health.Timeout,
			Failures:      d.Health.Failures,
			Command:       d.Health.Command,
			Address:       d.Health.Address,
			ClientVersion: bdVersion,
			SQL:           sqlHealth,
			HTTP:          httpHealth(d.Health.HTTP),
		},
		DependsOn: dependsOn(d.DependsOn),
		Hash:      keyedDigest(key, d.Hash),
		EnvHash:   envDigest(key, d.Environment),
		ArgvHash:  argvDigest(key, d.Argv()),
	}
}

func dependsOn(deps []schema.Dependency) []agentapi.Dependency {
	var out []agentapi.Dependency
	for _, dep := range deps {
		out = append(out, agentapi.Dependency{Name: dep.Daemon, Condition: dep.Condition, OnRestart: dep.OnRestart})
	}
	return out
}

func httpHealth(h *schema.HTTPCheck) *agentapi.HTTPHealth {
	if h == nil {
		return nil
	}
	return &agentapi.HTTPHealth{URL: h.URL, Status: slices.Clone(h.Status), Body: h.Body, TLSSkipVerify: h.TLSSkipVerify}
}

// ForegroundSpecs are the specs of cfg for `beadsctl agent --foreground`,
// which starts them itself: hashed with the project's key (created when there
// is none, as a command holding the lock does). bdVersion gives the installed
// bd's version of a bd daemon's command.
func ForegroundSpecs(cfg *schema.Config, bdVersion func(d *schema.Daemon) string) ([]agentapi.Spec, error) {
	key, err := ensureKey(filepath.Join(cfg.Dir, agentapi.StateDir, SecretKeyName))
	if err != nil {
		return nil, err
	}
	specs := make([]agentapi.Spec, 0, len(cfg.Daemons))
	for i := range cfg.Daemons {
		d := &cfg.Daemons[i]
		specs = append(specs, SpecFor(*d, bdVersion(d), key))
	}
	return specs, nil
}

// MarkCompleted marks the specs of the one-shots that st recorded as
// completed with their current spec (restart.policy "once"): the agent
// hosts them as completed, for their dependents, and does not run them
// again (`agent --restore` after a reboot, as apply does).
func MarkCompleted(st *State, cfg *schema.Config, specs []agentapi.Spec) {
	for i := range specs {
		if d := declaredDaemon(cfg, specs[i].Name); d != nil {
			if _, done := completedOneShot(d, st); done {
				specs[i].Completed = true
			}
		}
	}
}

// AppliedConfig is the configuration the last apply recorded in st, for the
// project in dir, of the daemons keep allows: for `agent --restore` at boot
// when beads.hcl does not load (a half-done edit must not leave everything
// down). A daemon whose environment the state does not hold in clear (a
// sensitive value, which only beads.hcl has; a state written before the
// values were kept) cannot be started from it: skipped says why, by name.
func AppliedConfig(st *State, dir string, keep func(name string) bool) (cfg *schema.Config, skipped map[string]string) {
	cfg, skipped = &schema.Config{Dir: dir, Env: st.Env}, map[string]string{}
	for _, name := range st.Names() {
		ds := st.Daemons[name]
		if !keep(name) {
			continue
		}
		switch hidden := slices.ContainsFunc(ds.Spec.Sensitive, func(k string) bool { _, ok := ds.Spec.Environment[k]; return ok }); {
		case !ds.EnvPlain:
			skipped[name] = "the state was written before it kept environment values: only beads.hcl has them"
		case hidden:
			skipped[name] = "its sensitive environment values are only in beads.hcl"
		default:
			d := ds.Spec
			d.Name = name
			cfg.Daemons = append(cfg.Daemons, d)
		}
	}
	return cfg, skipped
}
