package proc

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFlockHeldNeverTakesTheLock: FlockHeld reads /proc/locks: a lock taken
// on any descriptor is seen, and checking never takes it, so a bd daemon
// taking its lock while beadsctl checks is never refused (the probe that took
// the lock for an instant made a concurrent probe see it held).
func TestFlockHeldNeverTakesTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daemon.lock")
	if err := os.WriteFile(path, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if held, err := FlockHeld(path); err != nil || held {
		t.Fatalf("no lock: held %v, %v", held, err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if held, err := FlockHeld(path); err != nil || !held {
		t.Fatalf("locked: held %v, %v", held, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := FlockHeld(path); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	refused := 0
	for range 2000 {
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			refused++
			continue
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if refused > 0 {
		t.Errorf("the lock was refused %d times in 2000 while FlockHeld checked it", refused)
	}
	if _, err := FlockHeld(filepath.Join(t.TempDir(), "none")); !os.IsNotExist(err) {
		t.Errorf("a missing file: %v, want not exist", err)
	}
}
