//go:build linux

package supervisor

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beadsctl/beadsctl/internal/proc"
	"golang.org/x/sys/unix"
)

func TestSampleGroupSumsMembers(t *testing.T) {
	s, err := proc.SampleGroup(unix.Getpgrp())
	if err != nil {
		t.Fatal(err)
	}
	if s.Members < 1 || s.RSS < 1<<20 || s.CPU <= 0 {
		t.Errorf("sample of our own group = %+v", s)
	}
	if _, err := proc.SampleGroup(1 << 30); err == nil {
		t.Error("no error for a group without members")
	}
}

func TestParseStatOddNames(t *testing.T) {
	st, ok := proc.ParseStat([]byte("42 (a) b (c)) S 1 77 77 0 -1 4194560 100 0 0 0 30 12 0 0 20 0 1 0 123 456789 250 18446744073709551615\n"))
	if !ok || st.Pgrp != 77 || st.Ticks != 42 || st.RSSPages != 250 {
		t.Errorf("proc.ParseStat = %+v, %v", st, ok)
	}
}

// BenchmarkSampleGroup measures one memory sample (a /proc scan) on this
// machine; b.ReportMetric gives the processes scanned per sample.
func BenchmarkSampleGroup(b *testing.B) {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	pgid := os.Getpid()
	if unix.Getpgrp() != pgid {
		pgid = unix.Getpgrp()
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := proc.SampleGroup(pgid); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(procs)), "procs")
}

// BenchmarkGroupSampler measures the daemon's sampling: two small reads per
// known member (statm, children), a full one (stat) every fifth, a shared
// scan every rescanEvery.
func BenchmarkGroupSampler(b *testing.B) {
	// A group the benchmark leads (sh and its sleep), as a daemon's is: the
	// test's own group may have lost its leader (a detached run).
	cmd := exec.Command("sh", "-c", "sleep 1000 & echo ready; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }()
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		b.Fatal(err)
	}
	g := newGroupSampler(cmd.Process.Pid)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := g.sample(i%5 == 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func TestParseStatm(t *testing.T) {
	if v, ok := proc.ParseStatm([]byte("2134 250 180 3 0 120 0\n")); !ok || v != 250 {
		t.Errorf("proc.ParseStatm = %d, %v; want 250", v, ok)
	}
	if _, ok := proc.ParseStatm(nil); ok {
		t.Error("proc.ParseStatm of nothing is ok")
	}
}

func TestAtou(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "7": 7, "250": 250, "18446744073709551615": 0, "1844674407370955161": 1844674407370955161} {
		got, ok := proc.Atou([]byte(in))
		if wantOK := len(in) <= 19; ok != wantOK || ok && got != want {
			t.Errorf("proc.Atou(%q) = %d, %v; want %d, %v", in, got, ok, want, wantOK)
		}
	}
	for _, in := range []string{"", "-1", "12a", " 1", "1\n"} {
		if v, ok := proc.Atou([]byte(in)); ok {
			t.Errorf("proc.Atou(%q) = %d, ok; want not ok", in, v)
		}
	}
}

// TestGroupSamplerAllocatesNothing: an idle agent's steady work is these
// samples (50 a second for 50 daemons); they read into a pooled buffer and
// parse without strconv's strings, so that they leave no garbage for the GC
// (a 1 KiB buffer and a string per sample did).
func TestGroupSamplerAllocatesNothing(t *testing.T) {
	cmd := exec.Command("sleep", "1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	g := newGroupSampler(cmd.Process.Pid)
	defer g.close()
	if _, err := g.sample(true); err != nil { // opens the member's files
		t.Fatal(err)
	}
	for _, full := range []bool{false, true} {
		var err error
		if n := testing.AllocsPerRun(100, func() { _, err = g.sample(full) }); n != 0 || err != nil {
			t.Errorf("sample(full=%v): %v allocations a sample, error %v; want none", full, n, err)
		}
	}
}

// TestGroupSamplerFindsMembers: a full scan and then the cheap walk from the
// leader find the same members. The group is one the test leads (sh and its
// sleep), as a daemon's is: the sampler walks from the leader, which for a
// daemon is alive as long as its group is (ExecRunner kills the rest of the
// group when the leader exits). The test's own group was used before, and its
// leader is whatever started `go test`: the test failed whenever that had
// exited (CI, `setsid -w bash -c 'go test ...'`).
func TestGroupSamplerFindsMembers(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 1000 & echo ready; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }()
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	g := newGroupSampler(cmd.Process.Pid)
	g.lastScan = time.Time{} // the first sample is a full scan
	full, err := g.sample(true)
	if err != nil {
		t.Fatal(err)
	}
	cheap, err := g.sample(false) // statm and children only
	if err != nil {
		t.Fatal(err)
	}
	if full.Members != 2 || cheap.Members != full.Members || cheap.RSS == 0 || full.CPU == 0 && full.RSS == 0 {
		t.Errorf("cheap sample %+v, full scan %+v; want sh and sleep in both", cheap, full)
	}
}

// TestGroupSamplerRescanFindsOthers: a member that descends from no member
// (here our own child, put in the group) is found by the shared rescan (the
// backstop of a group that has forked).
func TestGroupSamplerRescanFindsOthers(t *testing.T) {
	cmd := exec.Command("sh", "-c", "read x")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { in.Close(); cmd.Wait() }()
	g := newGroupSampler(cmd.Process.Pid)
	g.forked = true // the backstop rescan applies to a group that has forked (see the next test)
	first, err := g.sample(true)
	if err != nil || first.Members != 1 {
		t.Fatalf("first sample = %+v, %v; want the leader alone", first, err)
	}
	child := exec.Command("sleep", "1000")
	child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: cmd.Process.Pid}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	// sleep is our child, not the leader's: only the shared scan can find it
	// That scan must be new: another sampler (any test's daemon, the test
	// before) may have scanned within rescanEvery, before sleep existed, and
	// the rescan would reuse it (this failed now and then in a full run).
	g.lastFull = time.Time{} // the backstop scan is due
	sharedScan.invalidate()
	second, err := g.sample(true)
	if err != nil || second.Members != 2 {
		t.Fatalf("after a rescan = %+v, %v; want 2 members", second, err)
	}
}

// TestGroupSamplerRescansOnlyGroupsThatForked: a leader that never had a
// child has no member elsewhere, so its group costs no /proc scan; once it
// has reaped a child (a double fork leaves a grandchild nobody's child but
// init's), rescans apply.
func TestGroupSamplerRescansOnlyGroupsThatForked(t *testing.T) {
	cmd := exec.Command("sh", "-c", `read x; sleep 0; echo reaped; read y`)
	in, out := startLeader(t, cmd)
	g := newGroupSampler(cmd.Process.Pid)
	g.lastScan, g.lastFull = time.Time{}, time.Time{} // a look and a scan are due at every sample
	if _, err := g.sample(true); err != nil || g.forked {
		t.Fatalf("first sample: %v, forked %v; want a leader that never forked", err, g.forked)
	}
	tell(t, in, out)
	if _, err := g.sample(false); err != nil || g.forked {
		t.Fatalf("cheap sample: %v, forked %v; the reap shows in a full sample only", err, g.forked)
	}
	if _, err := g.sample(true); err != nil || !g.forked {
		t.Fatalf("full sample after sh reaped sleep: %v, forked %v; want forked", err, g.forked)
	}
}

// TestGroupSamplerFollowsChildren: a grandchild of the leader, in its group, is
// found through the children lists with no full scan at all.
func TestGroupSamplerFollowsChildren(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 1000 & echo ready; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }()
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	g := newGroupSampler(cmd.Process.Pid)
	g.now = func() time.Time { return g.lastScan } // never rescan
	s, err := g.sample(true)
	if err != nil || s.Members != 2 {
		t.Fatalf("sample = %+v, %v; want sh and sleep", s, err)
	}
}

// startLeader starts cmd as the leader of a process group of its own, with
// pipes to its stdin and from its stdout; the group is killed at the end.
func startLeader(t *testing.T, cmd *exec.Cmd) (io.Writer, *bufio.Reader) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); in.Close(); cmd.Wait() })
	return in, bufio.NewReader(out)
}

// tell writes a line to a leader that waits for one, and returns the line it
// answers.
func tell(t *testing.T, in io.Writer, out *bufio.Reader) string {
	t.Helper()
	if _, err := io.WriteString(in, "go\n"); err != nil {
		t.Fatal(err)
	}
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	return strings.TrimSpace(line)
}

// TestGroupSamplerScansAfterAReapOnlyOnce: a leader that forks and reaps a
// short child (dolt runs uname as it starts) is scanned once after the reap
// (an orphan would be found then), not every rescanEvery for its whole run,
// and a long-lived child that another of its threads forks later is found
// through that thread's children list, with no scan.
func TestGroupSamplerScansAfterAReapOnlyOnce(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=threadfork")
	in, out := startLeader(t, cmd)
	sharedScan.invalidate()
	clock := time.Now()
	g := newGroupSampler(cmd.Process.Pid)
	g.now = func() time.Time { return clock }
	sample := func(what string, members int) {
		t.Helper()
		clock = clock.Add(rescanEvery)
		if s, err := g.sample(true); err != nil || s.Members != members {
			t.Fatalf("%s: %+v, %v; want %d members", what, s, err, members)
		}
	}
	sample("first sample", 1)
	if said := tell(t, in, out); said != "ran" {
		t.Fatalf("helper said %q, want ran", said)
	}
	created := g.lastScan
	sample("the sample that sees the reap", 1)
	if !g.forked || g.lastScan != created {
		t.Fatalf("after the reap: forked %v, scanned at %v; want forked, a scan asked for the next sample", g.forked, g.lastScan)
	}
	sample("the sample after the reap", 1)
	scanned := g.lastScan
	if scanned == created {
		t.Fatal("no scan after the leader reaped a child")
	}
	sample("a quiet sample", 1)
	if g.lastScan != scanned {
		t.Fatal("scanned again with nothing new: a group that forked once is scanned every rescanEvery")
	}
	pid := tell(t, in, out)
	sample("after a thread forked a long-lived child (pid "+pid+")", 2)
	if g.lastScan != scanned {
		t.Fatal("the thread's child was found by a scan, not through its children list")
	}
}

// TestGroupSamplerFindsAnOrphan: a double fork (the middle process reaped at
// once) leaves a grandchild that is nobody's child in the group; the reap
// asks for a scan, which finds it.
func TestGroupSamplerFindsAnOrphan(t *testing.T) {
	cmd := exec.Command("sh", "-c", `read x; (sleep 1000 &); echo forked; read y`)
	in, out := startLeader(t, cmd)
	sharedScan.invalidate()
	clock := time.Now()
	g := newGroupSampler(cmd.Process.Pid)
	g.now = func() time.Time { return clock }
	if s, err := g.sample(true); err != nil || s.Members != 1 || g.forked {
		t.Fatalf("first sample %+v, %v, forked %v; want the leader alone, never forked", s, err, g.forked)
	}
	tell(t, in, out)
	clock = clock.Add(rescanEvery)
	if s, err := g.sample(true); err != nil || s.Members != 1 || g.scanSince.IsZero() {
		t.Fatalf("sample after the double fork %+v, %v; want the leader alone and a scan asked for", s, err)
	}
	clock = clock.Add(rescanEvery)
	if s, err := g.sample(true); err != nil || s.Members != 2 {
		t.Fatalf("sample after the scan %+v, %v; want sh and the orphaned sleep", s, err)
	}
}

// invalidate makes the next members call scan /proc again.
func (p *procScan) invalidate() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.groups, p.known = nil, nil
}

// TestGroupMemorySnapshot: one reading of /proc answers for every group.
func TestGroupMemorySnapshot(t *testing.T) {
	mem := GroupMemorySnapshot()
	if rss, err := mem(t.Context(), unix.Getpgrp()); err != nil || rss == 0 {
		t.Errorf("our own group: %d, %v", rss, err)
	}
	if _, err := mem(t.Context(), 1<<30); err == nil {
		t.Error("no error for a group without members")
	}
}

// TestGroupSamplerReadsChildrenOfALeaderThatNeverForkedEveryFullSample: a
// leader that never had a child costs one read per cheap sample (statm); its
// first child is found at the next full sample, and from then on its
// children lists are read at every sample.
func TestGroupSamplerReadsChildrenOfALeaderThatNeverForkedEveryFullSample(t *testing.T) {
	cmd := exec.Command("sh", "-c", `read x; sleep 1000 & echo forked; wait`)
	in, out := startLeader(t, cmd)
	g := newGroupSampler(cmd.Process.Pid)
	if s, err := g.sample(true); err != nil || s.Members != 1 || g.forked {
		t.Fatalf("first sample %+v, %v, forked %v; want the leader alone, never forked", s, err, g.forked)
	}
	tell(t, in, out)
	if s, err := g.sample(false); err != nil || s.Members != 1 {
		t.Fatalf("cheap sample after the fork %+v, %v; want the leader alone (children read with full samples)", s, err)
	}
	if s, err := g.sample(true); err != nil || s.Members != 2 || !g.forked {
		t.Fatalf("full sample %+v, %v, forked %v; want sh and sleep", s, err, g.forked)
	}
	if s, err := g.sample(false); err != nil || s.Members != 2 {
		t.Fatalf("cheap sample once forked %+v, %v; want sh and sleep", s, err)
	}
}
