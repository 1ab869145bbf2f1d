//go:build !linux

package proc

import (
	"fmt"

	"github.com/shirou/gopsutil/v4/process"
)

// Elsewhere a process's facts come from gopsutil (procfs_linux.go reads
// Linux's /proc by its rules).

func startMillis(pid int) (int64, error) {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return 0, fmt.Errorf("pid %d: %w", pid, ErrGone)
	}
	ms, err := p.CreateTime()
	if err != nil {
		return 0, fmt.Errorf("start time of pid %d: %w", pid, err)
	}
	return ms, nil
}

func zombie(pid int) bool {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return false
	}
	st, err := p.Status()
	return err == nil && len(st) > 0 && st[0] == process.Zombie
}

func cmdline(pid int) ([]string, error) {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return nil, fmt.Errorf("pid %d: %w", pid, ErrGone)
	}
	argv, err := p.CmdlineSlice()
	if err != nil {
		return nil, fmt.Errorf("command line of pid %d: %w", pid, err)
	}
	return argv, nil
}

func cwd(pid int) (string, error) {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return "", fmt.Errorf("pid %d: %w", pid, ErrGone)
	}
	dir, err := p.Cwd()
	if err != nil {
		return "", fmt.Errorf("working folder of pid %d: %w", pid, err)
	}
	return dir, nil
}

func pids() ([]int, error) {
	ps, err := process.Pids()
	if err != nil {
		return nil, err
	}
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = int(p)
	}
	return out, nil
}
