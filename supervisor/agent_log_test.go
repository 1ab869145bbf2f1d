package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAgentLogRotates: agent.log never grows past its maximum; the previous
// file is kept as agent.log.1 and the newest lines are in agent.log
// (issue 13: a crash loop grew agent.log by 2.2 MB every 10 s, never rotated).
func TestAgentLogRotates(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenAgentLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	l.max = 1000
	for i := range 100 {
		line := fmt.Sprintf("%-98d\n", i)
		if n, err := l.Write([]byte(line)); n != len(line) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, StateDir, "agent.log")
	cur, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	prev, err := os.ReadFile(path + ".1")
	if err != nil {
		t.Fatal(err)
	}
	if len(cur) > 1000 || len(prev) > 1000 {
		t.Errorf("agent.log %d bytes, agent.log.1 %d bytes, want each at most 1000", len(cur), len(prev))
	}
	if !strings.HasSuffix(string(cur), fmt.Sprintf("%-98d\n", 99)) || !strings.HasSuffix(string(prev), fmt.Sprintf("%-98d\n", 89)) {
		t.Errorf("the newest lines are not in agent.log, the ones before in agent.log.1:\n%s\n--\n%s", prev, cur)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("agent.log mode: %v, %v; want 0600", fi, err)
	}
}
