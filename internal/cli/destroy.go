package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/plural"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
)

type destroyOptions struct {
	autoApprove bool
	lockTimeout time.Duration
}

func newDestroyCmd(g *globals) *cobra.Command {
	o := &destroyOptions{}
	c := &cobra.Command{
		Use:   "destroy",
		Short: "Stop every daemon and the agent, remove the socket and stale bd files",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return runDestroy(c, g, o) },
	}
	addAutoApprove(c, &o.autoApprove, "destroy")
	c.Flags().DurationVar(&o.lockTimeout, "lock-timeout", 0, "how long to wait for another beadsctl holding .beadsctl/lock")
	return c
}

func runDestroy(c *cobra.Command, g *globals, o *destroyOptions) error {
	ctx, out := c.Context(), c.OutOrStdout()
	s, err := reconcile.OpenSession(ctx, destroySession(c, g, o))
	if err != nil {
		return err
	}
	defer s.Close()
	live, err := s.Observe(ctx)
	if err != nil {
		return err
	}
	if err := live.AgentAnswers(); err != nil {
		return err
	}
	if cerr := s.ConfigError(); cerr != nil {
		why := "does not load (the errors above)"
		if errors.Is(cerr, errNoConfig) {
			why = "is not there (" + s.Config().Path + ")"
		}
		fmt.Fprintf(out, "%s %s: destroy works without it, from state.json (%s) and the agent: it stops every daemon the agent runs.\n",
			filepath.Base(g.file), why, plural.Count(len(s.State().Daemons), "daemon"))
	}
	if live.AgentUp {
		fmt.Fprintf(out, "beadsctl will stop %s and the agent.\n", plural.Count(len(live.Daemons), "daemon"))
	} else {
		fmt.Fprintln(out, "The agent is not running (nothing runs); beadsctl will remove what is left: its socket and stale bd files.")
	}
	if !o.autoApprove {
		if err := confirm(c, "destroy", "destroy"); err != nil {
			return err
		}
	}
	if err := s.Destroy(ctx, progressPrinter(out, g.color(out))); err != nil {
		return err
	}
	without := ""
	if s.ConfigError() != nil {
		without = filepath.Base(g.file)
	}
	fmt.Fprintln(out, "\n"+destroyComplete(without, agentapi.FindsEscaped, runtime.GOOS))
	return nil
}

// destroyComplete is destroy's last line. without names the configuration
// destroy did without ("" when it loaded). "Nothing runs" is said only where
// the supervisor finds a daemon's processes that left its process group
// (findsEscaped); elsewhere the line says what may still run.
func destroyComplete(without string, findsEscaped bool, goos string) string {
	head, again := "Destroy complete!", "beadsctl apply starts it all again."
	if without != "" {
		head, again = "Destroy complete (without "+without+")!", "fix it and beadsctl apply starts it all again."
	}
	if findsEscaped {
		return head + " Nothing runs; " + again
	}
	return head + " Every daemon and the agent stopped; " + mayStillRun(goos) + "; " + again
}

// mayStillRun says what destroy cannot find on goos (!agentapi.FindsEscaped).
func mayStillRun(goos string) string {
	return "a process a daemon moved out of its process group (setsid, a double fork) cannot be found on " + goos + " and may still run (look with ps)"
}

// errNoConfig is destroy's beads.hcl that is not there (nothing to show).
var errNoConfig = errors.New("no configuration")

// destroySession opens destroy's session: beads.hcl is optional, since
// destroy must stop what runs whatever became of the file. One that does not
// load shows its errors (what destroy then does without it); a missing one
// only says so (the advice on writing one is for the other commands).
func destroySession(c *cobra.Command, g *globals, o *destroyOptions) reconcile.SessionOptions {
	so := sessionOptions(c, g, g.chosenProfile(), "destroy", true, o.lockTimeout)
	so.ConfigOptional = true
	load := so.Load
	so.Load = func(profile string) (*schema.Config, error) {
		if _, err := os.Stat(g.file); errors.Is(err, fs.ErrNotExist) {
			return nil, errNoConfig
		}
		return load(profile)
	}
	return so
}
