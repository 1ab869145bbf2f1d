package supervisor

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"golang.org/x/sys/unix"
)

// The control socket's path appears only once it listens, with its 0600 mode:
// by a rename into place, never by the bind itself (bound at its path, the
// file was there before listen, and a client that saw it was refused:
// TestAgentRecreatesRemovedSocket's "connection refused"). Also for a long
// project path, whose socket is the short one under the runtime folder.
func TestListenControlPathAppearsListening(t *testing.T) {
	long := filepath.Join(t.TempDir(), string(bytes.Repeat([]byte("d"), 120)))
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	for name, dir := range map[string]string{"in the project": t.TempDir(), "runtime folder": long} {
		t.Run(name, func(t *testing.T) {
			sock := SocketPath(dir)
			if name == "runtime folder" && filepath.Dir(sock) != agentapi.RuntimeSocketDir() {
				t.Fatalf("socket %s, want one under %s", sock, agentapi.RuntimeSocketDir())
			}
			if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
				t.Fatal(err)
			}
			fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			if _, err := unix.InotifyAddWatch(fd, filepath.Dir(sock), unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the first listen, then one after the file was removed
				l, err := listenControl(sock)
				if err != nil {
					t.Fatal(err)
				}
				fi, err := os.Lstat(sock)
				if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
					t.Fatalf("socket %s: %v %v, want a 0600 socket", sock, fi, err)
				}
				c, err := net.Dial("unix", sock)
				if err != nil {
					t.Fatalf("dial the new socket: %v", err)
				}
				c.Close()
				if got := inotifyEvents(t, fd, filepath.Base(sock)); len(got) != 1 || got[0] != unix.IN_MOVED_TO {
					t.Errorf("events on %s: %#x, want one IN_MOVED_TO (%#x): the path appears by a rename once it listens",
						filepath.Base(sock), got, unix.IN_MOVED_TO)
				}
				if _, err := os.Lstat(tempSocketPath(sock)); !os.IsNotExist(err) {
					t.Errorf("temporary socket left behind: %v", err)
				}
				l.Close()
				if err := os.Remove(sock); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// inotifyEvents reads the queued events of fd and returns the masks of those
// about name, in order.
func inotifyEvents(t *testing.T, fd int, name string) []uint32 {
	t.Helper()
	var out []uint32
	for _, ev := range inotifyAll(t, fd) {
		if ev.name == name {
			out = append(out, ev.mask)
		}
	}
	return out
}

// parseInotify decodes the event at off in buf: its mask, the name it is
// about and the offset of the next event.
func parseInotify(buf []byte, off int) (mask uint32, name string, next int) {
	ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
	nb := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
	return ev.Mask, string(bytes.TrimRight(nb, "\x00")), off + unix.SizeofInotifyEvent + int(ev.Len)
}

// A control socket removed under a running agent (as an old destroy did while
// the agent was stopped) is created again, and the agent answers on it.
func TestAgentRecreatesRemovedSocket(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, func(a *Agent) { a.opts.FolderCheck = 20 * time.Millisecond })
	sock := SocketPath(dir)
	before, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err := os.Lstat(sock); err == nil && !os.SameFile(fi, before) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("control socket not created again after 10s")
		}
		faultWaitDir(filepath.Dir(sock), 50*time.Millisecond)
	}
	ta.hc.CloseIdleConnections()
	if code, body := ta.call(t, http.MethodGet, "/v1/status", nil); code != http.StatusOK {
		t.Fatalf("status on the new socket = %d %s", code, body)
	}
}

// A control socket replaced by another file leaves the agent unreachable: it
// stops its daemons and exits, and leaves the file that took its place alone.
func TestAgentExitsWhenSocketReplaced(t *testing.T) {
	dir := t.TempDir()
	done, pid := runAgentWithSleeper(t, dir)
	sock := SocketPath(dir)
	tmp := sock + ".planted"
	if err := os.WriteFile(tmp, []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, sock); err != nil {
		t.Fatal(err)
	}
	awaitAgentExitWith(t, done, pid, "its socket was replaced")
	if b, err := os.ReadFile(sock); err != nil || string(b) != "not a socket" {
		t.Errorf("the file that replaced the socket = %q, %v; want it left alone", b, err)
	}
}

// The holder of agent.lock is the live process holding its flock, never the
// pid written in it alone.
func TestAgentLockHolder(t *testing.T) {
	dir := t.TempDir()
	if pid, err := AgentLockHolder(dir); pid != 0 || err != nil {
		t.Fatalf("no agent ever ran: holder = %d, %v; want 0, nil", pid, err)
	}
	ta := startAgent(t, dir, nil)
	if pid, err := AgentLockHolder(dir); pid != os.Getpid() || err != nil {
		t.Fatalf("running agent: holder = %d, %v; want %d", pid, err, os.Getpid())
	}
	ta.stop(t)
	if pid, err := AgentLockHolder(dir); pid != 0 || err != nil {
		t.Fatalf("stopped agent: holder = %d, %v; want 0", pid, err)
	}
	// A pid planted in the file, of a live process holding no lock on it.
	if err := os.WriteFile(AgentLockPath(dir), []byte(strconv.Itoa(os.Getppid())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pid, err := AgentLockHolder(dir); pid != 0 || err != nil {
		t.Fatalf("planted pid: holder = %d, %v; want 0", pid, err)
	}
}
