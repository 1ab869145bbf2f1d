package supervisor

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/beadsctl/beadsctl/internal/proc"
)

// DaemonMarkerEnv is set in every run's environment to "<name>/<token>", a
// token drawn for that run. Descendants inherit it, also one that left the
// run's process group (setsid) and so escapes the SIGKILL to the group: at
// the end of the run the supervisor finds those by the marker (where the OS
// shows other processes' environments: Linux) and kills them, so that
// nothing a daemon started outlives it, destroy included.
const DaemonMarkerEnv = "BEADSCTL_DAEMON"

// newMarker returns a run's marker value.
func newMarker(name string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return name + "/" + hex.EncodeToString(b[:])
}

// sweepEscaped runs killEscaped for r in the background (Run waits for it).
func (l *loop) sweepEscaped(r *run) {
	if r.marker == "" {
		return
	}
	l.watchers.Add(1)
	go func() {
		defer l.watchers.Done()
		l.killEscaped(r)
	}()
}

// killEscaped SIGKILLs the processes that carry r's marker and started no
// earlier than r's leader: descendants of r outside its process group. Each
// is signalled through its proc.Handle (pid and start time proved first). It
// returns the handles killed.
func (l *loop) killEscaped(r *run) []proc.Handle {
	if r.marker == "" {
		return nil
	}
	since := r.startTime
	if since.IsZero() {
		since = r.started.Add(-time.Second)
	}
	var killed []proc.Handle
	for _, pid := range pidsWithEnv(DaemonMarkerEnv + "=" + r.marker) {
		h, err := proc.Open(pid)
		if err != nil || h.Start.UnixMilli() < since.UnixMilli() {
			continue
		}
		if err := h.Signal(killSignal); err == nil {
			killed = append(killed, h)
		}
	}
	if len(killed) > 0 {
		pids := make([]int, len(killed))
		for i, h := range killed {
			pids[i] = h.Pid
		}
		l.d.log.Warn("killed processes that left the daemon's process group", "pid", r.pid, "escaped_pids", pids)
	}
	return killed
}
