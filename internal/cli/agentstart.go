package cli

import (
	"context"
	"errors"
	"log/slog"

	"github.com/beadsctl/beadsctl/reconcile"
)

// startAgent starts the agent of dir: the lean beadsctl-agent when it sits
// beside this binary and is of this version, else `beadsctl agent`.
func startAgent(ctx context.Context, dir string, log *slog.Logger) error {
	exe, argv0, err := Executable()
	if err != nil {
		return err
	}
	if lean, ok := reconcile.LeanAgent(exe, version); ok {
		err := reconcile.StartAgentWith(ctx, dir, lean)
		if !errors.Is(err, reconcile.ErrAgentVersion) {
			return err
		}
		log.Warn("lean agent skipped", "path", lean.Path, "error", err.Error())
	}
	// argv[0] as this beadsctl was called (a test binary runs as the command
	// its argv[0] names); the version is checked all the same.
	return reconcile.StartAgentWith(ctx, dir, reconcile.AgentCommand{Path: exe, Args: []string{argv0, "agent"}, Version: version})
}

// StartAgent is startAgent for beadsctl-tools' commands (migrate).
func (g *globals) StartAgent(ctx context.Context, dir string) error {
	return startAgent(ctx, dir, g.log)
}
