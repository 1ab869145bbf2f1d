package cli

import "os"

// handOverFile puts b where beadsctl-agent reads it (agentapi.AgentRunEnv):
// a temporary file (0600), which it removes once read.
func handOverFile(b []byte) (string, error) {
	f, err := os.CreateTemp("", "beadsctl-agent-run-*.json")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
