//go:build !linux

package agentapi

// FindsEscaped reports whether the supervisor finds and kills, at the end of a
// run, the processes a daemon moved out of its process group (setsid, a
// double fork): not here, where other processes' environments cannot be read
// cheaply. Such a process outlives stop and destroy, and destroy says so.
const FindsEscaped = false
