package main

import (
	"os/exec"
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
