// Package bdsim is a stand-in for the real bd CLI (v0.28), faithful to
// ../shared/BEADS.md, for tests, the demo and benchmarks. No bd binary can be
// installed on our machines; this is the seam where the real thing cannot run.
package bdsim

import (
	"fmt"
	"os"
)

// Main runs the simulator with os.Args and returns the exit code.
func Main() int {
	fmt.Fprintln(os.Stderr, "bdsim: not implemented yet")
	return 1
}
