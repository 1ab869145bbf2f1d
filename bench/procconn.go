//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The kernel's process events connector (netlink NETLINK_CONNECTOR,
// CN_IDX_PROC): every fork, exec and exit on the machine, each stamped by the
// kernel with CLOCK_MONOTONIC at the moment it happened. The rows that time a
// restart use it instead of polling /proc, whose 1 ms rounds cannot resolve a
// sub-millisecond restart. It needs CAP_NET_ADMIN; without it the rows poll.

const (
	cnIdxProc         = 1
	cnValProc         = 1
	procCnMcastListen = 1
	procEventFork     = 0x00000001
	procEventExec     = 0x00000002
	procEventExit     = 0x80000000
)

// ProcEvent is one fork, exec or exit.
type ProcEvent struct {
	What uint32
	At   time.Duration // CLOCK_MONOTONIC, from the kernel
	// Fork: Parent is the forking process (tgid), Pid the child (tgid; a new
	// thread has Pid != Tid and is dropped). Exec and exit: Pid.
	Parent, Pid int
	// Thread is set on the exit of a thread other than Pid's leader (Pid is
	// then its process): the leader's exit is often not the process's last.
	Thread bool
}

// procEvents listens to the connector until ctx is done and hands every event
// to the subscribers registered with watch.
type procEvents struct {
	fd   int
	mu   sync.Mutex
	subs map[int]func(ProcEvent)
	next int
}

// monoNow is CLOCK_MONOTONIC now, the clock of the kernel's event stamps.
func monoNow() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Duration(ts.Nano())
}

func listenProcEvents(ctx context.Context) (*procEvents, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("netlink connector: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc, Pid: 0}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind proc connector: %w", err)
	}
	// A big receive buffer: a fleet of 1,000 starting at once is a burst.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	// nlmsghdr + cn_msg + op
	msg := make([]byte, 16+20+4)
	binary.LittleEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.LittleEndian.PutUint16(msg[4:], unix.NLMSG_DONE)
	binary.LittleEndian.PutUint32(msg[12:], uint32(unix.Getpid()))
	binary.LittleEndian.PutUint32(msg[16:], cnIdxProc)
	binary.LittleEndian.PutUint32(msg[20:], cnValProc)
	binary.LittleEndian.PutUint16(msg[32:], 4)
	binary.LittleEndian.PutUint32(msg[36:], procCnMcastListen)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("proc connector listen: %w", err)
	}
	p := &procEvents{fd: fd, subs: map[int]func(ProcEvent){}}
	go func() { <-ctx.Done(); unix.Close(fd) }()
	go p.loop()
	return p, nil
}

func (p *procEvents) loop() {
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(p.fd, buf, 0)
		if err != nil {
			if err == unix.EINTR || err == unix.ENOBUFS {
				continue
			}
			return
		}
		for b := buf[:n]; len(b) >= 16; {
			l := int(binary.LittleEndian.Uint32(b))
			if l < 16 || l > len(b) {
				break
			}
			if ev, ok := parseProcEvent(b[16:l]); ok {
				p.mu.Lock()
				for _, f := range p.subs {
					f(ev)
				}
				p.mu.Unlock()
			}
			b = b[(l+3)&^3:]
		}
	}
}

// parseProcEvent decodes cn_msg + proc_event.
func parseProcEvent(b []byte) (ProcEvent, bool) {
	if len(b) < 20+16 {
		return ProcEvent{}, false
	}
	if binary.LittleEndian.Uint32(b[0:]) != cnIdxProc {
		return ProcEvent{}, false
	}
	e := b[20:]
	ev := ProcEvent{What: binary.LittleEndian.Uint32(e[0:]), At: time.Duration(binary.LittleEndian.Uint64(e[8:]))}
	d := e[16:]
	switch ev.What {
	case procEventFork:
		if len(d) < 16 {
			return ev, false
		}
		ptgid, cpid, ctgid := binary.LittleEndian.Uint32(d[4:]), binary.LittleEndian.Uint32(d[8:]), binary.LittleEndian.Uint32(d[12:])
		if cpid != ctgid {
			return ev, false // a thread
		}
		ev.Parent, ev.Pid = int(ptgid), int(cpid)
	case procEventExec, procEventExit:
		if len(d) < 8 {
			return ev, false
		}
		pid, tgid := binary.LittleEndian.Uint32(d[0:]), binary.LittleEndian.Uint32(d[4:])
		if pid != tgid {
			if ev.What == procEventExec {
				return ev, false
			}
			ev.Thread = true
		}
		ev.Pid = int(tgid)
	default:
		return ev, false
	}
	return ev, true
}

// watch calls f with every event until the returned function is called.
func (p *procEvents) watch(f func(ProcEvent)) (stop func()) {
	p.mu.Lock()
	id := p.next
	p.next++
	p.subs[id] = f
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		delete(p.subs, id)
		p.mu.Unlock()
	}
}

// forkOf waits for the first fork by parent after the call, and returns the
// child and the kernel's time of the fork.
func (p *procEvents) forkOf(ctx context.Context, parent int, timeout time.Duration) func() (int, time.Duration, error) {
	ch := make(chan ProcEvent, 16)
	stop := p.watch(func(ev ProcEvent) {
		if ev.What == procEventFork && ev.Parent == parent {
			select {
			case ch <- ev:
			default:
			}
		}
	})
	return func() (int, time.Duration, error) {
		defer stop()
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case ev := <-ch:
			return ev.Pid, ev.At, nil
		case <-t.C:
			return 0, 0, fmt.Errorf("no fork by pid %d in %s", parent, timeout)
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		}
	}
}

// exitOf records the kernel's time of pid's exit (its leader thread's) and
// of the exit of its last thread; the function returned says them (ok false
// when the leader's was not seen).
//
// The leader's exit is stamped once it is a zombie, which may be before the
// other threads are gone: the last one out tears the address space down
// (~0.3-0.8 ms for the bench's Go child) and only then is the process's exit
// told to its parent (pidfd, SIGCHLD). The last thread's stamp follows that
// notice: last -> the next fork is the supervisor's own part.
func (p *procEvents) exitOf(pid int) func() (leader, last time.Duration, ok bool) {
	var mu sync.Mutex
	var at, end time.Duration
	stop := p.watch(func(ev ProcEvent) {
		if ev.What == procEventExit && ev.Pid == pid {
			mu.Lock()
			if !ev.Thread {
				at = ev.At
			}
			end = max(end, ev.At)
			mu.Unlock()
		}
	})
	return func() (time.Duration, time.Duration, bool) {
		stop()
		mu.Lock()
		defer mu.Unlock()
		return at, end, at != 0
	}
}
