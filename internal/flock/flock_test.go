package flock

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTryLockExcludesAndHeldSeesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	a, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if held, err := Held(path); err != nil || held {
		t.Fatalf("Held before locking = %v, %v", held, err)
	}
	if ok, err := TryLock(a); !ok || err != nil {
		t.Fatalf("TryLock(a) = %v, %v", ok, err)
	}
	if ok, err := TryLock(b); ok || err != nil {
		t.Fatalf("TryLock(b) while a holds it = %v, %v; want false, nil", ok, err)
	}
	if held, err := Held(path); err != nil || !held {
		t.Fatalf("Held while a holds it = %v, %v", held, err)
	}
	if err := Unlock(a); err != nil {
		t.Fatal(err)
	}
	if ok, err := TryLock(b); !ok || err != nil {
		t.Fatalf("TryLock(b) after the unlock = %v, %v", ok, err)
	}
	if _, err := Held(filepath.Join(t.TempDir(), "missing")); !os.IsNotExist(err) {
		t.Errorf("Held(missing) = %v, want not-exist", err)
	}
}
