package main

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// frontHeavy are the packages beadsctl, which every command starts, must
// not link (the Makefile's FRONT_HEAVY, make imports): the agent's supervisor
// with its net/http and runtime/metrics, crypto/tls and x509, the SQL driver.
// Their initialisers were ~1 ms of every command (issue 17); the agent and
// the jobs that need them run in beadsctl-agent.
var frontHeavy = []string{"net/http", "crypto/tls", "crypto/x509", "runtime/metrics",
	"github.com/go-sql-driver/mysql", "github.com/beadsctl/beadsctl/supervisor"}

func TestFrontLinksNothingHeavy(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		// go test puts the go command that runs it first on PATH.
		cmd := exec.Command("go", "list", "-deps", ".")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps (%s): %v", goos, err)
		}
		deps := strings.Fields(string(out))
		if !slices.Contains(deps, "github.com/beadsctl/beadsctl/internal/cli") {
			t.Fatalf("go list -deps (%s) does not list internal/cli: %q", goos, deps)
		}
		for _, p := range frontHeavy {
			if slices.Contains(deps, p) {
				t.Errorf("beadsctl (%s) links %s", goos, p)
			}
		}
	}
}

// TestEarlyStackInitialisesFirst checks what internal/earlystack relies on:
// the Go specification's order of initialisation puts it (no imports, an
// import path that sorts early) before the packages whose initialisers run
// deep, so that the main goroutine's stack is grown once, while it is
// shallow. The order is read from the runtime itself (GODEBUG=inittrace=1).
func TestEarlyStackInitialisesFirst(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "beadsctl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "version")
	cmd.Env = append(cmd.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("beadsctl version: %v\n%s", err, out)
	}
	order := map[string]int{}
	for i, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "init" {
			order[f[1]] = i
		}
	}
	early, ok := order["github.com/beadsctl/beadsctl/internal/earlystack"]
	if !ok {
		t.Fatalf("no init of internal/earlystack in the trace:\n%s", out)
	}
	for _, p := range []string{"github.com/zclconf/go-cty/cty", "go.yaml.in/yaml/v3", "github.com/joho/godotenv", "github.com/spf13/cobra", "github.com/beadsctl/beadsctl/internal/cli"} {
		i, ok := order[p]
		if !ok {
			t.Errorf("no init of %s in the trace (it no longer initialises anything: take it out of this list)", p)
			continue
		}
		if i < early {
			t.Errorf("%s initialises before internal/earlystack", p)
		}
	}
}
