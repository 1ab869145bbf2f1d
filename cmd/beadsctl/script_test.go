//go:build linux

package main

import (
	"bufio"

	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/beadsctl/beadsctl/internal/bdsim"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"beadsctl": func() { os.Exit(Main()) },
		"bd":       func() { os.Exit(bdsim.Main()) },
	})
}

func TestScripts(t *testing.T) {
	// $REPO is the repository root, for scripts that check its own files.
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			env.Setenv("BEADSCTL_ENV", "")
			env.Setenv("REPO", repo)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile": cmdWaitfile,
		},
	})
}

// cmdWaitfile waits until a file exists (and, with a second argument, contains
// that text): a readiness barrier for processes started in the background.
// Usage: waitfile [-timeout 10s] path [text]
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	timeout := 10 * time.Second
	if len(args) >= 2 && args[0] == "-timeout" {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		timeout, args = d, args[2:]
	}
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitfile [-timeout D] path [text]")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(timeout)
	for {
		ok := fileHas(path, args[1:])
		if ok != neg {
			return
		}
		if time.Now().After(deadline) {
			if neg {
				ts.Fatalf("%s still present after %v", args[0], timeout)
			}
			ts.Fatalf("%s not ready after %v", args[0], timeout)
		}
		waitForChange(filepath.Dir(path), 20*time.Millisecond)
	}
}

func fileHas(path string, text []string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if len(text) == 0 {
		return true
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), text[0]) {
			return true
		}
	}
	return false
}
