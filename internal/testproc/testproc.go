// Package testproc makes sure that nothing a test started outlives it: every
// process working in the test's temporary tree is killed, and waited for,
// before the tree is removed. A process that the test never waited on (a
// detached dolt sql-server, the `dolt send-metrics` a dolt leaves behind when
// it exits, a daemon whose parent died) would otherwise keep writing into the
// tree while RemoveAll empties it, and RemoveAll fails with "directory not
// empty".
//
// A process is the test's when its working directory lies in the tree: the
// tree is new and private to the test, so only what the test started (and
// their children, which inherit the working directory) can be there. Signals
// go through internal/proc, which proves the identity of each pid.
//
// Only tests import it. It imports nothing of beadsctl's but the leaf internal/proc.
package testproc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/beadsctl/beadsctl/internal/proc"
)

// Deadline bounds Cleanup: how long the processes of a tree have to die.
const Deadline = 30 * time.Second

// Below lists the live processes whose working directory is dir or lies below
// it, as "pid: argv"; the calling process is never one of them. dir is
// compared symlink-resolved, as the OS reports working directories.
func Below(dir string) ([]proc.Handle, []string) {
	root := resolved(dir)
	pids, err := process.Pids()
	if err != nil {
		return nil, nil
	}
	var hs []proc.Handle
	var names []string
	for _, p := range pids {
		pid := int(p)
		if pid == os.Getpid() {
			continue
		}
		// The handle first: the working directory read after it belongs to the
		// handle's process when the handle still verifies afterwards.
		h, err := proc.Open(pid)
		if err != nil {
			continue
		}
		cwd, err := proc.Cwd(pid)
		if err != nil || !within(cwd, root) || h.Verify() != nil {
			continue
		}
		argv, _ := proc.Cmdline(pid)
		hs = append(hs, h)
		names = append(names, fmt.Sprintf("%d: %s", pid, strings.Join(argv, " ")))
	}
	return hs, names
}

// KillBelow SIGKILLs every process Below(dir) and waits until each has
// exited, then looks again (a process may have forked before its kill) until
// a look finds none. It returns what it killed, and when ctx ends first an
// error naming what is still there.
func KillBelow(ctx context.Context, dir string) ([]string, error) {
	var killed []string
	for {
		hs, names := Below(dir)
		if len(hs) == 0 {
			return killed, nil
		}
		for i, h := range hs {
			if err := h.Signal(os.Kill); err == nil {
				killed = append(killed, names[i])
			}
		}
		for _, h := range hs {
			if err := h.WaitGone(ctx); err != nil {
				_, left := Below(dir)
				return killed, fmt.Errorf("processes still in %s: %s: %w", dir, strings.Join(left, "; "), err)
			}
		}
	}
}

// Cleanup registers KillBelow(dir) as a cleanup of t, bounded by Deadline;
// t fails when a process outlives it. Call it after the t.TempDir() that made
// dir: cleanups run last registered first, so this one runs before TempDir's
// RemoveAll.
func Cleanup(t testing.TB, dir string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Deadline)
		defer cancel()
		killed, err := KillBelow(ctx, dir)
		if len(killed) > 0 {
			t.Logf("killed what the test left running in %s: %s", dir, strings.Join(killed, "; "))
		}
		if err != nil {
			t.Error(err)
		}
	})
}

func resolved(dir string) string {
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		return r
	}
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return dir
}

func within(path, root string) bool {
	return path == root || strings.HasPrefix(path, root+string(filepath.Separator))
}

// Detached runs script with sh in the background of a shell that exits at
// once, in dir, so that the process is not the test's child (it is
// re-parented, as a daemon whose parent died), with no standard streams; it
// returns that process.
func Detached(t testing.TB, dir, script string) proc.Handle {
	t.Helper()
	cmd := exec.Command("sh", "-c", "("+script+") </dev/null >/dev/null 2>&1 &\necho $!")
	cmd.Dir = dir
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("sh -c %q: %v", script, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := proc.Open(pid)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
