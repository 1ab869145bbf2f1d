package agentapi

// FindsEscaped reports whether the supervisor finds and kills, at the end of a
// run, the processes a daemon moved out of its process group (setsid, a
// double fork): on Linux, by the run's marker in /proc/<pid>/environ.
const FindsEscaped = true
