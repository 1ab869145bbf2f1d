// Command beadsctl-agent is the per-project agent, linked with only the
// supervisor (about 7 MB idle against 14 MB for the whole CLI): apply starts
// it detached when it sits beside beadsctl, and `beadsctl agent` (with
// --foreground, under systemd, Nomad or a container) hands over to it. It
// also runs the jobs of beadsctl that need what the supervisor links (alert
// test without an agent, the flush of a rival Dolt server), so that
// beadsctl's own start stays small: see internal/agentmain.
//
// GOMAXPROCS is not re-read from the cgroup limits every second (Go 1.25's
// updatemaxprocs): an idle agent's sysmon did it at each wakeup (a
// sched_getaffinity and cgroup reads a second, the agent's whole idle work
// being ~60 small reads a second for 50 daemons).
//
//go:debug updatemaxprocs=0
package main

import (
	"os"

	"github.com/beadsctl/beadsctl/internal/agentmain"
)

// version is set at build time, as beadsctl's is; apply checks that they
// match, and a command beadsctl hands over is refused for another version.
var version = "0.1.0-dev"

func main() { os.Exit(agentmain.Main(version)) }
