//go:build linux

package supervisor

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSampleGroupSumsMembers(t *testing.T) {
	s, err := sampleGroup(unix.Getpgrp())
	if err != nil {
		t.Fatal(err)
	}
	if s.Members < 1 || s.RSS < 1<<20 || s.CPU <= 0 {
		t.Errorf("sample of our own group = %+v", s)
	}
	if _, err := sampleGroup(1 << 30); err == nil {
		t.Error("no error for a group without members")
	}
}

func TestParseStatOddNames(t *testing.T) {
	st, ok := parseStat([]byte("42 (a) b (c)) S 1 77 77 0 -1 4194560 100 0 0 0 30 12 0 0 20 0 1 0 123 456789 250 18446744073709551615\n"))
	if !ok || st.pgrp != 77 || st.ticks != 42 || st.rssPages != 250 {
		t.Errorf("parseStat = %+v, %v", st, ok)
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
		if _, err := sampleGroup(pgid); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(procs)), "procs")
}

// BenchmarkGroupSampler measures the daemon's sampling: mostly reads of the
// known members, a full scan every fullScanEvery samples.
func BenchmarkGroupSampler(b *testing.B) {
	g := newGroupSampler(unix.Getpgrp())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.sample(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestGroupSamplerFindsMembers(t *testing.T) {
	g := newGroupSampler(unix.Getpgrp())
	full, err := g.sample()
	if err != nil {
		t.Fatal(err)
	}
	cheap, err := g.sample()
	if err != nil {
		t.Fatal(err)
	}
	if cheap.Members != full.Members || cheap.RSS == 0 {
		t.Errorf("cheap sample %+v, full scan %+v", cheap, full)
	}
}
