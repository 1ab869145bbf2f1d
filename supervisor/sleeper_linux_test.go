package supervisor

import (
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beadsctl/beadsctl/internal/proc"
)

// returns fails the test when f has not returned within a minute: what it
// waits for is an hour away unless a poke ends it.
func returns(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%s: still waiting after a minute", what)
	}
}

// TestKernelSleeperPokes: a poke ends the timerfd's wait whether it comes
// before the wait or during it; none is lost, and a close ends a wait too.
func TestKernelSleeperPokes(t *testing.T) {
	s := newKernelSleeper()
	if s == nil {
		t.Fatal("no timerfd")
	}
	returns(t, "a wait of 1 ns", func() { s.wait(time.Nanosecond) })
	s.poke()
	returns(t, "a wait of an hour poked before", func() { s.wait(time.Hour) })
	returns(t, "a wait of an hour poked during", func() {
		var wg sync.WaitGroup
		wg.Go(func() { s.wait(time.Hour) })
		s.poke()
		wg.Wait()
	})
	returns(t, "a wait of an hour closed during", func() {
		var wg sync.WaitGroup
		wg.Go(func() { s.wait(time.Hour) })
		s.close()
		wg.Wait()
	})
	s.poke() // after the close: nothing
}

// TestKernelSamplerWakesForAnAddedWatch: the agent's sampler sleeps on the
// timerfd until its next sample is due; a watch added meanwhile is sampled
// on its own schedule (its first reads are 0: again 2 ms later), not when
// the sleep would have ended (an hour away).
func TestKernelSamplerWakesForAnAddedWatch(t *testing.T) {
	s := newKernelMemorySampler()
	reads := func(c chan<- struct{}, zeros int) func(bool) (proc.GroupSample, error) {
		var n atomic.Int64
		return func(bool) (proc.GroupSample, error) {
			i := n.Add(1)
			select {
			case c <- struct{}{}:
			default:
			}
			if i <= int64(zeros) {
				return proc.GroupSample{}, nil
			}
			return proc.GroupSample{RSS: 1 << 20}, nil
		}
	}
	watch := func(read func(bool) (proc.GroupSample, error)) *memWatch {
		return &memWatch{limit: 100 << 20, every: time.Hour, read: read,
			sampled: func(proc.GroupSample, bool, time.Time) {},
			over:    func(uint64) { t.Error("over the limit") }}
	}
	aReads := make(chan struct{}, 1)
	a := watch(reads(aReads, 0))
	s.add(a)
	defer s.remove(a)
	<-aReads // at add
	<-aReads // the next whole second's display sample: then an hour's sleep
	bReads := make(chan struct{}, 1)
	b := watch(reads(bReads, 1))
	s.add(b)
	defer s.remove(b)
	<-bReads // at add: 0
	returns(t, "the added watch's second sample", func() { <-bReads })
}

// TestFolderIDsSeeReplacements: the folder check's comparison (raw on a
// local filesystem, through os.Stat elsewhere) says the same of the state
// folder and the socket as os.SameFile, and sees either replaced.
func TestFolderIDsSeeReplacements(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(state, "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stateInfo, err := os.Stat(state)
	if err != nil {
		t.Fatal(err)
	}
	sockInfo, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	var p atomic.Pointer[os.FileInfo]
	p.Store(&sockInfo)
	ids := newFolderIDs(state, stateInfo, sock, &p)
	t.Logf("local filesystem (raw stats): %v", ids.raw)
	for _, raw := range []bool{false, ids.raw} {
		ids.raw = raw
		if !ids.same() {
			t.Errorf("raw %v: the files as made are not the same", raw)
		}
	}
	if same, ok := sameFilesRaw(state, stateInfo, sock, sockInfo); ids.raw && (!ok || !same) {
		t.Errorf("sameFilesRaw = %v, %v; want the same", same, ok)
	}
	// The socket replaced by a file.
	other := filepath.Join(state, "other")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, sock); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []bool{false, ids.raw} {
		ids.raw = raw
		if ids.same() {
			t.Errorf("raw %v: a replaced socket is the same", raw)
		}
	}
	// The new file taken for the socket (as the agent does once it listens
	// again), and the state folder replaced.
	newInfo, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	p.Store(&newInfo)
	for _, raw := range []bool{false, ids.raw} {
		ids.raw = raw
		if !ids.same() {
			t.Errorf("raw %v: the new socket is not the same", raw)
		}
	}
	if err := os.Rename(state, state+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(state+".old", "s.sock"), sock); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []bool{false, ids.raw} {
		ids.raw = raw
		if ids.same() {
			t.Errorf("raw %v: a replaced state folder is the same", raw)
		}
	}
	if err := os.RemoveAll(state); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []bool{false, ids.raw} {
		ids.raw = raw
		if ids.same() {
			t.Errorf("raw %v: a removed state folder is the same", raw)
		}
	}
}
