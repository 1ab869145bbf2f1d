package supervisor

import (
	"bytes"
	"os"
	"strconv"
)

// FindsEscaped reports whether the supervisor finds and kills, at the end of a
// run, the processes a daemon moved out of its process group (setsid, a
// double fork): on Linux, by the run's marker in /proc/<pid>/environ.
const FindsEscaped = true

// pidsWithEnvs returns, for each entry of want ("KEY=VALUE"), the pids
// (other than ours) whose environment holds it, from one reading of every
// /proc/<pid>/environ.
func pidsWithEnvs(want map[string]bool) map[string][]int {
	out := map[string][]int{}
	d, err := os.Open("/proc")
	if err != nil {
		return out
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return out
	}
	self := os.Getpid()
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile("/proc/" + name + "/environ")
		if err != nil {
			continue
		}
		for _, e := range bytes.Split(b, []byte{0}) {
			if want[string(e)] {
				out[string(e)] = append(out[string(e)], pid)
				break
			}
		}
	}
	return out
}
