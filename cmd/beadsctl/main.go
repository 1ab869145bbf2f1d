// Command beadsctl keeps the Beads daemon, and any other long-running command a
// project needs, in the state that beads.hcl declares.
//
// As beadsctl-agent's, its GOMAXPROCS is not re-read every second (`beadsctl
// agent` is the same long-lived, mostly idle agent).
//
//go:debug updatemaxprocs=0
package main

import "os"

func main() { os.Exit(Main()) }
