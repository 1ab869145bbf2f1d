package report

import (
	"time"

	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
	"github.com/beadsctl/beadsctl/schema/schematest"
)

// beadsDaemon is schematest's bd daemon.
var beadsDaemon = schematest.BeadsDaemon

// applied is the state after applying ds (environment values are recorded as
// they are: no report shows them).
func applied(env string, ds ...schema.Daemon) *reconcile.State {
	st := &reconcile.State{FormatVersion: reconcile.StateFormatVersion, Lineage: "lin", Serial: 3, Env: env, Daemons: map[string]reconcile.DaemonState{}}
	for i, d := range ds {
		st.Daemons[d.Name] = reconcile.DaemonState{Spec: d, Hash: d.Hash, Pid: 100 + i,
			Argv: d.Argv(), Dir: d.Dir, EnvHash: "env1", StartTime: time.Unix(1000, 0)}
	}
	st.ConfigHash = reconcile.ConfigHash(schematest.Config(env, ds...))
	return st
}
