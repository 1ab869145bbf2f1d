//go:build linux

package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// FuzzControlAPI feeds arbitrary methods, daemon names, endpoints, queries and
// bodies to the control API of a live agent whose daemons are fake processes.
// The agent never panics, every error is a 4xx/5xx with a JSON {"error"}, a
// request never outlives its context, and the agent still answers afterwards.
//
// Bodies that decode to a Spec lose their log paths, directory, health check
// and bd flag before they are sent: the fuzzer must not write files or run
// commands of its own choosing on the machine.
func FuzzControlAPI(f *testing.F) {
	type seed struct {
		method   uint8
		name     string
		endpoint uint8
		query    string
		body     []byte
	}
	for _, s := range []seed{
		{1, "web", 0, "", []byte(`{"name":"web","argv":["sleep","1000"],"restart":{"policy":"always","delay":1000000}}`)},
		{1, "web", 0, "", []byte(`{"name":"other","argv":["x"]}`)},
		{1, "web", 0, "", []byte(`{"argv":[]}`)},
		{1, "a b", 0, "", []byte(`{"argv":["x"],"stop":{"signal":"SIGBOGUS","timeout":-1},"limits":{"memory":18446744073709551615,"check_interval":1}}`)},
		{1, "web", 0, "", []byte(`{not json`)},
		{1, "web", 0, "", []byte(`{"argv":["x"]} trailing`)},
		{1, "..", 0, "", []byte(`{"argv":["x"]}`)},
		{0, "web", 5, "for=stopped&timeout=1ms", nil},
		{0, "web", 5, "for=online&healthy=1&timeout=soon&settle=-1s", nil},
		{0, "web", 6, "n=-5&stream=bogus", nil},
		{0, "web", 6, "n=99999999999999999999&follow=1", nil},
		{2, "web", 2, "", nil},
		{2, "web", 3, "", nil},
		{2, "web", 4, "", nil},
		{3, "web", 0, "", nil},
		{4, "", 1, "", nil},
		{5, "web", 7, "", []byte("\x00\xff")},
	} {
		f.Add(s.method, s.name, s.endpoint, s.query, s.body)
	}

	dir := f.TempDir()
	a := NewAgent(AgentOptions{Dir: dir, Version: "fuzz", DaemonOptions: func(Spec) DaemonOptions {
		return DaemonOptions{
			Runner:    &fakeRunner{life: func(int) (time.Duration, error) { return -1, nil }},
			Memory:    func(context.Context, int) (uint64, error) { return 0, nil },
			StartTime: func(int) (time.Time, error) { return fakeStart, nil },
		}
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-a.Ready():
	case err := <-done:
		f.Fatalf("agent did not start: %v", err)
	}
	f.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			f.Errorf("agent Run: %v", err)
		}
	})
	h := a.handler()
	methods := []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodGet, "BREW"}
	endpoints := []string{"", "/status", "/restart", "/stop", "/start", "/wait", "/logs/flush", "/../../v1/status"}

	f.Fuzz(func(t *testing.T, method uint8, name string, endpoint uint8, query string, body []byte) {
		path := "/v1/daemons/" + url.PathEscape(name) + endpoints[int(endpoint)%len(endpoints)]
		if method%6 == 4 {
			path = "/v1/status"
		}
		var spec Spec
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&spec); err == nil {
			spec.Logs, spec.Dir, spec.Health, spec.Beads = LogSpec{}, "", HealthSpec{}, false
			body, _ = json.Marshal(spec)
		}
		rctx, rcancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer rcancel()
		req, err := http.NewRequestWithContext(rctx, methods[int(method)%len(methods)], "http://agent"+path+"?"+query, bytes.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		rec := httptest.NewRecorder()
		served := make(chan struct{})
		go func() { defer close(served); h.ServeHTTP(rec, req) }()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s %s?%s still running 10s after its 200ms context", req.Method, path, query)
		}
		if rec.Code >= 400 {
			var ae APIError
			if json.Unmarshal(rec.Body.Bytes(), &ae) != nil || ae.Error == "" {
				t.Fatalf("%s %s?%s: %d with body %q, want a JSON error", req.Method, path, query, rec.Code, rec.Body.Bytes())
			}
		}
		// Leave no daemon behind for the next input.
		for _, st := range a.AgentStatus().Daemons {
			_, _ = a.remove(st.Name)
		}
		status := httptest.NewRecorder()
		h.ServeHTTP(status, httptest.NewRequest(http.MethodGet, "/v1/status", nil))
		if status.Code != http.StatusOK {
			t.Fatalf("status after %s %s: %d", req.Method, path, status.Code)
		}
	})
}
