package agentapi

import (
	"os"

	"github.com/beadsctl/beadsctl/internal/proc"
)

// lockHolder is the live process holding a flock on f's file (proc.FlockHolders);
// written, the pid in the file, wins among several; 0 when nobody holds one.
func lockHolder(f *os.File, written int) (int, error) {
	pids, err := proc.FlockHolders(f.Name())
	if err != nil {
		return 0, err
	}
	holder := 0
	for _, pid := range pids {
		if h, err := proc.Open(pid); err != nil || !h.Alive() {
			continue
		}
		if holder == 0 || pid == written {
			holder = pid
		}
	}
	return holder, nil
}
