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

// pidsWithEnv returns the pids (other than ours) whose environment holds the
// entry kv ("KEY=VALUE"), read from /proc/<pid>/environ.
func pidsWithEnv(kv string) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil
	}
	self := os.Getpid()
	want := []byte(kv)
	var out []int
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
			if bytes.Equal(e, want) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}
