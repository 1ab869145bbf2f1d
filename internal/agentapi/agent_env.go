package agentapi

import (
	"runtime"
	"slices"
	"strings"
)

// AgentEnv is the environment to start a detached agent with, taken from
// environ (the CLI's): the variables its daemons get as their base
// (BaseEnvKeys: PATH, HOME, USER, LANG, TMPDIR, ...; buildEnv adds each
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
		if slices.Contains(BaseEnvKeys, k) || strings.HasPrefix(k, "LC_") || k == "XDG_RUNTIME_DIR" {
			out = append(out, kv)
		}
	}
	return out
}

// BaseEnvKeys are the variables of the agent's environment every child gets
// (under the declared ones). Nothing else of the agent leaks in.
var BaseEnvKeys = func() []string {
	keys := []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "TMPDIR", "TZ", "TERM"}
	if runtime.GOOS == "windows" {
		// Without these a Windows process cannot even open a socket.
		keys = append(keys, "SystemRoot", "SystemDrive", "windir", "ComSpec", "PATHEXT",
			"USERPROFILE", "APPDATA", "LOCALAPPDATA", "TEMP", "TMP")
	}
	return keys
}()
