package schema

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadHTTPHealth(t *testing.T) {
	src := `daemon "ui" {
  command = "bdui"
  health {
    check           = "http"
    url             = "https://127.0.0.1:3000/healthz"
    status          = [200, 204]
    body            = "ok|ready"
    tls_skip_verify = true
  }
}
`
	cfg, diags := loadSrc(t, src, "")
	if diags.HasErrors() || len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diagLines(diags))
	}
	got := cfg.Daemons[0].Health.HTTP
	want := &HTTPCheck{URL: "https://127.0.0.1:3000/healthz", Status: []int{200, 204}, Body: "ok|ready", TLSSkipVerify: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("http check (-want +got):\n%s", diff)
	}
	before := cfg.Daemons[0].Hash
	cfg, _ = loadSrc(t, src[:len(src)-30]+"    tls_skip_verify = false\n  }\n}\n", "")
	if cfg == nil || cfg.Daemons[0].Hash == before {
		t.Errorf("tls_skip_verify does not change the hash")
	}
}

func TestLoadHTTPHealthErrors(t *testing.T) {
	tests := map[string]struct {
		health string
		want   []string
	}{
		"no url": {
			health: `check = "http"`,
			want:   []string{`4:13: error: Missing health url; check = "http" sends GET to a URL: set url = "http://127.0.0.1:3000/" in the health block.`},
		},
		"url does not parse": {
			health: "check = \"http\"\n    url = \"http://127.0.0.1:3000/%zz\"",
			want:   []string{`5:11: error: Invalid health url; health.url: "http://127.0.0.1:3000/%zz" does not parse: invalid URL escape "%zz".`},
		},
		"url without scheme": {
			health: "check = \"http\"\n    url = \"127.0.0.1:3000\"",
			want:   []string{`5:11: error: Invalid health url; health.url: "127.0.0.1:3000" does not parse: first path segment in URL cannot contain colon.`},
		},
		"ftp url": {
			health: "check = \"http\"\n    url = \"ftp://127.0.0.1/\"",
			want:   []string{`5:11: error: Invalid health url; health.url: "ftp://127.0.0.1/": the scheme must be http:// or https://.`},
		},
		"url without host": {
			health: "check = \"http\"\n    url = \"http:///x\"",
			want:   []string{`5:11: error: Invalid health url; health.url: "http:///x" has no host: write "http://127.0.0.1:PORT/" for this machine.`},
		},
		"port out of range": {
			health: "check = \"http\"\n    url = \"http://localhost:70000/\"",
			want:   []string{`5:11: error: Invalid health url; health.url: "http://localhost:70000/" has no port number from 1 to 65535.`},
		},
		"bad status": {
			health: "check = \"http\"\n    url = \"http://localhost:3000/\"\n    status = [200, 99]",
			want:   []string{`6:20: error: Invalid health status; health.status: 99 is not an HTTP status code (100 to 599).`},
		},
		"status not numbers": {
			health: "check = \"http\"\n    url = \"http://localhost:3000/\"\n    status = [\"ok\"]",
			want:   []string{`6:14: error: Incorrect value type; health.status must be a list of whole numbers: a number is required.`},
		},
		"bad body pattern": {
			health: "check = \"http\"\n    url = \"http://localhost:3000/\"\n    body = \"(\"",
			want:   []string{"6:12: error: Invalid health body pattern; health.body is a regular expression (RE2) matched against the first 64 KiB of the answer: error parsing regexp: missing closing ): `(`."},
		},
		"url on a tcp check": {
			health: "check = \"tcp\"\n    address = \"127.0.0.1:1\"\n    url = \"http://localhost:3000/\"",
			want:   []string{`6:5: warning: health.url has no effect; health.url is only used with check = "http"; this check is "tcp".`},
		},
		"tls_skip_verify on http": {
			health: "check = \"http\"\n    url = \"http://localhost:3000/\"\n    tls_skip_verify = true",
			want:   []string{`6:5: warning: tls_skip_verify has no effect; health.tls_skip_verify only matters for an https:// url; this one is http://.`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src := "daemon \"ui\" {\n  command = \"bdui\"\n  health {\n    " + tc.health + "\n  }\n}\n"
			_, diags := loadSrc(t, src, "")
			if diff := cmp.Diff(tc.want, diagLines(diags)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}
