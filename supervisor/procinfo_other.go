//go:build !linux

package supervisor

import "time"

// procRunDelay is unknown here: a run's own time is its wall time.
func procRunDelay(int) time.Duration { return 0 }

// procExited cannot tell here: the daemon's loop says when a run ended.
func procExited(int) bool { return false }
