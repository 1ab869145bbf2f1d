// Command beadsctl-tools runs the commands of beadsctl that need heavy
// packages: migrate and import (a JavaScript engine for PM2's ecosystem
// files), fmt and export (HCL's writer, the unit renderers), monitor (a
// terminal UI) and startup. beadsctl hands them over to it when it sits
// beside beadsctl (make build, make install) and is of the same version;
// run as beadsctl would (beadsctl migrate ...), not by itself.
//
//go:debug updatemaxprocs=0
package main

import (
	"os"

	"github.com/beadsctl/beadsctl/internal/cli"
	"github.com/beadsctl/beadsctl/internal/clitools"
)

// version is set at build time, as beadsctl's is; it refuses to run for a
// beadsctl of another version.
var version = "0.1.0-dev"

func main() {
	cli.SetVersion(version)
	os.Exit(clitools.Main())
}
