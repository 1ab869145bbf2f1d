package clitools

import (
	"testing"

	"github.com/beadsctl/beadsctl/internal/cli"
	"github.com/spf13/cobra"
)

// TestEveryCommandHasAnExample: --help on every runnable command shows how to use it.
func TestEveryCommandHasAnExample(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && !c.Hidden && c.Name() != "help" && c.Parent() != nil && c.Parent().Name() != "completion" && c.Example == "" {
			t.Errorf("%q has no Example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cli.NewTools(Commands))
}
