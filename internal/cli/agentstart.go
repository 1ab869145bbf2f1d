package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/reconcile"
)

// startAgent starts the agent of dir: beadsctl-agent beside this binary, of
// this version. Without one (or of another version) it is an error that says
// what to install, unless this process runs the agent itself (agentHere: a
// test binary), as `beadsctl agent`.
func startAgent(ctx context.Context, dir string, log *slog.Logger) error {
	exe, argv0, err := Executable()
	if err != nil {
		return err
	}
	if path, serr := sibling(agentapi.LeanAgentName, "the agent"); serr == nil {
		err := reconcile.StartAgentWith(ctx, dir, reconcile.AgentCommand{Path: path, Args: []string{agentapi.LeanAgentName}, Version: version})
		if !errors.Is(err, reconcile.ErrAgentVersion) {
			return err
		}
		if agentHere == nil {
			return fmt.Errorf("%w.\n%s", err, installHint(agentapi.LeanAgentName, path))
		}
		log.Warn("lean agent skipped", "path", path, "error", err.Error())
	} else if agentHere == nil {
		return serr
	}
	// argv[0] as this beadsctl was called (a test binary runs as the command
	// its argv[0] names); the version is checked all the same.
	return reconcile.StartAgentWith(ctx, dir, reconcile.AgentCommand{Path: exe, Args: []string{argv0, "agent"}, Version: version})
}

// StartAgent is startAgent for beadsctl-tools' commands (migrate).
func (g *globals) StartAgent(ctx context.Context, dir string) error {
	return startAgent(ctx, dir, g.log)
}
