// Command bdsim is the bd simulator (see internal/bdsim); it is installed as `bd`
// in .bin/ for the demo and benchmarks when no real bd is on PATH.
package main

import (
	"os"

	"github.com/beadsctl/beadsctl/internal/bdsim"
)

func main() { os.Exit(bdsim.Main()) }
