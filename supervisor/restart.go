package supervisor

import (
	"errors"
	"fmt"
	"time"
)

// The restart rules, in one place. They apply to runs that ended on their own
// (a crash or a clean exit); a restart the supervisor asks for (memory, health,
// manual, config) starts the next run at once and leaves the counters alone,
// except that a manual Restart or Start resets the unstable count.
//
//  1. A run shorter than MinUptime is unstable: the unstable count grows by one.
//     A run that lasted MinUptime or longer resets the unstable count to 0, and
//     with it the backoff.
//  2. Policy decides whether the process runs again: "always" (the default)
//     restarts after any exit, "on-failure" only after a non-zero exit code or a
//     death by signal, "never" never. A process that is not restarted is stopped.
//     "once" is a one-shot step: restarted as "on-failure" is until it exits 0
//     once, then completed (StateCompleted): not run again until it is asked to
//     (Start, Restart, a new spec).
//  3. MaxRestarts (> 0) unstable runs in a row make the daemon errored, whatever
//     the delay: no more restarts until Start or Restart.
//  4. The delay before the next start is Delay with "constant" backoff (the
//     default). With "exponential" backoff it is Delay * 2^(n-1) for the n-th
//     unstable run in a row (Delay after a stable run), capped by MaxDelay when
//     MaxDelay > 0. A Delay of 0 restarts at once, also with exponential backoff,
//     but rule 5 still applies.
//  5. Whatever the configuration, runs shorter than max(MinUptime, 1s) are
//     rapid. After the first three rapid runs in a row (a burst, restarted as
//     rules 1-4 say) each one is followed by at least the floor delay: 10ms,
//     doubling with each, up to 1s. A process that exits at once with
//     delay 0 and max_restarts 0 (unlimited) restarts about once a second,
//     not thousands of times, and the agent's CPU and log stay quiet. A run
//     that lasted longer resets the floor.

// ExitError is the error of a process that exited with a non-zero code or was
// killed by a signal. Runners return it from Process.Err so that the restart
// rules see the same thing from a real and a fake process.
type ExitError struct {
	// Code is the exit code, -1 when killed by a signal.
	Code int
	// Signal is the name of the signal that killed the process ("SIGKILL"), or "".
	Signal string
}

func (e *ExitError) Error() string {
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("exit code %d", e.Code)
}

// exitOf turns a Process.Err into the exit code and signal name it reports.
// Any error other than ExitError counts as exit code -1.
func exitOf(err error) (code int, signal string) {
	if err == nil {
		return 0, ""
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code, ee.Signal
	}
	return -1, ""
}

// exitDecision is what the restart rules say after a run ended on its own.
type exitDecision struct {
	// Restart is true when the process must run again after Delay.
	Restart bool
	Delay   time.Duration
	// Unstable is the new count of unstable runs in a row.
	Unstable int
	// Errored is true when MaxRestarts unstable runs in a row were reached.
	Errored bool
	// Completed is true when a one-shot (PolicyOnce) exited 0.
	Completed bool
	// Reason explains a decision not to restart.
	Reason string
	// Rapid is the new count of runs in a row shorter than the floor's
	// window (rule 5).
	Rapid int
}

// The floor of rule 5.
const (
	floorWindow = time.Second
	floorBurst  = 3
	floorFirst  = 10 * time.Millisecond
	floorMax    = time.Second
)

// floorDelay is the least delay after the rapid-th rapid run in a row.
func floorDelay(rapid int) time.Duration {
	if rapid <= floorBurst {
		return 0
	}
	d := floorFirst
	for i := floorBurst + 1; i < rapid && d < floorMax; i++ {
		d *= 2
	}
	return min(d, floorMax)
}

// decideExit applies the restart rules to a run that lasted uptime and ended
// with exit err, unstable being the count of unstable runs in a row before it
// and rapid that of runs shorter than the floor's window (rule 5).
func decideExit(p RestartPolicy, unstable, rapid int, uptime time.Duration, err error) exitDecision {
	code, sig := exitOf(err)
	if uptime < p.MinUptime {
		unstable++
	} else {
		unstable = 0
	}
	if uptime < max(p.MinUptime, floorWindow) {
		rapid++
	} else {
		rapid = 0
	}
	d := exitDecision{Unstable: unstable, Rapid: rapid}
	failed := code != 0 || sig != ""
	switch p.Policy {
	case PolicyNever:
		d.Reason = "exited (" + describeExit(code, sig) + "); restart policy is never"
		return d
	case PolicyOnFailure:
		if !failed {
			d.Reason = "exited (" + describeExit(code, sig) + "); restart policy is on-failure"
			return d
		}
	case PolicyOnce:
		if !failed {
			d.Completed, d.Unstable, d.Rapid = true, 0, 0
			d.Reason = "completed successfully (exit code 0); restart policy is once"
			return d
		}
	}
	if p.MaxRestarts > 0 && unstable >= p.MaxRestarts {
		d.Errored = true
		d.Reason = fmt.Sprintf("%d unstable runs in a row (shorter than min_uptime %s); last: %s",
			unstable, p.MinUptime, describeExit(code, sig))
		return d
	}
	d.Restart = true
	d.Delay = max(restartDelay(p, unstable), floorDelay(rapid))
	return d
}

// restartDelay is rule 4: the delay before the next start after the
// unstable-th unstable run in a row (0 after a stable run).
func restartDelay(p RestartPolicy, unstable int) time.Duration {
	delay := p.Delay
	if p.Backoff == BackoffExponential && unstable > 1 && delay > 0 {
		for i := 1; i < unstable; i++ {
			delay *= 2
			if p.MaxDelay > 0 && delay >= p.MaxDelay {
				break
			}
			if delay > time.Hour*24 {
				break // guards against overflow when MaxDelay is 0
			}
		}
	}
	if p.MaxDelay > 0 && delay > p.MaxDelay {
		delay = p.MaxDelay
	}
	return delay
}

func describeExit(code int, sig string) string {
	if sig != "" {
		return "killed by " + sig
	}
	return fmt.Sprintf("exit code %d", code)
}
