package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
)

// defaultConfig is the name of the configuration looked for when -f does not
// name one.
const defaultConfig = "beads.hcl"

// ceilingEnv names the folders findConfig never looks in or above, as
// GIT_CEILING_DIRECTORIES does for git (a list, separated as PATH is).
const ceilingEnv = "BEADSCTL_CEILING_DIRECTORIES"

// findConfig looks for name in start and then in each parent folder, as git
// looks for .git and bd for .beads: it stops at the first folder that holds
// it, and gives up after the root of the repository start is in (the first
// folder holding .git), a Beads workspace's root (.beads/), a folder beadsctl
// has applied (its .beadsctl/ holds state.json: that project's beads.hcl is
// missing, a parent's is another project's), below a folder of $BEADSCTL_CEILING_DIRECTORIES, or at the
// filesystem root. It returns the path found, or "" when there is none.
func findConfig(start, name string) string {
	ceilings := map[string]bool{}
	for _, c := range filepath.SplitList(os.Getenv(ceilingEnv)) {
		if c != "" && filepath.IsAbs(c) {
			ceilings[filepath.Clean(c)] = true
		}
	}
	for dir := start; ; {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			return "" // the repository's root: beads.hcl belongs to one project
		}
		if _, err := os.Stat(filepath.Join(dir, ".beadsctl", "state.json")); err == nil {
			return "" // an applied project without its beads.hcl
		}
		if st, err := os.Stat(filepath.Join(dir, ".beads")); err == nil && st.IsDir() {
			return "" // a Beads workspace's root: its beads.hcl would be here
		}
		parent := filepath.Dir(dir)
		if parent == dir || ceilings[parent] {
			return ""
		}
		dir = parent
	}
}

// usesConfig reports whether c reads beads.hcl through -f (every command but
// a few), so that the search upwards applies to it.
func usesConfig(c *cobra.Command, args []string) bool {
	for p := c; p != nil; p = p.Parent() {
		switch p.Name() {
		case "version", "import", "help", "completion", "__complete":
			return false
		case "migrate":
			// migrate moves the app of this folder (its ecosystem file, its
			// .beads/) and writes beads.hcl here: a parent's is another
			// project's (it was kept and validated in its place).
			return false
		}
	}
	switch c.Name() {
	case "fmt":
		return len(args) == 0 // fmt FILE... formats the files named
	case "agent":
		return !c.Flags().Changed("dir") // the agent's folder is named
	}
	return true
}

// resolveConfig applies the search upwards to -f: when the flag is not given
// and the current folder has no beads.hcl, the nearest parent's is used, and
// stderr says which. With -f, or when nothing is found, g.file stays as it is
// (the commands then say there is none, and what to do).
func resolveConfig(c *cobra.Command, g *globals, args []string, stderr io.Writer) {
	if c.Flags().Changed("file") || g.file != defaultConfig || !usesConfig(c, args) {
		return
	}
	if _, err := os.Stat(g.file); err == nil {
		return
	}
	wd, err := os.Getwd()
	if err != nil {
		return
	}
	if p := findConfig(wd, defaultConfig); p != "" {
		g.file = p
		fmt.Fprintf(stderr, "Using %s (no %s in %s).\n", p, defaultConfig, wd)
	}
}

// loadSchema is schema.Load of g.file (through the project's configuration
// cache); a missing file becomes one error that
// says where beadsctl looked and what the folder suggests doing.
func loadSchema(g *globals, profile string, environ []string) (*schema.Config, map[string]*hcl.File, hcl.Diagnostics) {
	cfg, files, diags := schema.LoadCached(reconcile.ConfigCache(g.file), g.file, profile, environ)
	if diags.HasErrors() {
		if _, err := os.Stat(g.file); errors.Is(err, fs.ErrNotExist) {
			return nil, files, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No " + filepath.Base(g.file), Detail: missingConfig(g.file)}}
		}
	}
	return cfg, files, diags
}

// validateAll is schema.ValidateAll of g.file, with loadSchema's error for a
// missing file.
func validateAll(g *globals, environ []string) ([]string, map[string]*hcl.File, hcl.Diagnostics) {
	if _, err := os.Stat(g.file); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No " + filepath.Base(g.file), Detail: missingConfig(g.file)}}
	}
	return schema.ValidateCached(reconcile.ConfigCache(g.file), g.file, environ)
}

// ecosystemFiles are the names PM2 reads, in the order import pm2 tries them.
var ecosystemFiles = []string{"ecosystem.config.js", "ecosystem.config.cjs", "ecosystem.config.mjs", "ecosystem.config.json"}

// missingConfig says that file does not exist, where beadsctl looked, and
// the next step the folder suggests: migrate or import pm2 beside a PM2
// ecosystem file, migrate in a Beads workspace, examples/ only when it is
// there (a bare binary has none), else a daemon block to start from.
func missingConfig(file string) string {
	var b strings.Builder
	abs, err := filepath.Abs(file)
	if err != nil {
		abs = file
	}
	dir := filepath.Dir(abs)
	if file == defaultConfig {
		fmt.Fprintf(&b, "There is no %s in %s or its parent folders.", defaultConfig, dir)
	} else {
		fmt.Fprintf(&b, "There is no %s.", abs)
	}
	for _, eco := range ecosystemFiles {
		if _, err := os.Stat(filepath.Join(dir, eco)); err == nil {
			fmt.Fprintf(&b, " %s (PM2) is here: `beadsctl migrate` moves the app PM2 runs to beadsctl in one step (stop it, write %s, apply, verify), or `beadsctl import pm2 %s -o %s` writes %s from it alone.",
				eco, defaultConfig, eco, defaultConfig, defaultConfig)
			return b.String()
		}
	}
	if st, err := os.Stat(filepath.Join(dir, ".beads")); err == nil && st.IsDir() {
		fmt.Fprintf(&b, " %s is a Beads workspace: `beadsctl migrate` writes %s for its bd daemon (or bd 1.x's Dolt server) and takes over one that runs.", dir, defaultConfig)
		return b.String()
	}
	if _, err := os.Stat(filepath.Join(dir, "examples", "minimal.hcl")); err == nil {
		fmt.Fprintf(&b, " Copy examples/minimal.hcl to %s to start from, or name another file with -f.", filepath.Base(file))
		return b.String()
	}
	fmt.Fprintf(&b, ` Write one, for bd's daemon: daemon "beads" { command = "bd"  args = ["daemon", "--start", "--foreground"] } (run bd init first if there is no .beads/ yet), or name another file with -f.`)
	return b.String()
}
