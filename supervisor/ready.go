package supervisor

import (
	"context"
	"log/slog"
	"os"
	"strconv"
)

// SignalReady tells whoever started the agent (reconcile.StartAgent) that it
// answers, by writing "ready" to the file descriptor named by
// AgentReadyFDEnv, once a is ready. Without that variable it does nothing.
// Run it in its own goroutine beside Agent.Run.
func SignalReady(ctx context.Context, a *Agent, log *slog.Logger) {
	s := os.Getenv(AgentReadyFDEnv)
	if s == "" {
		return
	}
	os.Unsetenv(AgentReadyFDEnv)
	fd, err := strconv.Atoi(s)
	if err != nil || fd < 3 {
		return
	}
	f := os.NewFile(uintptr(fd), "ready")
	if f == nil {
		return
	}
	defer f.Close()
	select {
	case <-a.Ready():
		if _, err := f.WriteString("ready\n"); err != nil {
			log.Warn("readiness not signalled", "error", err.Error())
		}
	case <-ctx.Done():
	}
}
