package bd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beadsctl/beadsctl/internal/proc"
)

// This file is the file protocol by which bd v1.x finds a running Dolt server
// (doltserver.IsRunning): dolt-server.pid names a live process whose command
// line holds "dolt" and "sql-server", dolt-server.port its port. A supervisor
// that keeps both true is adopted by every bd command, and none starts a rival.

// ServerFiles are the pid and port files of one server folder.
type ServerFiles struct{ Dir string }

// PidPath is the path of dolt-server.pid.
func (f ServerFiles) PidPath() string { return filepath.Join(f.Dir, ServerPidFile) }

// PortPath is the path of dolt-server.port.
func (f ServerFiles) PortPath() string { return filepath.Join(f.Dir, ServerPortFile) }

// LockPath is the path of dolt-server.lock, the flock bd holds while it starts a server.
func (f ServerFiles) LockPath() string { return filepath.Join(f.Dir, ServerLockFile) }

// WriteFunc writes a file atomically (temp file, fsync, rename).
type WriteFunc func(path string, data []byte, perm os.FileMode) error

// Write records pid and port as bd does (decimal, no newline, 0600): the port
// file first, so that a bd command that sees the pid always finds the port.
func (f ServerFiles) Write(pid, port int, write WriteFunc) error {
	if err := write(f.PortPath(), []byte(strconv.Itoa(port)), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", f.PortPath(), err)
	}
	if err := write(f.PidPath(), []byte(strconv.Itoa(pid)), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", f.PidPath(), err)
	}
	return nil
}

// Read returns the pid and port the files name (0 for a missing or unreadable file).
func (f ServerFiles) Read() (pid, port int) {
	return readInt(f.PidPath()), readInt(f.PortPath())
}

// Remove deletes the pid and port files when the pid file still names pid
// (or is gone): files that another process wrote since are left alone.
func (f ServerFiles) Remove(pid int) error {
	cur := readInt(f.PidPath())
	if cur != 0 && cur != pid {
		return fmt.Errorf("%s now names pid %d, not %d: left as it is", f.PidPath(), cur, pid)
	}
	var errs []error
	for _, p := range []string{f.PidPath(), f.PortPath()} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func readInt(path string) int {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// ServerProcess is a running `dolt sql-server` as the OS describes it.
type ServerProcess struct {
	Pid       int       `json:"pid"`
	Argv      []string  `json:"argv"`
	Cwd       string    `json:"cwd"`
	StartTime time.Time `json:"start_time"`
	// Port is the -P/--port argument (0 when not on the command line).
	Port int `json:"port,omitempty"`
	// DataDir is where it serves from: --data-dir, else its working directory.
	DataDir string `json:"data_dir"`
}

// IsServerArgv reports whether argv is a dolt sql-server, by bd's own rule:
// the command line holds "dolt" and "sql-server".
func IsServerArgv(argv []string) bool {
	if len(argv) == 0 {
		return false
	}
	base := filepath.Base(argv[0])
	return strings.Contains(base, "dolt") && slices.Contains(argv[1:], "sql-server")
}

// FindServers lists the running dolt sql-servers whose data dir is dataDir
// (every one when dataDir is ""). Identity comes from the OS: command line,
// working directory and start time, never a name alone.
func FindServers(ctx context.Context, dataDir string) ([]ServerProcess, error) {
	pids, err := proc.Pids()
	if err != nil {
		return nil, err
	}
	want := cleanDir(dataDir)
	var out []ServerProcess
	for _, pid := range pids {
		if argv, ok := quickCmdline(pid); ok && !IsServerArgv(argv) {
			continue // not a dolt sql-server: no need to ask more of it
		}
		sp, ok := InspectServer(ctx, pid)
		if !ok {
			continue
		}
		if want != "" && cleanDir(sp.DataDir) != want {
			continue
		}
		out = append(out, sp)
	}
	return out, nil
}

// InspectServer describes pid when it is a live dolt sql-server (not a zombie).
func InspectServer(ctx context.Context, pid int) (ServerProcess, bool) {
	argv, err := proc.Cmdline(pid)
	if err != nil || !IsServerArgv(argv) {
		return ServerProcess{}, false
	}
	if proc.Zombie(pid) {
		return ServerProcess{}, false
	}
	sp := ServerProcess{Pid: pid, Argv: argv}
	sp.Cwd, _ = proc.Cwd(pid)
	if t, err := proc.StartTime(pid); err == nil {
		sp.StartTime = t
	}
	sp.DataDir = sp.Cwd
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		val := func(flag string) (string, bool) {
			if a == flag && i+1 < len(argv) {
				return argv[i+1], true
			}
			if v, ok := strings.CutPrefix(a, flag+"="); ok {
				return v, true
			}
			return "", false
		}
		if v, ok := val("--data-dir"); ok {
			if !filepath.IsAbs(v) && sp.Cwd != "" {
				v = filepath.Join(sp.Cwd, v)
			}
			sp.DataDir = v
		}
		for _, flag := range []string{"-P", "--port"} {
			if v, ok := val(flag); ok {
				sp.Port, _ = strconv.Atoi(v)
			}
		}
	}
	return sp, true
}

func cleanDir(d string) string {
	if d == "" {
		return ""
	}
	if r, err := filepath.EvalSymlinks(d); err == nil {
		d = r
	}
	return filepath.Clean(d)
}

// SameDir reports whether a and b name the same folder (symlinks resolved).
func SameDir(a, b string) bool { return a != "" && cleanDir(a) == cleanDir(b) }
