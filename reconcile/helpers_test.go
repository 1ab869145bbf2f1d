package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/beadsctl/beadsctl/schema"
)

// beadsDaemon is a resolved bd daemon as schema would give it, with a content hash.
func beadsDaemon(name string, mod ...func(*schema.Daemon)) schema.Daemon {
	d := schema.Daemon{
		Name:        name,
		Command:     "bd",
		Args:        []string{"daemon", "--start", "--foreground"},
		Interval:    5 * time.Second,
		Dir:         "/p",
		Environment: map[string]string{"BD_AUTO_START_DAEMON": "true"},
		Restart:     schema.Restart{Policy: "always", Delay: 5 * time.Second, Backoff: "exponential", MaxDelay: time.Minute, MaxRestarts: 10, MinUptime: 10 * time.Second},
		Limits:      schema.Limits{Memory: 200 << 20, CheckInterval: time.Second},
		Stop:        schema.Stop{Signal: "SIGTERM", Timeout: 5 * time.Second},
		Logs:        schema.Logs{Out: "/p/.beads/out.log", Error: "/p/.beads/err.log"},
		Health:      schema.Health{Check: "beads-rpc", Interval: 30 * time.Second, Timeout: 5 * time.Second, Failures: 3},
	}
	for _, m := range mod {
		m(&d)
	}
	return rehash(d)
}

// rehash sets d.Hash from its content, as schema.HashDaemon does.
func rehash(d schema.Daemon) schema.Daemon {
	d.Hash = ""
	b, _ := json.Marshal(d)
	sum := sha256.Sum256(b)
	d.Hash = hex.EncodeToString(sum[:])
	return d
}

func config(env string, ds ...schema.Daemon) *schema.Config {
	return &schema.Config{Path: "/p/beads.hcl", Dir: "/p", Env: env, Daemons: ds}
}

// applied is the state after applying ds.
func applied(env string, ds ...schema.Daemon) *State {
	st := &State{FormatVersion: StateFormatVersion, Lineage: "lin", Serial: 3, Env: env, Daemons: map[string]DaemonState{}, key: testKey}
	for i, d := range ds {
		st.Daemons[d.Name] = DaemonState{Spec: hashedSpec(testKey, d), Hash: d.Hash, Pid: 100 + i,
			Argv: d.Argv(), Dir: d.Dir, EnvHash: "env1", StartTime: time.Unix(1000, 0)}
	}
	st.ConfigHash = ConfigHash(config(env, ds...))
	return st
}

// testKey is the secret key of the states the tests build.
var testKey = []byte("0123456789abcdef0123456789abcdef")
