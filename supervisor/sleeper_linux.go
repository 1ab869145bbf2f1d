package supervisor

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelSleeper waits on a timerfd that Go's netpoller watches (sleeper).
// Its system calls are raw: one told to the scheduler (entersyscall) wakes
// sysmon from its sleep, which then polls for a while; timerfd_settime and
// a read of a timerfd never block.
type kernelSleeper struct {
	f     *os.File
	rc    syscall.RawConn
	fd    uintptr
	poked atomic.Bool
	// mu orders the pokes and the close: the fd is not armed once closed
	// (its number may name another file then).
	mu     sync.Mutex
	closed bool
}

var _ sleeper = (*kernelSleeper)(nil)

// newKernelSleeper returns a timerfd sleeper, nil when the kernel has none.
func newKernelSleeper() sleeper {
	fd, _, errno := syscall.RawSyscall(syscall.SYS_TIMERFD_CREATE, unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC, 0)
	if errno != 0 {
		return nil
	}
	f := os.NewFile(fd, "timerfd") // non-blocking: in the netpoller
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	return &kernelSleeper{f: f, rc: rc, fd: fd}
}

// arm has the timer expire after d (at once for d <= 0).
func (s *kernelSleeper) arm(d time.Duration) {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(max(d, 1)))}
	syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, s.fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
}

// wait arms the timer, then reads it through the netpoller. A poke sets
// poked, then has the timer expire: one that armed it before this wait armed
// it again is seen in poked; one after wakes the read. poked is not cleared
// after the read, so no poke is lost (at worst the next wait returns at once).
func (s *kernelSleeper) wait(d time.Duration) {
	s.arm(d)
	if s.poked.Swap(false) {
		return
	}
	var buf [8]byte
	_ = s.rc.Read(func(fd uintptr) bool {
		_, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		return errno != syscall.EAGAIN // EINTR too: the readiness is consumed, and an early return is harmless
	})
}

func (s *kernelSleeper) poke() {
	s.poked.Store(true)
	s.mu.Lock()
	if !s.closed {
		s.arm(0)
	}
	s.mu.Unlock()
}

func (s *kernelSleeper) close() {
	s.mu.Lock()
	s.closed = true
	s.f.Close()
	s.mu.Unlock()
}

// localFS reports whether path is on a filesystem of this machine's disks
// or memory, where a stat is served from the kernel's caches or a local
// disk: one of a network filesystem (NFS, SMB, FUSE: sshfs) may wait on its
// server, and a raw system call (sameFilesRaw) would hold its Go P
// meanwhile.
func localFS(path string) bool {
	var st unix.Statfs_t
	if unix.Statfs(path, &st) != nil {
		return false
	}
	switch uint32(st.Type) {
	case unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC, unix.TMPFS_MAGIC,
		unix.OVERLAYFS_SUPER_MAGIC, unix.F2FS_SUPER_MAGIC, unix.RAMFS_MAGIC, unix.BCACHEFS_SUPER_MAGIC,
		zfsSuperMagic:
		return true
	}
	return false
}

const zfsSuperMagic = 0x2fc12fc1 // not in x/sys/unix

// sameFilesRaw is folderIDs.same by raw statx calls: the state folder is
// still state (followed) and the socket still sock (not followed). ok is
// false when a call failed: os.Stat then tells why.
func sameFilesRaw(state string, stateInfo os.FileInfo, sock string, sockInfo os.FileInfo) (same, ok bool) {
	a, okA := rawID(state, 0)
	b, okB := rawID(sock, unix.AT_SYMLINK_NOFOLLOW)
	if !okA || !okB {
		return false, false
	}
	return a == fileIDOf(stateInfo) && b == fileIDOf(sockInfo), true
}

type fileID struct{ dev, ino uint64 }

func fileIDOf(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{uint64(st.Dev), st.Ino}
	}
	return fileID{}
}

// rawID is path's device and inode, by a raw statx.
func rawID(path string, flags int) (fileID, bool) {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return fileID{}, false
	}
	var stx unix.Statx_t
	dirfd := unix.AT_FDCWD
	_, _, errno := syscall.RawSyscall6(unix.SYS_STATX, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags), unix.STATX_INO, uintptr(unsafe.Pointer(&stx)), 0)
	if errno != 0 {
		return fileID{}, false
	}
	return fileID{unix.Mkdev(stx.Dev_major, stx.Dev_minor), stx.Ino}, true
}
