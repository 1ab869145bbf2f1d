package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestCommandNamesMatch: commands names each constructor's command by the
// name and aliases it builds, and every command of the whole tree is in
// commands or toolCommands, so a run that names a command builds it.
func TestCommandNamesMatch(t *testing.T) {
	g := &globals{}
	for _, c := range commands {
		built := c.new(g)
		if built.Name() != c.name || !slices.Equal(built.Aliases, c.aliases) {
			t.Errorf("commands lists %q %q; its constructor builds %q %q", c.name, c.aliases, built.Name(), built.Aliases)
		}
	}
	for _, sub := range New().Commands() {
		if knownCommand(sub.Name()) != sub.Name() && sub.Name() != "help" && sub.Name() != "completion" {
			t.Errorf("the whole tree has %q, which neither commands nor toolCommands list", sub.Name())
		}
		for _, a := range sub.Aliases {
			if knownCommand(a) != sub.Name() {
				t.Errorf("alias %q of %q runs %q in a lazy tree", a, sub.Name(), knownCommand(a))
			}
		}
	}
}

func TestCommandNamed(t *testing.T) {
	for args, want := range map[string]string{
		"":                                   "",
		"status":                             "status",
		"list --json":                        "ls",
		"ls":                                 "ls",
		"-f x.hcl --env prod apply -y":       "apply",
		"--file=x.hcl --env= plan":           "plan",
		"--no-env --no-color=true logs web":  "logs",
		"--agent-timeout 2s stop web":        "stop",
		"--log-format json --env '' destroy": "destroy",
		"migrate --dry-run":                  "migrate",
		"help status":                        "",
		"completion bash":                    "",
		"__complete st":                      "",
		"nosuch":                             "",
		"--help":                             "",
		"--version":                          "",
		"-fx.hcl status":                     "",
		"-file x.hcl status":                 "",
		"-- status":                          "",
		"--env":                              "",
	} {
		if got := commandNamed(strings.Fields(args)); got != want {
			t.Errorf("commandNamed(%q) = %q, want %q", args, got, want)
		}
	}
}

// TestLazyTreeRunsAsTheWholeOne: for every command, and each of its
// subcommands, a tree built for those arguments alone finds the same
// command, with the same flags, and prints the same help, as the whole tree.
func TestLazyTreeRunsAsTheWholeOne(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			p := append(slices.Clone(path), sub.Name())
			paths = append(paths, p)
			for _, a := range sub.Aliases {
				paths = append(paths, append(slices.Clone(path), a))
			}
			walk(sub, p)
		}
	}
	walk(New(), nil)
	if len(paths) < len(commands)+len(toolCommands) {
		t.Fatalf("walked %d commands, fewer than the %d listed", len(paths), len(commands)+len(toolCommands))
	}
	help := func(root *cobra.Command, args []string) string {
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		return out.String()
	}
	for _, p := range paths {
		args := append([]string{"-f", "x.hcl"}, p...)
		lazy, whole := newTreeFor(nil, args), New()
		if len(lazy.Commands()) >= len(whole.Commands()) {
			t.Errorf("%q: the lazy tree built %d commands, the whole one %d", args, len(lazy.Commands()), len(whole.Commands()))
		}
		lc, _, lerr := lazy.Find(args)
		wc, _, werr := whole.Find(args)
		if lerr != nil || werr != nil || lc.CommandPath() != wc.CommandPath() {
			t.Fatalf("%q: lazy finds %q (%v), whole %q (%v)", args, lc.CommandPath(), lerr, wc.CommandPath(), werr)
		}
		if wc.Annotations[toolAnnotation] != "" {
			continue // its --help is beadsctl-tools' (handOver would exec it)
		}
		if lh, wh := help(lazy, append(args, "--help")), help(whole, append(args, "--help")); lh != wh {
			t.Errorf("%q --help differs:\nlazy:\n%s\nwhole:\n%s", args, lh, wh)
		}
	}
}

// TestReadOnlyCommandsDoNotAskForSignals: version, status and ls leave SIGINT
// and SIGTERM to Go's default (asking for them was ~0.4 ms of each), status
// --watch and every other command cancel their context on the first one.
func TestReadOnlyCommandsDoNotAskForSignals(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tc := range []struct {
		args []string
		asks bool
	}{
		{[]string{"version"}, false},
		{[]string{"status"}, false},
		{[]string{"ls"}, false},
		{[]string{"status", "--json"}, false},
		{[]string{"status", "--watch"}, true},
		{[]string{"ls", "-w"}, true},
		{[]string{"validate"}, true},
		{[]string{"plan"}, true},
		{[]string{"apply", "--auto-approve"}, true},
	} {
		root := newTreeFor(nil, tc.args)
		c, _, err := root.Find(tc.args)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		ran, asks := false, false
		c.RunE = func(c *cobra.Command, _ []string) error {
			ran = true
			asks = strings.Contains(fmt.Sprint(c.Context()), "signal.NotifyContext")
			return nil
		}
		root.SetArgs(tc.args)
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		err = root.ExecuteContext(context.Background())
		stopInterrupts()
		stopInterrupts = func() {}
		if err != nil || !ran {
			t.Fatalf("%q: ran %v, %v", tc.args, ran, err)
		}
		if asks != tc.asks {
			t.Errorf("%q: asks for signals %v, want %v", tc.args, asks, tc.asks)
		}
	}
}
