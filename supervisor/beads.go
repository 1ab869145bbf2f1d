package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/logfile"
)

// A bd daemon (Spec.Beads) fails at once, whatever the restart policy, in two
// cases that no restart mends: no workspace (bd: "no database path configured
// (run 'bd init' or set BEADS_DB)", exit 1) and another bd daemon holding the
// workspace (bd: "daemon already running (PID N, version V)", exit 1). Before
// each start, and after an exit instead of a restart, the supervisor checks
// both, as bd does: such a daemon is errored with the reason, and nothing is
// started (was: a crash loop to errored, each run failing the same way, and a
// restart overwriting nothing but the log).

// beadsBlocked says why a bd daemon of spec cannot run now, or "".
func beadsBlocked(spec Spec) string {
	dir := spec.Dir
	if dir == "" {
		dir, _ = os.Getwd()
	}
	beadsDir, err := bd.FindBeadsDir(dir, func(k string) string { return spec.Env[k] })
	if err != nil {
		if errors.Is(err, bd.ErrNoDatabase) {
			return fmt.Sprintf("%v; a bd daemon there exits at once (\"no database path configured\"): run bd init in %s, then beadsctl start %s", err, dir, spec.Name)
		}
		return ""
	}
	ws := filepath.Dir(beadsDir)
	lock, held, err := bd.ReadLock(ws)
	if !held {
		return ""
	}
	who := "an unmanaged bd daemon"
	if err == nil && lock.Pid > 0 {
		who = fmt.Sprintf("an unmanaged bd daemon, pid %d", lock.Pid)
		if lock.Version != "" {
			who += ", version " + lock.Version
		}
	}
	return fmt.Sprintf("%s (socket %s) holds %s, and bd refuses a second one (\"daemon already running\"): stop it (bd daemon --stop in %s), or beadsctl start --replace-unmanaged to stop it and start ours",
		who, filepath.Join(beadsDir, "bd.sock"), ws, ws)
}

// beadsLogPath is the bd daemon's own log: --log PATH in its argv, else
// daemon.log in the .beads folder bd uses.
func beadsLogPath(spec Spec) string {
	for i, a := range spec.Argv {
		var p string
		switch {
		case a == "--log" && i+1 < len(spec.Argv):
			p = spec.Argv[i+1]
		case strings.HasPrefix(a, "--log="):
			p = strings.TrimPrefix(a, "--log=")
		}
		if p != "" {
			if !filepath.IsAbs(p) {
				p = filepath.Join(spec.Dir, p)
			}
			return p
		}
	}
	beadsDir, err := bd.FindBeadsDir(spec.Dir, func(k string) string { return spec.Env[k] })
	if err != nil {
		beadsDir = filepath.Join(spec.Dir, ".beads")
	}
	return filepath.Join(beadsDir, "daemon.log")
}

// beadsExitTail is what a bd run said before it ended: the last lines it
// added to its daemon.log (where bd reports failures inside its loop, exit
// code 0), then its own stderr ("Error: daemon already running (PID …)"; as
// stderrTail keeps it), tailLines in all, stderr first served. Lines another
// daemon wrote to the same daemon.log before this run started are not its own
// and are left out.
func beadsExitTail(r *run, stderr []string) []string {
	var lines []string
	if room := tailLines - len(stderr); room > 0 {
		lines = logfile.TailSince(r.beadsLog, r.beadsLogOffset, room)
	}
	return append(lines, stderr...)
}
