package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
)

// AgentLogMax is the size at which the agent's own log, .beadsctl/agent.log,
// is rotated to agent.log.1 (replacing the previous one): the two together
// stay under 2 × AgentLogMax, whatever a crash loop makes the agent write.
const AgentLogMax = 5 << 20

// AgentLog is the agent's own log file, rotated by size. It is safe for
// concurrent use.
type AgentLog struct {
	path string
	max  int64
	// stderr is set when fd 2 was the log file at open (a detached agent,
	// which StartAgent starts with its output appended to agent.log): fd 2
	// is then re-pointed at each new file (dup2) where the OS allows, so that
	// what the Go runtime writes there (a panic) lands in the current file.
	stderr bool

	mu   sync.Mutex
	f    *os.File
	size int64
}

var _ interface {
	Write([]byte) (int, error)
	Close() error
} = (*AgentLog)(nil)

// OpenAgentLog opens dir/.beadsctl/agent.log for appending (0600, never
// through a symlink). When the process's stderr is that file, it follows the
// file across rotations.
func OpenAgentLog(dir string) (*AgentLog, error) {
	l, err := openRotated(filepath.Join(dir, StateDir, "agent.log"), AgentLogMax)
	if err != nil {
		return nil, err
	}
	if a, err := os.Stderr.Stat(); err == nil {
		if b, err := l.f.Stat(); err == nil && os.SameFile(a, b) {
			l.stderr = true
		}
	}
	return l, nil
}

// openRotated opens path for appending (0600, never through a symlink, its
// folder created 0700), rotated to path.1 when a write would take it over
// max: the agent's log, and its event history (events.go).
func openRotated(path string, max int64) (*AgentLog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Base(path), err)
	}
	l := &AgentLog{path: path, max: max}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *AgentLog) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|atomicfile.NoFollow, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", filepath.Base(l.path), err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open %s: %w", filepath.Base(l.path), err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return fmt.Errorf("open %s: %s is not a regular file", filepath.Base(l.path), l.path)
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.size = f, fi.Size()
	if l.stderr {
		redirectStderr(f)
	}
	return nil
}

// Write appends p, rotating first when p would take the file over its
// maximum. A failed rotation keeps writing to the current file.
func (l *AgentLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, errors.New("agent log closed")
	}
	if l.size > 0 && l.size+int64(len(p)) > l.max {
		if err := os.Rename(l.path, l.path+".1"); err == nil {
			_ = l.open()
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// Close closes the file.
func (l *AgentLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
