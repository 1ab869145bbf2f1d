package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/clilog"
	"github.com/beadsctl/beadsctl/reconcile"
)

// version is beadsctl's, which cmd/beadsctl sets at build time with -ldflags
// "-X main.version=..." (SetVersion).
var version = "0.1.0-dev"

// SetVersion sets beadsctl's version (before Main).
func SetVersion(v string) { version = v }

// errPrinted tells Main that the error was already shown: just exit 1.
var errPrinted = errors.New("error already printed")

// exitError carries a specific exit code (2 for "changes pending" / "drift").
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Globals are the persistent flags shared by every command (beadsctl-tools'
// commands read them through the methods below).
type Globals = globals

// globals are the persistent flags shared by every command.
type globals struct {
	file string // -f/--file, default ./beads.hcl
	// env is --env (envSet: given, even empty); noEnv is --no-env. Neither
	// given nor BEADSCTL_ENV set: the profile applied last (see profile).
	env       string
	envSet    bool
	noEnv     bool
	logFormat string // --log-format auto|text|json
	noColor   bool
	// agentTimeout is how long the agent has to answer (--agent-timeout,
	// default $BEADSCTL_AGENT_TIMEOUT, else reconcile.DefaultAgentTimeout).
	agentTimeout time.Duration
	log          *slog.Logger
}

// dial returns a client for the agent of dir with the --agent-timeout deadline.
func (g *globals) dial(dir string) *reconcile.Client {
	c := reconcile.Dial(dir)
	c.SetTimeout(g.agentTimeout)
	c.SetVersion(version)
	return c
}

// agentTimeoutDefault is $BEADSCTL_AGENT_TIMEOUT when it is a duration, else
// reconcile.DefaultAgentTimeout.
func agentTimeoutDefault() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("BEADSCTL_AGENT_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return reconcile.DefaultAgentTimeout
}

// color reports whether w is a terminal and colours are allowed (NO_COLOR unset).
func (g *globals) color(w io.Writer) bool {
	if g.noColor || os.Getenv("NO_COLOR") != "" {
		return false
	}
	return isTerminal(w)
}

func isTerminal(w io.Writer) bool { return clilog.IsTerminal(w) }

func newLogger(format string, w io.Writer, noColor bool) (*slog.Logger, error) {
	return clilog.New(format, w, noColor)
}

// New builds beadsctl's command tree: the commands of beadsctl-tools hand
// over to it.
func New() *cobra.Command { return newTree(nil, "") }

// NewTools builds beadsctl-tools' tree: beadsctl's with tools' commands.
func NewTools(tools Tools) *cobra.Command { return newTree(tools, "") }

// newTreeFor builds the tree a run with args needs: when they name one of
// the commands, the root with that command alone (building every command,
// with its flags, and cobra merging the root's flags into each, was ~0.2 ms
// of every run's ~2.5-3.5); else (no command, help, completion, an unknown
// name that cobra suggests a command for, a flag before the command that only
// the whole tree knows) the whole tree.
func newTreeFor(tools Tools, args []string) *cobra.Command {
	return newTree(tools, commandNamed(args))
}

// rootValueFlags are the root's persistent flags that take a value (the
// next argument, unless given as --flag=value), rootBoolFlags those that do
// not: what may come before the command's name.
var (
	rootValueFlags = []string{"-f", "--file", "--env", "--log-format", "--agent-timeout"}
	rootBoolFlags  = []string{"--no-env", "--no-color"}
)

// commandNamed is the name (not an alias: what commands lists first) of the
// command args run, "" when they run none of commands and toolCommands, or
// when only the whole tree can tell (help, completion, an unknown flag).
func commandNamed(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			return knownCommand(a)
		}
		flag, _, hasValue := strings.Cut(a, "=")
		switch {
		case slices.Contains(rootValueFlags, flag):
			if !hasValue {
				i++
			}
		case slices.Contains(rootBoolFlags, flag):
		default:
			return "" // --help, --version, "--", a shorthand run together, a Terraform-style -flag
		}
	}
	return ""
}

// knownCommand is name's command's name when name is one of commands (or
// an alias of one) or of toolCommands, else "".
func knownCommand(name string) string {
	for _, c := range commands {
		if c.name == name || slices.Contains(c.aliases, name) {
			return c.name
		}
	}
	for _, t := range toolCommands {
		if t.name == name {
			return t.name
		}
	}
	return ""
}

// newTree builds the whole tree, or (only != "") the root with the command
// named only alone.
func newTree(tools Tools, only string) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "beadsctl",
		Short:         "Keep the Beads daemon in the state beads.hcl declares",
		Long:          "beadsctl keeps the Beads daemon (bd daemon --start --foreground), and any other\nlong-running command a project needs, in the state declared in beads.hcl.",
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(c *cobra.Command, args []string) error {
			interruptible(c)
			g.envSet = c.Flags().Changed("env")
			if g.envSet && g.noEnv {
				return errors.New("--env and --no-env exclude each other: --no-env is the base blocks, without any env profile")
			}
			l, err := newLogger(g.logFormat, c.ErrOrStderr(), g.noColor)
			if err != nil {
				return err
			}
			g.log = l
			resolveConfig(c, g, args, c.ErrOrStderr())
			if !longRunning(c) {
				shortLivedGC()
			}
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&g.file, "file", "f", defaultConfig, "path of the configuration file (default: beads.hcl here or in the nearest parent folder, up to the repository's root)")
	pf.StringVar(&g.env, "env", "", "env `profile` (default $BEADSCTL_ENV, else the profile applied last)")
	pf.BoolVar(&g.noEnv, "no-env", false, "no env profile: the base daemon blocks (as --env '')")
	pf.StringVar(&g.logFormat, "log-format", "auto", "log format: auto (tint on a terminal, JSON otherwise), text or json")
	pf.BoolVar(&g.noColor, "no-color", false, "disable colours (NO_COLOR is honoured too)")
	pf.DurationVar(&g.agentTimeout, "agent-timeout", agentTimeoutDefault(),
		"how long the agent has to answer a question, and each liveness check during a long request (default $BEADSCTL_AGENT_TIMEOUT)")

	for _, c := range commands {
		if only == "" || only == c.name {
			root.AddCommand(c.new(g))
		}
	}
	addTools(root, g, tools, only)
	addExamples(root)
	return root
}

// longRunning reports whether c runs until it is stopped (the agent, a
// monitor, anything following or watching): those keep Go's collector.
func longRunning(c *cobra.Command) bool {
	for p := c; p != nil; p = p.Parent() {
		if p.Name() == "agent" || p.Name() == "monitor" {
			return true
		}
	}
	for _, f := range []string{"follow", "watch"} {
		if fl := c.Flags().Lookup(f); fl != nil && fl.Value.String() == "true" {
			return true
		}
	}
	return false
}

// shortLivedGC turns the garbage collector off for a command that is over
// in milliseconds, up to a soft limit of 1 GiB: parsing 1,000 daemons spent
// a quarter of its time collecting what the exit frees anyway. (A hostile
// 1 MiB beads.hcl costs ~300 MB to parse: under the limit.)
func shortLivedGC() {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(1 << 30)
}

// commands lists the subcommands, each by its name and aliases (those of
// beadsctl-tools are toolCommands), so that a run builds only the one its
// arguments name (newTreeFor); TestCommandNamesMatch holds them to what the
// constructors build.
var commands = []struct {
	name    string
	aliases []string
	new     func(*globals) *cobra.Command
}{
	{"version", nil, newVersionCmd},
	{"validate", nil, newValidateCmd},
	{"agent", nil, newAgentCmd},
	{"plan", nil, newPlanCmd},
	{"apply", nil, newApplyCmd},
	{"drift", nil, newDriftCmd},
	{"start", nil, newStartCmd},
	{"stop", nil, newStopCmd},
	{"restart", nil, newRestartCmd},
	{"destroy", nil, newDestroyCmd},
	{"state", nil, newStateCmd},
	{"status", nil, newStatusCmd},
	{"ls", []string{"list"}, newListCmd},
	{"show", nil, newShowCmd},
	{"logs", nil, newLogsCmd},
	{"events", nil, newEventsCmd},
	{"metrics", nil, newMetricsCmd},
	{"alert", nil, newAlertCmd},
	{"health", nil, newHealthCmd},
}

func newVersionCmd(*globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print beadsctl's version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintf(c.OutOrStdout(), "beadsctl %s\n", version)
			return nil
		},
	}
}

// Main runs beadsctl with os.Args and returns the exit code. A command of
// beadsctl-tools is handed over to it before anything else is set up.
func Main() int {
	root := newTreeFor(nil, os.Args[1:])
	if name := toolFor(root, os.Args[1:]); name != "" {
		return handOver(name, os.Args[1:], os.Stderr)
	}
	return run(root)
}

// toolsMode is set in beadsctl-tools (see Executable).
var toolsMode bool

// MainTools runs beadsctl-tools with os.Args and returns the exit code: the
// commands of tools and beadsctl's own.
func MainTools(tools Tools) int {
	toolsMode = true
	if !checkToolsVersion(os.Stderr) {
		return 1
	}
	return run(newTreeFor(tools, os.Args[1:]))
}

func run(root *cobra.Command) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer stopInterrupts()
	args := os.Args[1:]
	root.SetArgs(terraformFlags(root, args))
	ownCompletionOnly(root, args)
	err := root.ExecuteContext(ctx)
	return exitCode(err, root.ErrOrStderr())
}

// readOnlyCommands only read and print, in a few ms: interrupted, nothing of
// theirs is left half done.
var readOnlyCommands = []string{"version", "status", "ls"}

// stopInterrupts ends what interruptible set up (nothing before it runs).
var stopInterrupts = func() {}

// interruptible makes the first SIGINT or SIGTERM cancel c's context (the
// command ends "interrupted", exit 1) and a second one kill outright, as Go
// does by default. A read-only command (readOnlyCommands) that is not
// long-running (status --watch is) does not ask for the signals and ends as
// Go's default does (killed by the signal: exit 130 from a shell): asking
// costs ~0.4 ms of its ~4 ms (os/signal's goroutines and the threads they
// wake, a sigaction per signal: status of 50 daemons 4.4 -> 4.0 ms, version
// 3.8 -> 2.7 ms, interleaved runs).
func interruptible(c *cobra.Command) {
	if slices.Contains(readOnlyCommands, c.Name()) && !longRunning(c) {
		return
	}
	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills
	}()
	c.SetContext(ctx)
	stopInterrupts = stop
}

// ownCompletionOnly leaves out cobra's default completion command (bash,
// zsh, fish and powershell, each with its flags, built at every start: 14 of
// the ~510 page faults of `beadsctl version` and ~1.5 % of its CPU) when args
// name a command of ours, which then runs instead: it cannot be asked for.
// `beadsctl completion ...`, `beadsctl help`, a shell's completion request
// (__complete) and an unknown command still have it.
func ownCompletionOnly(root *cobra.Command, args []string) {
	if c, _, err := root.Find(args); err == nil && c != root && c.Name() != "completion" {
		root.CompletionOptions.DisableDefaultCmd = true
	}
}

// terraformFlags rewrites the single-dash long flags Terraform users type
// (-target=web, -auto-approve, -out plan) to the double-dash form when the
// command has a long flag of that name. Shorthands (-f, -n 5, -y), values and
// everything after "--" are left as they are.
func terraformFlags(root *cobra.Command, args []string) []string {
	c, _, err := root.Find(args)
	if err != nil {
		return args
	}
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && len(name) > 1 && c.Flag(name) != nil {
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}

func exitCode(err error, stderr io.Writer) int {
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errPrinted):
		return 1
	}
	fmt.Fprintf(stderr, "Error: %v\n", err)
	return 1
}
