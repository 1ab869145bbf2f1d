package supervisor

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHTTPCheck(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"status":"ready"}`) })
	mux.HandleFunc("/teapot", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/teapot", http.StatusFound) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		// Far more than the check reads; "ready" only after it.
		chunk := strings.Repeat("x", 4096)
		for i := 0; i < 1<<14 && r.Context().Err() == nil; i++ {
			if _, err := fmt.Fprint(w, chunk); err != nil {
				return
			}
		}
		fmt.Fprint(w, "ready")
	})
	plain := httptest.NewServer(mux)
	defer plain.Close()
	tlsSrv := httptest.NewUnstartedServer(mux)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	tests := map[string]struct {
		h       HTTPHealth
		timeout time.Duration
		healthy bool
		msg     string
	}{
		"200":                   {h: HTTPHealth{URL: plain.URL + "/ok"}, healthy: true},
		"body matches":          {h: HTTPHealth{URL: plain.URL + "/ok", Body: `"status":\s*"ready"`}, healthy: true},
		"body does not match":   {h: HTTPHealth{URL: plain.URL + "/ok", Body: "down"}, msg: `body does not match "down"`},
		"418 not accepted":      {h: HTTPHealth{URL: plain.URL + "/teapot"}, msg: "status 418, want 2xx or 3xx"},
		"418 listed":            {h: HTTPHealth{URL: plain.URL + "/teapot", Status: []int{418}}, healthy: true},
		"200 not listed":        {h: HTTPHealth{URL: plain.URL + "/ok", Status: []int{204}}, msg: "status 200, want 204"},
		"redirect not followed": {h: HTTPHealth{URL: plain.URL + "/moved", Status: []int{302}}, healthy: true},
		"timeout":               {h: HTTPHealth{URL: plain.URL + "/slow"}, timeout: 200 * time.Millisecond, msg: "context deadline exceeded"},
		"bounded body read":     {h: HTTPHealth{URL: plain.URL + "/endless", Body: "ready"}, msg: "first 65536 bytes read"},
		"refused":               {h: HTTPHealth{URL: "http://" + closedAddr(t) + "/"}, msg: "connection refused"},
		"tls verified":          {h: HTTPHealth{URL: tlsSrv.URL + "/ok"}, msg: "certificate"},
		"tls skip verify":       {h: HTTPHealth{URL: tlsSrv.URL + "/ok", TLSSkipVerify: true}, healthy: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spec := Spec{Health: HealthSpec{Check: CheckHTTP, HTTP: &tc.h, Timeout: tc.timeout}}
			if spec.Health.Timeout == 0 {
				spec.Health.Timeout = 10 * time.Second
			}
			res := checkHealth(t.Context(), spec, nil, 0, nil)
			if res.Healthy != tc.healthy || !strings.Contains(res.Message, tc.msg) {
				t.Errorf("healthy %v %q, want %v containing %q", res.Healthy, res.Message, tc.healthy, tc.msg)
			}
		})
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	return addr
}
