package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// examples are the Example sections of the commands that do not set their
// own, by command path without the root ("state reset"). A test checks that
// every runnable command has one.
var examples = map[string]string{
	"version": `  beadsctl version`,
	"plan": `  beadsctl plan --env production
  beadsctl plan --env production --out tonight.plan   # apply it later: beadsctl apply tonight.plan
  beadsctl plan --json | jq '.changes[].address'
  beadsctl plan --detailed-exitcode || [ $? -eq 2 ]    # CI: 2 means changes pending
  beadsctl plan -target web                            # only daemon.web; says what it leaves out`,
	"apply": `  beadsctl apply --env production
  beadsctl apply --env production --auto-approve --timeout 30s
  beadsctl apply tonight.plan                           # refused if anything changed since the plan
  beadsctl apply --replace-unmanaged                    # take over a bd daemon beadsctl did not start
  beadsctl apply -target web -target daemon.worker      # those two only: the result is partial`,
	"drift": `  beadsctl drift --env production          # exit 2 with findings, 0 in sync
  beadsctl drift --config-only              # only beads.hcl against the last apply
  beadsctl drift --json | jq '.findings[]'`,
	"status": `  beadsctl status
  beadsctl status --json | jq '.daemons[] | {name, status, memory_bytes}'
  beadsctl status -w                        # refresh until Ctrl-C`,
	"logs": `  beadsctl logs                     # the last lines of every daemon, merged in time order
  beadsctl logs beads -n 100 -f      # follow through rotation until Ctrl-C
  beadsctl logs --err --since 10m
  beadsctl logs --flush              # empty the log files in place`,
	"events": `  beadsctl events                   # the last 20 events of every daemon and of the agent
  beadsctl events beads -f           # then each new one as it happens, until Ctrl-C
  beadsctl events --since 1h --json  # one JSON object a line, as recorded`,
	"alert test": `  beadsctl alert test               # a sample event through every alert: exit status and output of each
  beadsctl alert test desk          # through the alert "desk" only`,
	"metrics": `  beadsctl metrics                  # what a Prometheus scrape of the agent gets
  beadsctl metrics | grep beadsctl_daemon_restarts_total`,
	"monitor": `  beadsctl monitor                  # r restart, s stop, t start, ↑/↓ select, q quit`,
	"health": `  beadsctl health                   # a checklist; exit 1 when anything is unhealthy
  beadsctl health --json --enhanced  # the report of the old health script, with the sync view`,
	"start": `  beadsctl start          # every daemon stopped with beadsctl stop
  beadsctl start beads`,
	"stop": `  beadsctl stop beads     # recorded: drift says "stopped on purpose"
  beadsctl stop`,
	"restart": `  beadsctl restart beads
  beadsctl restart`,
	"destroy": `  beadsctl destroy                  # asks first on a terminal
  beadsctl destroy --auto-approve`,
	"import pm2": `  beadsctl import pm2 ecosystem.config.cjs > beads.hcl
  beadsctl import pm2 ecosystem.config.js --app beads-daemon -o beads.hcl`,
	"migrate": `  beadsctl migrate --dry-run        # what would be stopped, cleaned, written and started
  beadsctl migrate
  beadsctl migrate --force --json   # SIGKILL an old daemon that ignores SIGTERM`,
	"agent": `  beadsctl agent --foreground --env production   # under systemd, Nomad or a container
  beadsctl agent                                 # what apply starts, detached`,
	"ls": `  beadsctl ls                        # pm2 ls: name, status, pid, uptime, restarts, CPU, memory
  beadsctl list -w                   # refresh until Ctrl-C`,
	"show": `  beadsctl show beads                # spec, process, restarts, health checks, logs
  beadsctl show beads -n 50          # with the last 50 log lines
  beadsctl show beads --json | jq '.restarts[] | {at, reason}'`,
	"state list": `  beadsctl state list                # daemon.beads, one address a line`,
	"state show": `  beadsctl state show daemon.beads   # as the last apply recorded it`,
	"state reset": `  beadsctl state reset               # says what it forgets, then asks
  beadsctl state reset -y            # without a terminal (CI); nothing is stopped`,
}

// addExamples sets the Example of every command in the tree that has none.
func addExamples(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(strings.TrimPrefix(c.CommandPath(), root.Name()), " ")
		if c.Example == "" {
			c.Example = examples[path]
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
