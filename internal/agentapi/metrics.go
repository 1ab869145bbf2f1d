package agentapi

// MetricsListenResult is the answer to PUT /v1/metrics/listen.
type MetricsListenResult struct {
	// Listen is the address served now ("" when none).
	Listen string `json:"listen"`
	// Error says why the address asked for is not served (taken, refused).
	Error string `json:"error,omitempty"`
}
