package reconcile

import (
	"time"

	"github.com/beadsctl/beadsctl/schema"
	"github.com/beadsctl/beadsctl/schema/schematest"
)

// The fixtures of schematest, under the names these tests use.
var (
	beadsDaemon = schematest.BeadsDaemon
	config      = schematest.Config
)

// applied is the state after applying ds.
func applied(env string, ds ...schema.Daemon) *State {
	st := &State{FormatVersion: StateFormatVersion, Lineage: "lin", Serial: 3, Env: env, Daemons: map[string]DaemonState{}, key: testKey}
	for i, d := range ds {
		st.Daemons[d.Name] = DaemonState{Spec: hashedSpec(testKey, d), EnvPlain: true, Hash: d.Hash, Pid: 100 + i,
			Argv: d.Argv(), Dir: d.Dir, EnvHash: "env1", StartTime: time.Unix(1000, 0)}
	}
	st.ConfigHash = ConfigHash(config(env, ds...))
	return st
}

// hashedAll is st as a beadsctl before EnvPlain wrote it: every environment
// value a keyed hash.
func hashedAll(st *State) *State {
	for name, ds := range st.Daemons {
		for k, v := range ds.Spec.Environment {
			if !isRecordedHash(v) {
				ds.Spec.Environment[k] = hashValue(st.key, v)
			}
		}
		ds.EnvPlain = false
		st.Daemons[name] = ds
	}
	return st
}

// testKey is the secret key of the states the tests build.
var testKey = []byte("0123456789abcdef0123456789abcdef")
