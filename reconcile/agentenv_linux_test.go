package reconcile

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestStartAgentMinimalEnvironment: the detached agent does not inherit the
// CLI's environment (issue 13: `ps e` showed an exported token in the agent);
// it keeps what its daemons' base and its socket need.
func TestStartAgentMinimalEnvironment(t *testing.T) {
	t.Setenv("BEADSCTL_TEST_TOKEN", "s3cret-token")
	t.Setenv("LC_TIME", "C")
	dir := t.TempDir()
	_, c, as := startDetached(t, dir)
	defer c.Shutdown(t.Context())
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(as.Pid), "environ"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			env[k] = v
		}
	}
	if _, ok := env["BEADSCTL_TEST_TOKEN"]; ok {
		t.Errorf("the agent inherited BEADSCTL_TEST_TOKEN; its environment: %v", keys(env))
	}
	for _, k := range []string{"PATH", "LC_TIME"} {
		if env[k] != os.Getenv(k) {
			t.Errorf("%s = %q in the agent, want %q", k, env[k], os.Getenv(k))
		}
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
