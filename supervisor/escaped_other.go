//go:build !linux

package supervisor

// FindsEscaped reports whether the supervisor finds and kills, at the end of a
// run, the processes a daemon moved out of its process group (setsid, a
// double fork): not here, where other processes' environments cannot be read
// cheaply. Such a process outlives stop and destroy, and destroy says so.
const FindsEscaped = false

// pidsWithEnvs finds nothing where other processes' environments cannot be
// read cheaply: a descendant that left the group survives there.
func pidsWithEnvs(map[string]bool, func() map[int]bool) map[string][]int { return nil }
