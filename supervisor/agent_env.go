package supervisor

import (
	"slices"
	"strings"
)

// AgentEnv is the environment to start a detached agent with, taken from
// environ (the CLI's): the variables its daemons get as their base
// (baseEnvKeys: PATH, HOME, USER, LANG, TMPDIR, ...; buildEnv adds each
// daemon's declared environment from its Spec), the LC_* locale, and
// XDG_RUNTIME_DIR, where the control socket may live. Nothing else of the
// CLI's environment (an exported token, say) reaches the agent, where `ps e`
// would show it for as long as it runs.
func AgentEnv(environ []string) []string {
	out := []string{} // never nil: exec.Cmd would then pass on everything
	for _, kv := range environ {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if slices.Contains(baseEnvKeys, k) || strings.HasPrefix(k, "LC_") || k == "XDG_RUNTIME_DIR" {
			out = append(out, kv)
		}
	}
	return out
}
