//go:build !windows

package schema

import (
	"syscall"
	"testing"
	"time"
)

// TestCacheEntryPlantedAsFIFO: a FIFO at an entry's path is a miss, at once;
// the load and the validate parse the file (they waited in open(2) for a
// writer forever, a SIGTERM included, since the first one only cancels).
func TestCacheEntryPlantedAsFIFO(t *testing.T) {
	file, c := cacheProject(t, []byte("daemon \"web\" {\n  command = \"sleep\"\n}\n"))
	for _, kind := range []string{"load-", "validate"} {
		if err := syscall.Mkfifo(c.file(kind), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan bool, 1)
	go func() {
		cfg, _, diags := LoadCached(c, file, "", nil)
		_, _, vdiags := ValidateCached(c, file, nil)
		done <- cfg != nil && len(cfg.Daemons) == 1 && len(diags) == 0 && len(vdiags) == 0
	}()
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("the load or the validate beside a planted FIFO did not give the file's configuration")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the load still waits on the FIFO at the cache entry after 30 s")
	}
}
