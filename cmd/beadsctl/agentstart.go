package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/beadsctl/beadsctl/reconcile"
)

// startAgent starts the agent of dir: the lean beadsctl-agent when it sits
// beside this binary and is of this version, else `beadsctl agent`.
func startAgent(ctx context.Context, dir string, log *slog.Logger) error {
	exe, err := os.Executable()
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
	return reconcile.StartAgentWith(ctx, dir, reconcile.AgentCommand{Path: exe, Args: []string{filepath.Base(os.Args[0]), "agent"}, Version: version})
}
