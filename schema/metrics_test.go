package schema

import (
	"strings"
	"testing"
)

// TestLoadMetricsListen: listen addresses beads.hcl may and may not declare.
// An empty one (env("METRICS_LISTEN", "") where it is unset, say) is refused: it used to mean
// no listener, silently, beside a block that asks for one.
func TestLoadMetricsListen(t *testing.T) {
	tests := map[string]struct {
		listen, extra string
		environ       []string
		want          string // "" when valid
	}{
		"loopback":          {listen: `"127.0.0.1:9464"`},
		"ipv6 loopback":     {listen: `"[::1]:9464"`},
		"localhost":         {listen: `"localhost:9464"`},
		"any port":          {listen: `"127.0.0.1:0"`},
		"remote allowed":    {listen: `"0.0.0.0:9464"`, extra: "allow_remote = true"},
		"remote":            {listen: `"0.0.0.0:9464"`, want: `6:12: error: Metrics listener reachable from other machines`},
		"no port":           {listen: `"127.0.0.1"`, want: `6:12: error: Invalid metrics.listen; "127.0.0.1" is not host:port`},
		"port out of range": {listen: `"127.0.0.1:99999"`, want: `6:12: error: Invalid metrics.listen; "127.0.0.1:99999": the port must be a number from 0 to 65535.`},
		"empty":             {listen: `""`, want: `6:12: error: Invalid metrics.listen; listen is empty: write host:port, such as "127.0.0.1:9464", or remove the metrics block to serve no metrics.`},
		"empty from env":    {listen: `env("METRICS_LISTEN", "")`, want: `6:12: error: Invalid metrics.listen; listen is empty`},
		"from env":          {listen: `env("METRICS_LISTEN")`, environ: []string{"METRICS_LISTEN=127.0.0.1:9464"}},
		"not a string":      {listen: `9464`, want: `6:12: error: Invalid metrics.listen; listen is a host:port string`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src := "daemon \"web\" {\n  command = \"sleep\"\n}\n\nmetrics {\n  listen = " + tc.listen + "\n  " + tc.extra + "\n}\n"
			_, diags := loadSrc(t, src, "", tc.environ...)
			got := strings.Join(diagLines(diags), "\n")
			switch {
			case tc.want == "" && diags.HasErrors():
				t.Fatalf("refused:\n%s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Fatalf("no diagnostic %q in:\n%s", tc.want, got)
			}
		})
	}
}
