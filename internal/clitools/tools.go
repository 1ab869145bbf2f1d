// Package clitools holds the commands of beadsctl-tools: those that need
// heavy packages (goja for PM2's ecosystem files, hclwrite and its go-cmp,
// bubbletea, the unit renderers), which beadsctl hands over to this sibling
// binary so that its own start stays small (see cli.ToolsName).
package clitools

import "github.com/beadsctl/beadsctl/internal/cli"

// Commands are the commands of beadsctl-tools, by name.
var Commands = cli.Tools{
	"fmt":     newFmtCmd,
	"export":  newExportCmd,
	"monitor": newMonitorCmd,
	"import":  newImportCmd,
	"migrate": newMigrateCmd,
	"startup": newStartupCmd,
}

// Main runs beadsctl-tools with os.Args and returns the exit code.
func Main() int { return cli.MainTools(Commands) }
