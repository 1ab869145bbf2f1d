// Package alerton names what a beads.hcl alert block may be fired on, and
// the figures that define a crash loop. It is the one home of these names:
// schema checks a block's `on` against them and the supervisor's alerter
// derives them from the events. It imports nothing of ours.
package alerton

import "time"

// Triggers: the names an alert's `on` list may hold.
const (
	// Errored: the agent gave the daemon up (its restart policy ran out, or a
	// start was refused).
	Errored = "errored"
	// CrashLoop: the agent restarted the daemon after a crash CrashLoopRestarts
	// times within CrashLoopWindow.
	CrashLoop = "crash_loop"
	// Memory: the daemon's process group went over its memory limit.
	Memory = "memory"
	// Unhealthy: the daemon's health check said unhealthy and it stayed so
	// for longer than the alert's unhealthy_for.
	Unhealthy = "unhealthy"
	// Recovered: after an alert about the daemon (any of the above), it is
	// healthy again: its health check passes, or (without a check) a run has
	// lasted CrashLoopWindow.
	Recovered = "recovered"
)

// All lists every trigger, in the order the README documents them.
var All = []string{Errored, CrashLoop, Memory, Unhealthy, Recovered}

// Known reports whether name is a trigger.
func Known(name string) bool {
	for _, t := range All {
		if t == name {
			return true
		}
	}
	return false
}

// CrashLoopRestarts restarts after a crash within CrashLoopWindow make a crash loop.
const CrashLoopRestarts = 3

// CrashLoopWindow is the window of CrashLoopRestarts.
const CrashLoopWindow = 60 * time.Second

// MinWindow is the shortest rate-limit window an alert block may ask for.
const MinWindow = time.Second

// Defaults of an alert block.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultWindow       = 60 * time.Second
	DefaultUnhealthyFor = 30 * time.Second
)
