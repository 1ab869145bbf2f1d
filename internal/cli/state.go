package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/plural"
	"github.com/beadsctl/beadsctl/reconcile"
)

func newStateCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "state", Short: "Inspect or repair .beadsctl/state.json", Args: cobra.NoArgs,
		Long: "What the last apply recorded, as terraform state does: list the daemons it records,\n" +
			"show one as recorded, or forget it all (reset)."}
	c.AddCommand(newStateListCmd(g), newStateShowCmd(g), newStateResetCmd(g))
	return c
}

func newStateListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the daemons state.json records, one address (daemon.NAME) a line",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := reconcile.ReadState(reconcile.StatePath(opsDir(g)))
			if err != nil {
				return err
			}
			if len(st.Daemons) == 0 {
				fmt.Fprintln(c.ErrOrStderr(), noStateText(st))
				return nil
			}
			for _, name := range st.Names() {
				fmt.Fprintln(c.OutOrStdout(), "daemon."+name)
			}
			return nil
		},
	}
}

func noStateText(st *reconcile.State) string {
	if st.Applied() {
		return "The state records no daemon (.beadsctl/state.json)."
	}
	return "No state: nothing was applied here (no .beadsctl/state.json)."
}

func newStateShowCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show DAEMON",
		Short: "Show one daemon as state.json records it (environment values are kept as keyed hashes)",
		Long: "Show what the last apply recorded of one daemon: its spec (environment values as keyed\n" +
			"hashes: state.json never holds them), its hash, when it was applied, and the process it left\n" +
			"running. DAEMON is a name or an address (daemon.NAME). beadsctl show DAEMON shows it live.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			st, err := reconcile.ReadState(reconcile.StatePath(opsDir(g)))
			if err != nil {
				return err
			}
			name := strings.TrimPrefix(args[0], "daemon.")
			ds, ok := st.Daemons[name]
			if !ok {
				if len(st.Daemons) == 0 {
					return fmt.Errorf("no daemon %q in the state: %s", name, noStateText(st))
				}
				return fmt.Errorf("no daemon %q in the state (it records: %s)", name, strings.Join(st.Names(), ", "))
			}
			if asJSON {
				return writeJSON(c.OutOrStdout(), ds)
			}
			renderStateDaemon(c.OutOrStdout(), name, ds)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the entry as state.json holds it")
	return c
}

// renderStateDaemon writes a state entry as terraform state show does: a
// comment, then the block with its attributes.
func renderStateDaemon(w io.Writer, name string, ds reconcile.DaemonState) {
	fmt.Fprintf(w, "# daemon.%s: applied %s, hash %s\n", name, stamp(ds.AppliedAt), ds.Hash)
	switch {
	case ds.Destroyed:
		fmt.Fprintln(w, "# stopped by beadsctl destroy")
	case ds.Stopped:
		fmt.Fprintln(w, "# stopped on purpose (beadsctl stop)")
	}
	if ds.Pid > 0 {
		fmt.Fprintf(w, "# process at apply: pid %d, started %s, in %s\n", ds.Pid, stamp(ds.StartTime), ds.Dir)
		fmt.Fprintf(w, "#   argv %q\n", ds.Argv)
	}
	fmt.Fprintf(w, "daemon %q {\n", name)
	spec := ds.Spec
	for _, a := range reconcile.Attributes(&spec, !ds.EnvPlain) {
		fmt.Fprintf(w, "    %s = %s\n", a.Path, *a.After)
	}
	fmt.Fprintln(w, "}")
}

func newStateResetCmd(g *globals) *cobra.Command {
	var (
		lockTimeout time.Duration
		autoApprove bool
	)
	c := &cobra.Command{
		Use:   "reset",
		Short: "Forget the recorded state (moved aside, not deleted); running daemons are left alone",
		Long: "reset moves .beadsctl/state.json aside as state.json.reset-<time>, after saying what it\n" +
			"forgets and asking (as apply and destroy do; without a terminal it needs --auto-approve).\n" +
			"Nothing is stopped: the next plan compares beads.hcl with what the agent runs, and apply\n" +
			"records again the daemons running as declared. It works when state.json is unusable.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := reconcile.OpenSession(c.Context(), reconcile.SessionOptions{File: g.file, StateOnly: true,
				Command: "state reset", Lock: true, LockTimeout: lockTimeout})
			if err != nil {
				return err
			}
			defer s.Close()
			out, path := c.OutOrStdout(), reconcile.StatePath(opsDir(g))
			if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
				fmt.Fprintln(out, "No state to reset.")
				return nil
			}
			switch st, err := reconcile.ReadState(path); {
			case err != nil:
				fmt.Fprintf(out, "beadsctl will move aside .beadsctl/state.json, which cannot be used:\n  %v\n", err)
			case len(st.Daemons) == 0:
				fmt.Fprintf(out, "beadsctl will forget the state (serial %d), which records no daemon.\n", st.Serial)
			default:
				fmt.Fprintf(out, "beadsctl will forget what the last apply recorded (serial %d, %s): %s.\n",
					st.Serial, plural.Count(len(st.Daemons), "daemon"), "daemon."+strings.Join(st.Names(), ", daemon."))
				fmt.Fprintln(out, "Nothing is stopped: the daemons keep running, and the next apply records again those running as declared.")
			}
			if !autoApprove {
				if err := confirm(c, "reset the state", "state reset"); err != nil {
					return err
				}
			}
			aside, err := s.ResetState(time.Now())
			switch {
			case err != nil:
				return err
			case aside == "":
				fmt.Fprintln(out, "No state to reset.")
			default:
				fmt.Fprintf(out, "State moved to %s. Run beadsctl plan to see what runs.\n", aside)
			}
			return nil
		},
	}
	c.Flags().DurationVar(&lockTimeout, "lock-timeout", 0, "how long to wait for another beadsctl holding .beadsctl/lock")
	addAutoApprove(c, &autoApprove, "reset")
	return c
}

// addAutoApprove adds --auto-approve (-y), the same flag for every command
// that asks before it acts (apply, destroy, state reset).
func addAutoApprove(c *cobra.Command, v *bool, what string) {
	c.Flags().BoolVarP(v, "auto-approve", "y", false, what+" without asking (required without a terminal)")
}
