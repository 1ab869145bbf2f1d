package bd

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseBeadsVersion(t *testing.T) {
	tests := map[string]struct {
		out, want string
		wantErr   bool
	}{
		"dev build":       {out: "bd version 0.28.0 (dev)\n", want: "0.28.0"},
		"release":         {out: "bd version 0.29.0 (abc1234)\n", want: "0.29.0"},
		"release branch":  {out: "bd version 0.29.0 (abc1234: main@def5678)\n", want: "0.29.0"},
		"v prefix":        {out: "bd version v1.2.3\n", want: "1.2.3"},
		"pre-release":     {out: "bd version 0.30.0-rc.1+build.5 (dev)", want: "0.30.0-rc.1+build.5"},
		"warning first":   {out: "Warning: no database\nbd version 0.28.0 (dev)\n", want: "0.28.0"},
		"first occurence": {out: "bd version 0.28.0 (dev)\nbd version 0.29.0", want: "0.28.0"},
		"no marker":       {out: "0.28.0\n", wantErr: true},
		"no semver":       {out: "bd version dev\n", wantErr: true},
		"two parts":       {out: "bd version 0.28\n", wantErr: true},
		"empty":           {out: "", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseVersion(tc.out)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParseVersion(%q) = %q, %v; want %q (error %v)", tc.out, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestDecodeBeadsResponse(t *testing.T) {
	tests := map[string]struct {
		line    string
		want    Probe
		wantErr string
	}{
		"healthy": {
			line: `{"success":true,"data":{"status":"healthy","version":"0.28.0","client_version":"0.28.0","compatible":true,"uptime_seconds":4.9,"db_response_ms":1.68,"active_connections":1,"max_connections":100,"memory_alloc_mb":3},"error":""}`,
			want: Probe{Status: "healthy", Version: "0.28.0", Compatible: true, UptimeSeconds: 4.9, DBResponseMS: 1.68},
		},
		"unhealthy keeps data": {
			line:    `{"success":false,"data":{"status":"unhealthy","version":"0.28.0"},"error":"database ping failed"}`,
			want:    Probe{Status: "unhealthy", Version: "0.28.0"},
			wantErr: "bd daemon health: database ping failed",
		},
		"refused without data": {
			line:    `{"success":false,"error":"version mismatch: client v0.99.0 requires daemon upgrade (daemon is v0.28.0)"}`,
			wantErr: "bd daemon health: version mismatch: client v0.99.0 requires daemon upgrade (daemon is v0.28.0)",
		},
		"failure without message": {line: `{"success":false}`, wantErr: "bd daemon health: failed without a message"},
		"not json":                {line: `pong`, wantErr: "invalid response"},
		"bad data":                {line: `{"success":true,"data":{"status":42}}`, wantErr: "invalid response data"},
		"null data":               {line: `{"success":true,"data":null}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got Probe
			err := decodeBeadsResponse([]byte(tc.line), "health", &got)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			if tc.wantErr == "" {
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("probe (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// FuzzBeadsResponse: the decoder never panics, a success=false answer is always
// a *RPCError, and nil is returned only for a valid success=true answer.
func FuzzBeadsResponse(f *testing.F) {
	for _, seed := range []string{
		`{"success":true,"data":{"status":"healthy","version":"0.28.0","compatible":true,"uptime_seconds":4.9,"db_response_ms":1.68},"error":""}`,
		`{"success":true,"data":{"version":"0.28.0","workspace_path":"/w","database_path":"/w/.beads/beads.db","socket_path":"/w/.beads/bd.sock","pid":9534,"uptime_seconds":1,"last_activity_time":"2026-11-26T05:44:30Z","exclusive_lock_active":false},"error":""}`,
		`{"success":false,"error":"version mismatch: client v0.99.0 requires daemon upgrade (daemon is v0.28.0)"}`,
		`{"success":false,"data":{"status":"unhealthy"},"error":"db"}`,
		`{"success":true,"data":null}`,
		`{"success":"yes"}`,
		`{"data":[1,2,3]}`,
		`{"success":true,"data":{"pid":1e400}}`,
		`null`, ``, `{`, "\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var probe Probe
		err := decodeBeadsResponse(line, "health", &probe)
		var st beadsStatus
		err2 := decodeBeadsResponse(line, "status", &st)

		var resp struct {
			Success *bool `json:"success"`
		}
		valid := json.Unmarshal(line, &resp) == nil
		var rpcErr *RPCError
		switch {
		case !valid:
			if err == nil || err2 == nil {
				t.Fatalf("invalid JSON %q accepted", line)
			}
		case resp.Success == nil || !*resp.Success:
			if !errors.As(err, &rpcErr) || rpcErr.Message == "" {
				t.Fatalf("success=false %q gave %v, want a *RPCError with a message", line, err)
			}
		default:
			if errors.As(err, &rpcErr) {
				t.Fatalf("success=true %q gave an RPC error %v", line, err)
			}
		}
	})
}
