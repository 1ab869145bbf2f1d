package reconcile

import (
	"fmt"
	"testing"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/schema"
)

// benchConfig is n resolved bd daemons, hashed as schema would.
func benchConfig(n int) *schema.Config {
	c := &schema.Config{Path: "/p/beads.hcl", Dir: "/p", Env: "production"}
	for i := range n {
		d := schema.Daemon{
			Name:        fmt.Sprintf("beads-%04d", i),
			Command:     "bd",
			Args:        []string{"daemon", "--start", "--foreground"},
			Interval:    5 * time.Second,
			Dir:         fmt.Sprintf("/p/ws%04d", i),
			Root:        "/p",
			Environment: map[string]string{"BD_AUTO_START_DAEMON": "true", "NODE_ENV": "production"},
			Restart:     schema.Restart{Policy: "always", Delay: 5 * time.Second, Backoff: "exponential", MaxDelay: time.Minute, MaxRestarts: 10, MinUptime: 10 * time.Second},
			Limits:      schema.Limits{Memory: 200 << 20, CheckInterval: time.Second},
			Stop:        schema.Stop{Signal: "SIGTERM", Timeout: 5 * time.Second},
			Logs:        schema.Logs{Out: fmt.Sprintf("/p/ws%04d/.beads/out.log", i), Timestamps: true},
			Health:      schema.Health{Check: "beads-rpc", Interval: 30 * time.Second, Timeout: 5 * time.Second, Failures: 3},
		}
		d.Hash = schema.HashDaemon(&d)
		c.Daemons = append(c.Daemons, d)
	}
	return c
}

// benchLive is the agent running every daemon of c exactly as applied.
func benchLive(c *schema.Config) *Live {
	st := &State{FormatVersion: StateFormatVersion, Lineage: "lin", Serial: 1, Env: c.Env, Daemons: map[string]DaemonState{}, key: testKey}
	l := &Live{State: st, AgentUp: true, Agent: agentapi.AgentStatus{Pid: 7}, Daemons: map[string]agentapi.Status{}}
	for i, d := range c.Daemons {
		ds := DaemonState{Spec: hashedSpec(testKey, d), EnvPlain: true, Hash: d.Hash, Pid: 1000 + i, StartTime: time.Unix(1000, 0),
			Argv: d.Argv(), Dir: d.Dir, EnvHash: envDigest(testKey, d.Environment)}
		st.Daemons[d.Name] = ds
		l.Daemons[d.Name] = agentapi.Status{Name: d.Name, State: agentapi.StateOnline, Pid: ds.Pid,
			StartTime: ds.StartTime, Argv: ds.Argv, Dir: ds.Dir, EnvHash: ds.EnvHash, SpecHash: d.Hash}
	}
	st.ConfigHash = ConfigHash(c)
	return l
}

// BenchmarkComputePlanScale: the plan of 1, 100 and 1,000 daemons, when everything
// is to be started (fresh) and when everything runs as applied (in sync, what
// drift and a no-op apply compute); BenchmarkComputePlan in plan_test.go
// covers a tenth changed. Target: 1,000 daemons in a few milliseconds.
func BenchmarkComputePlanScale(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		c := benchConfig(n)
		b.Run(fmt.Sprintf("fresh/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ComputePlan(c, &Live{})
			}
		})
		live := benchLive(c)
		b.Run(fmt.Sprintf("in_sync/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ComputePlan(c, live)
			}
		})
	}
}
