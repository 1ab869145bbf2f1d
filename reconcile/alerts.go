package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/schema"
)

// Alert actions, in AlertChange.Action.
const (
	AlertAdd    = "add"
	AlertUpdate = "update"
	AlertRemove = "remove"
)

// AlertChange is an alert block that differs from what the agent runs.
type AlertChange struct {
	Name   string `json:"name"`
	Action string `json:"action"`
	// Before is what the agent runs (nil when added), After what beads.hcl
	// declares (nil when removed).
	Before *agentapi.AlertSpec `json:"before,omitempty"`
	After  *agentapi.AlertSpec `json:"after,omitempty"`
}

// AlertSpecs are cfg's alert blocks as the agent runs them (in cfg.Dir).
func AlertSpecs(cfg *schema.Config) []agentapi.AlertSpec {
	out := []agentapi.AlertSpec{}
	if cfg == nil {
		return out
	}
	for _, a := range cfg.Alerts {
		out = append(out, agentapi.AlertSpec{Name: a.Name, On: a.On, Command: a.Command, Dir: cfg.Dir,
			Timeout: a.Timeout, Daemons: a.Daemons, UnhealthyFor: a.UnhealthyFor, Window: a.Window})
	}
	return out
}

// planAlerts compares the declared alerts with the agent's (none when it is down).
func planAlerts(desired *schema.Config, live *Live) []AlertChange {
	have := map[string]agentapi.AlertSpec{}
	for _, a := range live.Agent.Alerts {
		have[a.Name] = a
	}
	var out []AlertChange
	for _, want := range AlertSpecs(desired) {
		w := want
		old, ok := have[want.Name]
		delete(have, want.Name)
		switch {
		case !ok:
			out = append(out, AlertChange{Name: w.Name, Action: AlertAdd, After: &w})
		case !reflect.DeepEqual(normalAlert(old), normalAlert(w)):
			o := old
			out = append(out, AlertChange{Name: w.Name, Action: AlertUpdate, Before: &o, After: &w})
		}
	}
	for _, old := range have {
		o := old
		out = append(out, AlertChange{Name: o.Name, Action: AlertRemove, Before: &o})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// normalAlert makes empty and nil lists equal.
func normalAlert(a agentapi.AlertSpec) agentapi.AlertSpec {
	if len(a.Daemons) == 0 {
		a.Daemons = nil
	}
	return a
}

// ApplyAlerts hands beads.hcl's alerts to the agent (no daemon is touched).
// Without alert blocks, an agent that is down or does not know the request
// has none to drop.
func (s *Session) ApplyAlerts(ctx context.Context) error {
	if s.client == nil || s.cfg == nil {
		return nil
	}
	specs := AlertSpecs(s.cfg)
	err := s.client.SetAlerts(ctx, specs)
	if len(specs) == 0 {
		return nil
	}
	return err
}

// TestAlerts fires a sample event through beads.hcl's alert called name
// ("" for all): through the agent when it answers (the alerts it runs, from
// its environment), and otherwise with SessionOptions.TestAlertsHere (in
// beadsctl-agent, from this environment): then direct says why.
func (s *Session) TestAlerts(ctx context.Context, name string) (res []agentapi.AlertResult, direct error, err error) {
	if s.client == nil {
		s.client = Dial(s.dir)
		if s.o.Version != "" {
			s.client.SetVersion(s.o.Version)
		}
	}
	var bound time.Duration
	for _, a := range AlertSpecs(s.cfg) {
		bound = max(bound, a.Timeout)
	}
	res, err = s.client.TestAlerts(ctx, name, bound+15*time.Second)
	var ae *APIError
	var ve *AgentVersionError
	if errors.As(err, &ae) {
		return nil, nil, errors.New(ae.Message) // the agent answered: no such alert
	}
	if err == nil || errors.As(err, &ve) {
		return res, nil, err // the agent answered
	}
	var notSent *notSentError
	if !errors.Is(err, ErrAgentDown) && !errors.As(err, &notSent) {
		// The agent took the request and did not finish it (killed,
		// wedged): its commands may have run; running them here too would
		// send each alert twice.
		return nil, nil, fmt.Errorf("the agent did not finish the test: %w; its alerts may have run, so they are not run again here", err)
	}
	agentErr := err
	if s.o.TestAlertsHere == nil {
		return nil, agentErr, errors.New("no agent runs, and this beadsctl cannot run the alerts itself")
	}
	res, err = s.o.TestAlertsHere(ctx, AlertSpecs(s.cfg), name, os.Environ())
	return res, agentErr, err
}

// SetAlerts replaces the agent's alerts.
func (c *Client) SetAlerts(ctx context.Context, specs []agentapi.AlertSpec) error {
	var res agentapi.AlertsRequest
	return c.do(ctx, call{method: "PUT", path: "/v1/alerts", body: agentapi.AlertsRequest{Alerts: specs}, drive: true}, &res)
}

// TestAlerts has the agent fire a sample event through its alert called name ("" for all).
// bound is how long the commands may take.
func (c *Client) TestAlerts(ctx context.Context, name string, bound time.Duration) ([]agentapi.AlertResult, error) {
	var res agentapi.AlertTestResult
	body := struct {
		Name string `json:"name"`
	}{name}
	if err := c.do(ctx, call{method: "POST", path: "/v1/alerts/test", body: body, bound: bound, drive: true}, &res); err != nil {
		return nil, err
	}
	return res.Results, nil
}
