package bdsim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"
)

func TestVersionCommands(t *testing.T) {
	tests := map[string]struct {
		args    []string
		version string
		want    string
	}{
		"version":       {args: []string{"version"}, want: "bd version 0.28.0 (dev)\n"},
		"--version":     {args: []string{"--version"}, want: "bd version 0.28.0 (dev)\n"},
		"json":          {args: []string{"version", "--json"}, want: `{"build":"dev","version":"0.28.0"}` + "\n"},
		"BDSIM_VERSION": {args: []string{"version"}, version: "0.26.0", want: "bd version 0.26.0 (dev)\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv("BDSIM_VERSION", tc.version)
			var out, errOut bytes.Buffer
			if code := run(tc.args, &out, &errOut); code != 0 || out.String() != tc.want {
				t.Errorf("run(%q) = %d, %q; want 0, %q", tc.args, code, out.String(), tc.want)
			}
		})
	}
}

func TestDaemonFlags(t *testing.T) {
	tests := map[string]struct {
		args    []string
		version string
		env     string
		want    daemonOptions
		wantErr string
	}{
		"foreground": {args: []string{"--start", "--foreground", "--interval", "2s", "--log=x.log"}, version: "0.28.0",
			want: daemonOptions{version: "0.28.0", start: true, foreground: true, interval: 2 * time.Second, logPath: "x.log"}},
		"old version":   {args: []string{"--start", "--foreground"}, version: "0.26.0", wantErr: "unknown flag: --foreground"},
		"old env fg":    {args: []string{"--start"}, version: "0.26.0", env: "1", want: daemonOptions{version: "0.26.0", start: true, foreground: true, interval: 5 * time.Second}},
		"unknown flag":  {args: []string{"--bogus"}, version: "0.28.0", wantErr: "unknown flag: --bogus"},
		"missing value": {args: []string{"--interval"}, version: "0.28.0", wantErr: "flag needs an argument: --interval"},
		"bad interval":  {args: []string{"--interval", "soon"}, version: "0.28.0", wantErr: `invalid argument "soon"`},
		"stop":          {args: []string{"--stop"}, version: "0.28.0", want: daemonOptions{version: "0.28.0", stop: true, interval: 5 * time.Second}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv("BD_DAEMON_FOREGROUND", tc.env)
			got, err := parseDaemonFlags(tc.args, tc.version)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("parseDaemonFlags = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestCheckCompatible(t *testing.T) {
	tests := map[string]struct {
		daemon, client string
		want           string // "" = compatible
	}{
		"same":          {"0.28.0", "0.28.0", ""},
		"older client":  {"0.28.0", "0.26.0", ""},
		"no client":     {"0.28.0", "", ""},
		"newer client":  {"0.28.0", "0.99.0", "version mismatch: client v0.99.0 requires daemon upgrade (daemon is v0.28.0)"},
		"newer patch":   {"0.28.0", "0.28.1", "version mismatch"},
		"other major":   {"0.28.0", "1.0.0", "incompatible major versions"},
		"older major":   {"1.0.0", "0.28.0", "incompatible major versions"},
		"pre-release":   {"0.28.0-rc.1", "0.28.0", ""},
		"unparsable ok": {"dev", "0.28.0", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := checkCompatible(tc.daemon, tc.client)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("checkCompatible(%s, %s) = %v, want %q", tc.daemon, tc.client, err, tc.want)
			}
		})
	}
}

// call sends one request line over a real in-process connection.
func call(t *testing.T, s *server, req string) map[string]any {
	t.Helper()
	client, srv := net.Pipe()
	defer client.Close()
	go func() { defer srv.Close(); s.serveConn(srv) }()
	if _, err := client.Write([]byte(req + "\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(client).ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var resp map[string]any
	if err := json.Unmarshal(line, &resp); err != nil {
		t.Fatalf("response %q: %v", line, err)
	}
	if _, ok := resp["error"]; !ok {
		t.Errorf("response %q has no error field", line)
	}
	return resp
}

func TestServerOperations(t *testing.T) {
	s := newServer("0.28.0", "/w", "/w/.beads/bd.sock", 4242)
	resp := call(t, s, `{"operation":"ping","args":null}`)
	if d := resp["data"].(map[string]any); resp["success"] != true || d["message"] != "pong" || d["version"] != "0.28.0" {
		t.Errorf("ping: %v", resp)
	}
	resp = call(t, s, `{"operation":"health","client_version":"0.99.0"}`)
	if d := resp["data"].(map[string]any); resp["success"] != true || d["status"] != "healthy" || d["compatible"] != false || d["max_connections"] != 100.0 {
		t.Errorf("health from a newer client: %v", resp)
	}
	resp = call(t, s, `{"operation":"status","client_version":"0.28.0","expected_db":"/w/.beads/beads.db","cwd":"/w"}`)
	if d := resp["data"].(map[string]any); resp["success"] != true || d["pid"] != 4242.0 || d["database_path"] != "/w/.beads/beads.db" || d["socket_path"] != "/w/.beads/bd.sock" {
		t.Errorf("status: %v", resp)
	}
	if _, err := time.Parse(time.RFC3339, resp["data"].(map[string]any)["last_activity_time"].(string)); err != nil {
		t.Errorf("last_activity_time: %v", err)
	}
	resp = call(t, s, `{"operation":"status","expected_db":"/other/.beads/beads.db"}`)
	if resp["success"] != false || !strings.HasPrefix(resp["error"].(string), "database mismatch") {
		t.Errorf("status for another db: %v", resp)
	}
	resp = call(t, s, `{"operation":"metrics"}`)
	if resp["success"] != true {
		t.Errorf("metrics: %v", resp)
	}
	resp = call(t, s, `{"operation":"frobnicate"}`)
	if resp["success"] != false || resp["error"] != "unknown operation: frobnicate" {
		t.Errorf("unknown op: %v", resp)
	}
	resp = call(t, s, `not json`)
	if resp["success"] != false {
		t.Errorf("bad request: %v", resp)
	}

	s.unhealthyAfter = time.Nanosecond
	resp = call(t, s, `{"operation":"health"}`)
	if d := resp["data"].(map[string]any); resp["success"] != false || d["status"] != "unhealthy" || resp["error"] == "" {
		t.Errorf("unhealthy: %v", resp)
	}
	s.unhealthyAfter, s.dbLatency = 0, 510*time.Millisecond
	resp = call(t, s, `{"operation":"health"}`)
	if d := resp["data"].(map[string]any); resp["success"] != true || d["status"] != "degraded" || d["db_response_ms"].(float64) < 500 {
		t.Errorf("slow database: %v", resp)
	}

	select {
	case <-s.shutdown:
		t.Fatal("shut down before the request")
	default:
	}
	call(t, s, `{"operation":"shutdown"}`)
	call(t, s, `{"operation":"shutdown"}`) // twice is harmless
	<-s.shutdown
}

func TestServerDropsHugeLines(t *testing.T) {
	s := newServer("0.28.0", "/w", "/w/.beads/bd.sock", 1)
	client, srv := net.Pipe()
	done := make(chan struct{})
	go func() { defer close(done); defer srv.Close(); s.serveConn(srv) }()
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for range (maxRequestLine / len(chunk)) + 2 {
		if _, err := client.Write(chunk); err != nil {
			break // the server hung up: expected
		}
	}
	<-done
	client.Close()
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "4K": 4096, "10M": 10 << 20, "1G": 1 << 30, "2mb": 2 << 20} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseSize("lots"); err == nil {
		t.Error("parseSize(lots) gave no error")
	}
}
