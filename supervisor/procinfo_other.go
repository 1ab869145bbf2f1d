//go:build !linux

package supervisor

// procSched is unknown here: a run's own time is its wall time.
func procSched(int) schedReading { return schedReading{} }

// procExited cannot tell here: the daemon's loop says when a run ended.
func procExited(int) bool { return false }
