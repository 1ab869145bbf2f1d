package supervisor

import (
	"context"
	"log/slog"
)

// DaemonOptions are the seams of a Daemon. Zero values select the real thing.
type DaemonOptions struct {
	Logger *slog.Logger
	// Runner starts processes (default ExecRunner).
	Runner Runner
	// Memory reads the RSS of a process group (default: gopsutil over the group).
	Memory MemoryFunc
}

// Daemon keeps one process in the state its Spec describes.
// CONTRACT (the implementation replaces this skeleton; signatures are fixed):
type Daemon struct {
	spec Spec
	opts DaemonOptions
}

// NewDaemon returns a Daemon for spec; nothing runs until Run.
func NewDaemon(spec Spec, opts DaemonOptions) *Daemon { return &Daemon{spec: spec, opts: opts} }

// Run starts the process and supervises it until ctx is done; then it stops the
// process gracefully (stop signal to the group, SIGKILL after the timeout), reaps it,
// and returns nil.
func (d *Daemon) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// Status is a snapshot of the daemon's state.
func (d *Daemon) Status() Status { return Status{Name: d.spec.Name} }

// Spec is the spec the daemon currently runs.
func (d *Daemon) Spec() Spec { return d.spec }

// Changed returns a channel that is closed at the next change of Status().State or Pid.
func (d *Daemon) Changed() <-chan struct{} { return make(chan struct{}) }

// Update converges to spec: in place when only restart policy, limits, health or log
// rotation differ; otherwise a graceful restart recorded with reason "config".
// It reports whether the process is being restarted.
func (d *Daemon) Update(spec Spec) (restart bool) { d.spec = spec; return false }

// Restart restarts the process gracefully with the given reason (ReasonManual etc.);
// a stopped or errored daemon is started again and its unstable count reset.
func (d *Daemon) Restart(reason string) {}

// Stop stops the process gracefully and keeps it stopped (Status.Stopped) until Start
// or Restart. It returns when the process is gone or ctx is done.
func (d *Daemon) Stop(ctx context.Context) error { return nil }

// Start starts a stopped or errored daemon (resetting the unstable count).
func (d *Daemon) Start() {}
