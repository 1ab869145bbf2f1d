package cli

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/bd"
)

// TestAgentHandOverWithoutTheAgent: without beadsctl-agent beside beadsctl
// (this test binary has none), starting the agent, `beadsctl agent` (every
// mode), alert test without an agent and the flush of a rival Dolt server
// fail with the missing file's path and how to install it; nothing runs in
// their place.
func TestAgentHandOverWithoutTheAgent(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(filepath.Dir(exe), agentapi.LeanAgentName)
	hint := "Install it beside beadsctl, from the same build: make install (or make build for .bin/), or\n" +
		"CGO_ENABLED=0 go build -o " + path + " ./cmd/beadsctl-agent in beadsctl's source."
	missing := func(what string) string {
		return what + " runs in beadsctl-agent, which is missing: " + path + ": no such file.\n" + hint
	}
	dir := t.TempDir()
	g := &globals{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := startAgent(t.Context(), dir, g.log); err == nil || err.Error() != missing("the agent") {
		t.Errorf("start the agent: %v\nwant: %s", err, missing("the agent"))
	}
	for _, args := range [][]string{{"--dir", dir}, {"--foreground", "--dir", dir}} {
		var run *agentapi.AgentRun
		if args[0] == "--foreground" {
			run = &agentapi.AgentRun{}
		}
		if err := handOverAgent(t.Context(), g, dir, args, run); err == nil || err.Error() != missing("beadsctl agent") {
			t.Errorf("beadsctl agent %s: %v\nwant: %s", strings.Join(args, " "), err, missing("beadsctl agent"))
		}
	}
	specs := []agentapi.AlertSpec{{Name: "file", On: []string{"errored"}, Command: []string{"touch", filepath.Join(dir, "ran")}, Dir: dir}}
	if _, err := testAlertsInAgent(t.Context(), specs, "", nil); err == nil || err.Error() != missing("beadsctl alert test without a running agent") {
		t.Errorf("alert test: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("the alert's command ran")
	}
	if _, err := flushDoltInAgent(t.Context(), bd.SQLTarget{Addr: "127.0.0.1:1"}); err == nil || err.Error() != missing("the flush of an unmanaged dolt sql-server") {
		t.Errorf("dolt flush: %v", err)
	}
}
