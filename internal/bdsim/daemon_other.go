//go:build !unix

package bdsim

import (
	"fmt"
	"io"
	"runtime"
)

// daemonCommand: the simulated daemon needs flock and unix sockets.
func daemonCommand(o daemonOptions, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "Error: bdsim does not simulate the bd daemon on %s\n", runtime.GOOS)
	return 1
}
