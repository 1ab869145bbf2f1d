package report

import (
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
)

// FilterEvents keeps the events of daemon ("" for all, the agent's own
// included) at or after since (zero: all), the last n of them (all when n <
// 0), oldest first.
func FilterEvents(evs []agentapi.Event, daemon string, since time.Time, n int) []agentapi.Event {
	out := make([]agentapi.Event, 0, len(evs))
	for _, ev := range evs {
		if daemon != "" && ev.Daemon != daemon && ev.Kind != agentapi.EventDropped {
			continue
		}
		if !since.IsZero() && ev.At.Before(since) {
			continue
		}
		out = append(out, ev)
	}
	if n >= 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// ShowEvents is how many of a daemon's events show lists.
const ShowEvents = 10
