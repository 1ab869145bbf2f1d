package reconcile

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLockExclusive(t *testing.T) {
	path := LockPath(t.TempDir())
	first, err := AcquireLock(t.Context(), path, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLock(t.Context(), path, "plan", 0)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second acquire: err = %v, want *LockedError", err)
	}
	if le.Holder.Pid != os.Getpid() || le.Holder.Command != "apply" {
		t.Errorf("holder = %+v, want pid %d command apply", le.Holder, os.Getpid())
	}
	for _, s := range []string{"pid " + strconv.Itoa(os.Getpid()), "beadsctl apply", "--lock-timeout"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}

	// A waiter gets the lock once the holder releases it.
	got := make(chan error, 1)
	go func() {
		l, err := AcquireLock(t.Context(), path, "apply", time.Minute)
		if err == nil {
			err = l.Release()
		}
		got <- err
	}()
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiter: %v", err)
	}
}

func TestLockTimeoutAndCancel(t *testing.T) {
	path := LockPath(t.TempDir())
	held, err := AcquireLock(t.Context(), path, "destroy", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()

	start := time.Now()
	_, err = AcquireLock(t.Context(), path, "apply", 50*time.Millisecond)
	var le *LockedError
	if !errors.As(err, &le) || le.Waited != 50*time.Millisecond {
		t.Fatalf("err = %v, want a LockedError after waiting 50ms", err)
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Errorf("gave up after %v, before the timeout", time.Since(start))
	}
	if !strings.Contains(err.Error(), "beadsctl destroy") || !strings.Contains(err.Error(), "gave up after 50ms") {
		t.Errorf("error %q does not name the holder and the wait", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = AcquireLock(ctx, path, "apply", time.Hour)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
