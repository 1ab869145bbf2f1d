package schema

import (
	"strings"
	"testing"
	"time"
)

// TestLoadOnlineAfter: health.online_after is how long apply waits for a run
// to stay up; unset it is 0 (the agent's early-exit window) and leaves the
// hash as it was before the attribute existed; too long or not a duration
// is an error at the value.
func TestLoadOnlineAfter(t *testing.T) {
	base := "daemon \"web\" {\n  command = \"node\"\n  args    = [\"server.js\"]\n%s}\n"
	cfg, diags := loadSrc(t, strings.Replace(base, "%s", "", 1), "")
	if diags.HasErrors() || cfg.Daemons[0].Health.OnlineAfter != 0 {
		t.Fatalf("unset: %v, online_after %v", diagLines(diags), cfg.Daemons[0].Health.OnlineAfter)
	}
	plain := cfg.Daemons[0].Hash
	cfg, diags = loadSrc(t, strings.Replace(base, "%s", "  health {\n    online_after = \"1500ms\"\n  }\n", 1), "")
	if diags.HasErrors() || cfg.Daemons[0].Health.OnlineAfter != 1500*time.Millisecond || cfg.Daemons[0].Hash == plain {
		t.Fatalf("1500ms: %v, online_after %v, hash changed %v", diagLines(diags), cfg.Daemons[0].Health.OnlineAfter, cfg.Daemons[0].Hash != plain)
	}
	for value, want := range map[string]string{
		`"11m"`:  "5:20: error: Duration too long; health.online_after is how long apply waits for a run to stay up: at most 10m0s.",
		`"soon"`: "5:20: error: Invalid duration",
	} {
		_, diags := loadSrc(t, strings.Replace(base, "%s", "  health {\n    online_after = "+value+"\n  }\n", 1), "")
		if got := strings.Join(diagLines(diags), "\n"); !strings.Contains(got, want) {
			t.Errorf("online_after = %s: %s, want %s", value, got, want)
		}
	}
}
