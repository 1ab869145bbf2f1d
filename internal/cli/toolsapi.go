package cli

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/report"
	"github.com/beadsctl/beadsctl/schema"
)

// What beadsctl-tools' commands (internal/clitools) use of beadsctl's: the
// global flags, the project, the agent, diagnostics, exit codes.

// File is -f/--file (the configuration file resolved at start-up).
func (g *globals) File() string { return g.file }

// Log is the logger of --log-format.
func (g *globals) Log() *slog.Logger { return g.log }

// AgentTimeout is --agent-timeout.
func (g *globals) AgentTimeout() time.Duration { return g.agentTimeout }

// Dial is a client of the agent of dir with --agent-timeout.
func (g *globals) Dial(dir string) *reconcile.Client { return g.dial(dir) }

// Color reports whether w takes colours (a terminal, no --no-color or NO_COLOR).
func (g *globals) Color(w io.Writer) bool { return g.color(w) }

// Profile is the env profile chosen by --env, --no-env or BEADSCTL_ENV:
// sticky when none of them chose it (the profile applied last then holds),
// and where the choice came from.
func (g *globals) Profile() (name string, sticky bool, source string) {
	p := g.chosenProfile()
	return p.name, p.sticky, p.source
}

// Dir is the project folder: that of --file.
func (g *globals) Dir() string { return opsDir(g) }

// LoadConfig loads --file under the chosen profile, printing its diagnostics.
func LoadConfig(c *cobra.Command, g *Globals) (*schema.Config, error) { return loadConfig(c, g) }

// Daemons are the daemons of --file (cfgErr when it does not load) and those
// the last apply recorded in dir.
func Daemons(g *Globals, dir string) (cfg, fromState []schema.Daemon, cfgErr error) {
	return opsDaemons(g, dir)
}

// StatusReport is what beadsctl status shows for dir.
func StatusReport(ctx context.Context, dir string, a *reconcile.Client) (report.StatusReport, error) {
	return statusReport(ctx, dir, a)
}

// EventLine is an event as beadsctl events shows it, its time in layout.
func EventLine(ev agentapi.Event, layout string) string { return eventLine(ev, layout) }

// RenderDiags writes diagnostics as validate does (colour, or JSON).
func RenderDiags(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, color, json bool) error {
	return renderDiags(w, diags, files, color, json)
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool { return isTerminal(w) }

// WriteJSON writes v indented, as every --json does.
func WriteJSON(w io.Writer, v any) error { return writeJSON(w, v) }

// ErrPrinted tells Main that the error was shown already: exit 1.
var ErrPrinted = errPrinted

// ExitCode is an error that makes Main exit with code.
func ExitCode(code int) error { return exitError{code: code} }

// Version is beadsctl's version.
func Version() string { return version }

// CeilingEnv names the folders beadsctl never looks for beads.hcl in or above.
const CeilingEnv = ceilingEnv
