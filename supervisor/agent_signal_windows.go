package supervisor

import (
	"os"
)

// agSignalGroup ends the process pid on Windows (there are no signals to groups).
func agSignalGroup(pid int, _ os.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// agKillSignal is the signal that cannot be caught.
var agKillSignal os.Signal = os.Kill

// agParseSignal has nothing to choose from on Windows.
func agParseSignal(string) os.Signal { return os.Kill }
