package supervisor

import (
	"context"
	"errors"
	"time"
)

// CONTRACT: signatures fixed; the bd-protocol work replaces these bodies.

// BeadsProbe is what the bd daemon's RPC said about itself.
type BeadsProbe struct {
	// Status is bd's health status: "healthy", "degraded" or "unhealthy".
	Status        string  `json:"status"`
	Version       string  `json:"version"`
	Compatible    bool    `json:"compatible"`
	Pid           int     `json:"pid"` // from the status operation
	DBResponseMS  float64 `json:"db_response_ms"`
	UptimeSeconds float64 `json:"uptime_seconds"`
	// LastActivity and ExclusiveLock come from the status operation.
	LastActivity  time.Time `json:"last_activity_time,omitzero"`
	ExclusiveLock bool      `json:"exclusive_lock_active"`
	WorkspacePath string    `json:"workspace_path,omitempty"`
	DatabasePath  string    `json:"database_path,omitempty"`
}

// ErrBeadsNotRunning means no bd daemon answers on the workspace's socket.
var ErrBeadsNotRunning = errors.New("no bd daemon answers")

// ProbeBeads speaks the NDJSON RPC on <workspace>/.beads/bd.sock (health, then
// status) with clientVersion as client_version. workspace is the folder holding .beads/.
func ProbeBeads(ctx context.Context, workspace, clientVersion string) (BeadsProbe, error) {
	return BeadsProbe{}, ErrBeadsNotRunning
}

// BeadsLock is the content of .beads/daemon.lock.
type BeadsLock struct {
	Pid       int       `json:"pid"`
	ParentPid int       `json:"parent_pid"`
	Database  string    `json:"database"`
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
}

// ReadBeadsLock reads .beads/daemon.lock and reports whether a live process holds its flock.
func ReadBeadsLock(workspace string) (lock BeadsLock, held bool, err error) {
	return BeadsLock{}, false, nil
}

// CleanStaleBeadsFiles removes .beads/bd.sock and .beads/daemon.pid when they are
// stale (no live flock on daemon.lock and the socket refuses a dial), and returns
// the paths removed.
func CleanStaleBeadsFiles(workspace string) ([]string, error) { return nil, nil }

// InstalledBeadsVersion runs `<bd> version` with BEADS_AUTO_START_DAEMON=false and
// returns the first semver after "bd version ".
func InstalledBeadsVersion(ctx context.Context, bd string) (string, error) { return "", errors.New("not implemented") }

// TailFile returns the last n lines of a file (nil when it does not exist).
func TailFile(path string, n int) []string { return nil }
