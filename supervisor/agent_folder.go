package supervisor

import (
	"context"
	"os"
	"sync/atomic"
	"time"
)

// newAgentSampler is the agent's memory sampler: on the kernel's timer
// unless goTimers (AgentOptions.GoTimers).
func newAgentSampler(goTimers bool) *MemorySampler {
	if goTimers {
		return NewMemorySampler()
	}
	return newKernelMemorySampler()
}

// folderIDs are what the folder check compares: the state folder and the
// control socket, as the agent made them (the socket's is replaced when the
// agent makes it again).
type folderIDs struct {
	state     string
	stateInfo os.FileInfo
	sock      string
	sockInfo  *atomic.Pointer[os.FileInfo]
	// raw: the folder is on a local filesystem (Linux), where the check's
	// stats are raw system calls (sameFilesRaw).
	raw bool
}

func newFolderIDs(state string, stateInfo os.FileInfo, sock string, sockInfo *atomic.Pointer[os.FileInfo]) *folderIDs {
	return &folderIDs{state: state, stateInfo: stateInfo, sock: sock, sockInfo: sockInfo, raw: localFS(state)}
}

// same reports whether the state folder and the socket are still the files
// the agent made (false when either cannot be read: the agent's loop then
// decides, as it did on every check).
func (f *folderIDs) same() bool {
	sock := *f.sockInfo.Load()
	if f.raw {
		if same, ok := sameFilesRaw(f.state, f.stateInfo, f.sock, sock); ok {
			return same
		}
	}
	st, err := os.Stat(f.state)
	if err != nil || !os.SameFile(st, f.stateInfo) {
		return false
	}
	fi, err := os.Lstat(f.sock)
	return err == nil && os.SameFile(fi, sock)
}

// watchFolder checks the folder every interval (on the wall clock's
// multiples of every, as the memory samples are: the agent wakes once for
// both) and tells changed when it is not what the agent made; it returns
// when ctx is done.
//
// It runs on its own goroutine and sleeps as the sampler does (sleeper): an
// idle agent's folder check was a Go timer that woke Go's sysmon, and two
// stats that woke it again (each system call told to the scheduler does,
// and sysmon then polls for a while). On a local filesystem its stats are
// raw; an idle agent with 50 limited daemons then spends ~8 % less (bench
// fleet, A/B beside the stats through os.Stat).
func (a *Agent) watchFolder(ctx context.Context, every time.Duration, ids *folderIDs, changed chan<- struct{}) {
	sleep := newSleeper(!a.opts.GoTimers)
	defer sleep.close()
	stop := context.AfterFunc(ctx, sleep.poke)
	defer stop()
	for {
		sleep.wait(untilAligned(time.Now(), every))
		if ctx.Err() != nil {
			return
		}
		if ids.same() {
			continue
		}
		select {
		case changed <- struct{}{}:
		default:
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
