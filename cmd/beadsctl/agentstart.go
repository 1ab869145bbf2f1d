package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

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
	return reconcile.StartAgent(ctx, dir, exe)
}
