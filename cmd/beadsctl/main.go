// Command beadsctl keeps the Beads daemon, and any other long-running command a
// project needs, in the state that beads.hcl declares (the commands are
// internal/cli's). The rare commands that need heavy packages (migrate,
// import, fmt, export, monitor, startup) run in beadsctl-tools beside it,
// which beadsctl hands them over to: its own start stays small.
//
// As beadsctl-agent's, its GOMAXPROCS is not re-read every second (`beadsctl
// agent` is the same long-lived, mostly idle agent).
//
//go:debug updatemaxprocs=0
package main

import (
	"os"

	"github.com/beadsctl/beadsctl/internal/cli"
	_ "github.com/beadsctl/beadsctl/internal/earlystack" // before the initialisers that run deep
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	cli.SetVersion(version)
	os.Exit(cli.Main())
}
