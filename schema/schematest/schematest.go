// Package schematest builds resolved daemons for the tests of the packages that consume schema
// (reconcile, report): the values schema would give a bd daemon, with a content hash.
//
// It imports schema only.
package schematest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/beadsctl/beadsctl/schema"
)

// BeadsDaemon is a resolved bd daemon as schema would give it, each mod applied, with a content hash.
func BeadsDaemon(name string, mod ...func(*schema.Daemon)) schema.Daemon {
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
	return Rehash(d)
}

// Rehash sets d.Hash from its content, as schema.HashDaemon does.
func Rehash(d schema.Daemon) schema.Daemon {
	d.Hash = ""
	b, _ := json.Marshal(d)
	sum := sha256.Sum256(b)
	d.Hash = hex.EncodeToString(sum[:])
	return d
}

// Config is the configuration of /p/beads.hcl under env with ds.
func Config(env string, ds ...schema.Daemon) *schema.Config {
	return &schema.Config{Path: "/p/beads.hcl", Dir: "/p", Env: env, Daemons: ds}
}
