package supervisor

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// The handshake: every answer names the agent's API and version; a request
// for another API, a spec with a field the agent does not know and a health
// check kind it does not carry out are refused with a 400 naming them, and
// nothing is created.
func TestAgentHandshakeAndStrictSpecs(t *testing.T) {
	ta := startAgent(t, t.TempDir(), nil)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://agent/v1/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ta.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get(HeaderAPI); got != strconv.Itoa(APIVersion) {
		t.Errorf("%s = %q, want %d", HeaderAPI, got, APIVersion)
	}
	if got := resp.Header.Get(HeaderVersion); got != "test" {
		t.Errorf("%s = %q, want test", HeaderVersion, got)
	}
	var st AgentStatus
	ta.callJSON(t, http.MethodGet, "/v1/status", nil, &st)
	if st.API != APIVersion || st.Version != "test" {
		t.Errorf("status api %d version %q, want %d test", st.API, st.Version, APIVersion)
	}

	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, "http://agent/v1/daemons/s/start", nil)
	req.Header.Set(HeaderAPI, "99")
	req.Header.Set(HeaderVersion, "9.9.9")
	resp, err = ta.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a request for API 99: %d, want 400", resp.StatusCode)
	}
	// Status keeps its meaning across APIs: a CLI of another one sees this
	// agent, and which API it speaks, to replace it.
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, "http://agent/v1/status", nil)
	req.Header.Set(HeaderAPI, "99")
	resp, err = ta.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	st = AgentStatus{}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || st.API != APIVersion {
		t.Errorf("status asked for API 99: %d api %d %v, want 200 naming API %d", resp.StatusCode, st.API, err, APIVersion)
	}

	for name, tc := range map[string]struct {
		body string
		want string
	}{
		"unknown field": {`{"name":"s","argv":["sleep","1"],"restart_future":{"x":1}}`, `unknown field "restart_future"`},
		"unknown check": {`{"name":"s","argv":["sleep","1"],"health":{"check":"http-future"}}`, `unknown health check "http-future"`},
	} {
		t.Run(name, func(t *testing.T) {
			code, body := ta.call(t, http.MethodPut, "/v1/daemons/s", strings.NewReader(tc.body))
			var ae APIError
			if err := json.Unmarshal(body, &ae); err != nil || code != http.StatusBadRequest || !strings.Contains(ae.Error, tc.want) {
				t.Fatalf("PUT = %d %s, want 400 naming %s", code, body, tc.want)
			}
		})
	}
	if _, ok := ta.lookup("s"); ok {
		t.Error("a refused spec was created")
	}
}
