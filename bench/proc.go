//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pollEvery is how often the harness polls /proc and files for an event. It is
// small against every figure measured except the smallest (the restart after
// kill -9), where it bounds the resolution: see BENCHMARKS.md.
const pollEvery = time.Millisecond

// rssBytes is VmRSS of pid, from /proc/<pid>/status (whole process, all threads).
func rssBytes(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := strings.Fields(string(v))
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseUint(f[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("pid %d: no VmRSS (zombie?)", pid)
}

// cpuTime is the CPU time pid has used so far: the sum over its live threads of
// /proc/<pid>/task/<tid>/schedstat (nanoseconds), which is finer than the 10 ms
// ticks of /proc/<pid>/stat. Time of threads that already exited is taken from
// the ticks if they say more.
func cpuTime(pid int) (time.Duration, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("pid %d: no tasks", pid)
	}
	var ns int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			ns += v
		}
	}
	if ticks, err := cpuTicks(pid); err == nil && ticks > time.Duration(ns)+20*time.Millisecond {
		return ticks, nil
	}
	return time.Duration(ns), nil
}

// cpuTicks is utime+stime of pid (all threads, dead ones included), 100 Hz.
func cpuTicks(pid int) (time.Duration, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond, nil
}

// statFields are the fields of /proc/<pid>/stat after the command name: [0] is
// the state, [1] the ppid, [11] utime, [12] stime.
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("pid %d: bad stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return nil, fmt.Errorf("pid %d: short stat", pid)
	}
	return f, nil
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	f, err := statFields(pid)
	return err == nil && f[0] != "Z" && f[0] != "X"
}

// children lists the direct children of pid (every thread's
// /proc/<pid>/task/<tid>/children: a child belongs to the thread that forked it).
func children(pid int) []int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if v, err := strconv.Atoi(s); err == nil {
				out = append(out, v)
			}
		}
	}
	return out
}

// cmdline is the argv of pid joined by spaces ("" when gone).
func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

// readPidfile parses a child's "pid start_unix_nano" file.
func readPidfile(path string) (pid int, started time.Time, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, time.Time{}, err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, time.Time{}, fmt.Errorf("%s: bad pid file", path)
	}
	pid, err = strconv.Atoi(f[0])
	if err != nil {
		return 0, time.Time{}, err
	}
	ns, err := strconv.ParseInt(f[1], 10, 64)
	return pid, time.Unix(0, ns), err
}

// waitPidfile polls path every pollEvery until it names a live pid other than
// old, and returns that pid and when it was first seen.
func waitPidfile(ctx context.Context, path string, old int, timeout time.Duration) (int, time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		if pid, _, err := readPidfile(path); err == nil && pid != old {
			return pid, time.Now(), nil
		}
		if time.Now().After(deadline) {
			return 0, time.Time{}, fmt.Errorf("no new pid in %s after %s", filepath.Base(path), timeout)
		}
		select {
		case <-ctx.Done():
			return 0, time.Time{}, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// waitNewChild polls the children of sup every pollEvery until one appears
// that is not in old and runs a command line containing match, and returns it
// and when it was first seen (at fork time: a child is seen before its exec,
// and kept as a candidate until its command line tells what it is).
func waitNewChild(ctx context.Context, sup int, old map[int]bool, match string, timeout time.Duration) (int, time.Time, error) {
	deadline := time.Now().Add(timeout)
	seen := map[int]time.Time{}
	for {
		now := time.Now()
		for _, c := range children(sup) {
			if old[c] {
				continue
			}
			if _, ok := seen[c]; !ok {
				seen[c] = now
			}
			if strings.Contains(cmdline(c), match) {
				return c, seen[c], nil
			}
		}
		if now.After(deadline) {
			return 0, time.Time{}, fmt.Errorf("no new %q child of pid %d after %s", match, sup, timeout)
		}
		select {
		case <-ctx.Done():
			return 0, time.Time{}, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// waitGone polls until pid is gone (or a zombie).
func waitGone(ctx context.Context, pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for alive(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("pid %d still alive after %s", pid, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollEvery):
		}
	}
	return nil
}

// killOurs SIGKILLs every live process whose command line contains marker (the
// unique temp folder of this run): whatever either tool left behind. Only
// processes this run started carry it.
func killOurs(marker string) (killed []string) {
	self := os.Getpid()
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == self {
			continue
		}
		cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if alive(pid) && (strings.Contains(cmdline(pid), marker) || strings.HasPrefix(cwd, marker)) {
			desc := fmt.Sprintf("%d %s", pid, tail(cmdline(pid), 80))
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed = append(killed, desc)
			}
		}
	}
	return killed
}
