package clitools

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/cli"
	"github.com/beadsctl/beadsctl/internal/plural"
	"github.com/beadsctl/beadsctl/migrate"
	"github.com/beadsctl/beadsctl/schema"
)

type importOptions struct {
	app string
	out string
}

func newImportCmd(g *cli.Globals) *cobra.Command {
	c := &cobra.Command{
		Use: "import",
	}
	c.AddCommand(newImportPM2Cmd(g))
	return c
}

func newImportPM2Cmd(g *cli.Globals) *cobra.Command {
	o := &importOptions{}
	c := &cobra.Command{
		Use:   "pm2 [FILE]",
		Short: "Convert a PM2 ecosystem file (.js, .cjs, .mjs, .json) to beads.hcl",
		Long: "Evaluates the ecosystem file in a sandbox (require of path and os only, process.env from\n" +
			"this environment, no file system or network, 2s limit) and writes an equivalent beads.hcl\n" +
			"to stdout, or to -o FILE (never over an existing file). Options without an equivalent are\n" +
			"warned about on stderr, with the reason.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return runImportPM2(c, g, o, args) },
	}
	c.Flags().StringVar(&o.app, "app", "", "convert only the app of this name")
	c.Flags().StringVarP(&o.out, "output", "o", "", "write beads.hcl to this file instead of stdout")
	return c
}

func runImportPM2(c *cobra.Command, _ *cli.Globals, o *importOptions, args []string) error {
	file, err := ecosystemFile(args)
	if err != nil {
		return err
	}
	outDir := filepath.Dir(file)
	if o.out != "" {
		outDir = filepath.Dir(o.out)
	}
	abs, _ := filepath.Abs(outDir)
	res, err := migrate.ImportFile(file, os.Environ(), migrate.ImportOptions{App: o.app, OutDir: abs, Home: os.Getenv("HOME")})
	if err != nil {
		return err
	}
	stderr := c.ErrOrStderr()
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "Warning: %s\n", w)
	}
	if o.out == "" {
		_, err := c.OutOrStdout().Write(res.HCL)
		return err
	}
	f, err := os.OpenFile(o.out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w (an existing file is never overwritten)", o.out, err)
	}
	if _, err := f.Write(res.HCL); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	files, diags := schema.ValidateAll(o.out, os.Environ())
	if len(diags) > 0 {
		if err := cli.RenderDiags(stderr, diags, files, false, false); err != nil {
			return err
		}
	}
	if diags.HasErrors() {
		return cli.ErrPrinted
	}
	fmt.Fprintf(c.OutOrStdout(), "Wrote %s: %s, %s, %s.\n", o.out, plural.Count(len(res.Daemons), "daemon"), plural.Count(len(res.Profiles), "profile"), plural.Count(len(res.Warnings), "warning"))
	return nil
}

// ecosystemFile is the file named, or the first ecosystem.config.* here.
func ecosystemFile(args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	for _, n := range []string{"ecosystem.config.cjs", "ecosystem.config.js", "ecosystem.config.mjs", "ecosystem.json", "ecosystem.config.json"} {
		if _, err := os.Stat(n); err == nil {
			return n, nil
		}
	}
	return "", fmt.Errorf("no ecosystem.config.{cjs,js,mjs} or ecosystem.json here: name the file")
}
