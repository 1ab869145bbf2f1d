package agentapi

import "time"

// Event kinds of the alerts.
const (
	EventAlerted     = "alerted"      // an alert's command ran and exited 0: Alert, Detail (trigger)
	EventAlertFailed = "alert-failed" // an alert's command failed: Alert, Detail (trigger), Reason
)

// AlertSpec is one alert block as the agent runs it.
type AlertSpec struct {
	Name    string   `json:"name"`
	On      []string `json:"on"`
	Command []string `json:"command"`
	// Dir is where the command runs (the project's folder).
	Dir          string        `json:"dir"`
	Timeout      time.Duration `json:"timeout"`
	Daemons      []string      `json:"daemons,omitempty"`
	UnhealthyFor time.Duration `json:"unhealthy_for"`
	Window       time.Duration `json:"window"`
}

// AlertResult is what one run of an alert's command did.
type AlertResult struct {
	Alert    string   `json:"alert"`
	Command  []string `json:"command"`
	Trigger  string   `json:"trigger"`
	ExitCode *int     `json:"exit_code,omitempty"`
	// Output is the tail of its stdout and stderr (alertOutputMax).
	Output     string  `json:"output,omitempty"`
	Error      string  `json:"error,omitempty"`
	DurationMS float64 `json:"duration_ms"`
}

// OK reports whether the command ran and exited 0.
func (r *AlertResult) OK() bool { return r.Error == "" }

// AlertsRequest is the body of GET and PUT /v1/alerts.
type AlertsRequest struct {
	Alerts []AlertSpec `json:"alerts"`
}

// AlertTestResult is the answer of POST /v1/alerts/test.
type AlertTestResult struct {
	Results []AlertResult `json:"results"`
}
