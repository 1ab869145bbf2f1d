package supervisor

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// httpBodyMax is how much of an answer's body an http check reads: the body
// pattern is matched against it, the rest is never read (the connection is
// closed), so a server that answers without end costs the agent nothing.
const httpBodyMax = 64 << 10

// checkHTTP sends one GET to h.URL, bounded by ctx (the check's timeout). A
// fresh transport per check: no connection is kept between checks, so every
// check proves that the server still accepts one.
func checkHTTP(ctx context.Context, h *HTTPHealth) healthResult {
	if h == nil || h.URL == "" {
		return unhealthy("http check has no url")
	}
	var body *regexp.Regexp
	if h.Body != "" {
		var err error
		if body, err = regexp.Compile(h.Body); err != nil {
			return unhealthy(fmt.Sprintf("body pattern %q: %v", h.Body, err))
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return unhealthy(err.Error())
	}
	req.Header.Set("User-Agent", "beadsctl-health")
	tr := &http.Transport{
		Proxy:             nil, // a health check of this machine never goes through a proxy
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: h.TLSSkipVerify}, //nolint:gosec // opt-in, documented
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Do(req)
	if err != nil {
		return unhealthy(strings.TrimPrefix(err.Error(), "Get \""+h.URL+"\": "))
	}
	defer resp.Body.Close()
	ok := resp.StatusCode >= 200 && resp.StatusCode < 400
	if len(h.Status) > 0 {
		ok = slices.Contains(h.Status, resp.StatusCode)
	}
	if !ok {
		want := "2xx or 3xx"
		if len(h.Status) > 0 {
			want = strings.Trim(fmt.Sprint(h.Status), "[]")
		}
		return unhealthy(fmt.Sprintf("GET %s: status %d, want %s", h.URL, resp.StatusCode, want))
	}
	if body != nil {
		b, err := io.ReadAll(io.LimitReader(resp.Body, httpBodyMax))
		if err != nil {
			return unhealthy(fmt.Sprintf("GET %s: read body: %v", h.URL, err))
		}
		if !body.Match(b) {
			return unhealthy(fmt.Sprintf("GET %s: status %d, body does not match %q (first %d bytes read)", h.URL, resp.StatusCode, h.Body, len(b)))
		}
	}
	return healthResult{Healthy: true, Status: "healthy"}
}
