//go:build linux

package testproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A process tree left in a folder, its root's parent gone and one member
// forking again: KillBelow kills each member and returns once all are gone;
// nothing outside the folder is touched.
func TestKillBelowKillsAndWaitsForTheWholeTree(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	outside := exec.Command("sleep", "1000")
	outside.Dir = t.TempDir()
	if err := outside.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = outside.Process.Kill(); _ = outside.Wait() })

	// A detached parent (it has exited) of a sleeper and of a shell that
	// keeps starting short-lived children, one in the folder, one below it.
	h := Detached(t, dir, `sleep 1000 &
cd a/b && while :; do sleep 1; done`)
	if hs, _ := Below(dir); len(hs) == 0 {
		t.Fatal("Below finds nothing in the folder")
	}

	killed, err := KillBelow(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(killed) < 2 || !strings.Contains(strings.Join(killed, "\n"), strconv.Itoa(h.Pid)+": ") {
		t.Fatalf("killed %q, want the shell %d and its sleeper at least", killed, h.Pid)
	}
	if h.Alive() {
		t.Fatalf("%s still runs", h)
	}
	if hs, names := Below(dir); len(hs) != 0 {
		t.Fatalf("left in the folder: %v", names)
	}
	if err := outside.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatal("the process outside the folder was touched")
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
}
