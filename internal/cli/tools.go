package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
)

// ToolsName is the sibling binary that runs the rare commands needing heavy
// packages (a JavaScript engine for PM2's ecosystem files, HCL's writer and
// its diff library, a terminal UI, the unit renderers): beadsctl stays small
// and starts in a few milliseconds, and hands those commands over to it.
const ToolsName = "beadsctl-tools"

// ToolsVersionEnv carries beadsctl's version to beadsctl-tools, which refuses
// to run for another version.
const ToolsVersionEnv = "BEADSCTL_TOOLS_VERSION"

// toolAnnotation marks the commands of beadsctl that hand over to beadsctl-tools.
const toolAnnotation = "beadsctl-tools"

// toolCommands are the commands beadsctl-tools runs, with their line in
// beadsctl's help (beadsctl-tools shows the same line).
var toolCommands = []struct{ name, short string }{
	{"fmt", "Rewrite beads.hcl files in the canonical format"},
	{"export", "Render beads.hcl for systemd, launchd or Nomad"},
	{"monitor", "Live dashboard: status, CPU and memory graphs, logs; restart, stop, start"},
	{"import", "Convert another process manager's configuration to beads.hcl"},
	{"migrate", "Move this folder's bd daemon (PM2, background) or bd 1.x Dolt server to beadsctl"},
	{"startup", "Start this project's agent at boot (systemd user unit, launchd agent); --remove undoes it"},
}

// Tools are the constructors of the commands beadsctl-tools adds, by name
// (one for each of toolCommands).
type Tools map[string]func(*Globals) *cobra.Command

// addTools adds each tool command (only the one named only, when only is
// not ""): the real one when tools has it, else one that hands over to
// beadsctl-tools (Main does that before cobra runs, for help and completion
// too; the command's own run is for a tree run in a test).
func addTools(root *cobra.Command, g *Globals, tools Tools, only string) {
	for _, t := range toolCommands {
		if only != "" && only != t.name {
			continue
		}
		if add := tools[t.name]; add != nil {
			c := add(g)
			c.Short = t.short
			root.AddCommand(c)
			continue
		}
		root.AddCommand(&cobra.Command{
			Use:                t.name,
			Short:              t.short,
			Long:               t.short + ".\n\nRun by " + ToolsName + ", beside beadsctl: beadsctl " + t.name + " --help shows its options.",
			Annotations:        map[string]string{toolAnnotation: t.name},
			DisableFlagParsing: true,
			RunE: func(c *cobra.Command, _ []string) error {
				return exitError{code: handOver(c.Name(), os.Args[1:], c.ErrOrStderr())}
			},
		})
	}
}

// toolFor is the command of beadsctl-tools that args run ("" for none): the
// command itself, its help (help NAME) or its shell completion (__complete
// NAME ...).
func toolFor(root *cobra.Command, args []string) string {
	if len(args) > 0 && (args[0] == "help" || strings.HasPrefix(args[0], cobra.ShellCompRequestCmd)) {
		args = args[1:]
	}
	c, _, err := root.Find(args)
	if err != nil {
		return ""
	}
	return c.Annotations[toolAnnotation]
}

// toolsPath is beadsctl-tools beside the beadsctl binary exe: beside exe as
// it was called or, when that is a symbolic link (beadsctl linked into a
// folder on PATH; os.Executable does not resolve it on every system), beside
// the file it points to. The first name is returned when neither exists.
func toolsPath(exe string) string { return siblingPath(exe, ToolsName) }

// siblingPath is the binary name (beadsctl-tools, beadsctl-agent) beside
// the beadsctl binary exe, as toolsPath finds beadsctl-tools.
func siblingPath(exe, name string) string {
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	p := filepath.Join(filepath.Dir(exe), name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil && filepath.Dir(real) != filepath.Dir(exe) {
		if q := filepath.Join(filepath.Dir(real), name); isFile(q) {
			return q
		}
	}
	return p
}

// handOver runs beadsctl-tools with args (those of beadsctl, for its command
// name), as this process where the system allows it (unix: its signals,
// terminal, stdin and exit status are the command's), and returns the exit
// code when it could not run it.
func handOver(name string, args []string, stderr io.Writer) int {
	path, err := sibling(ToolsName, "beadsctl "+name)
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	env := toolsEnv(os.Environ(), runtime.GOOS == "windows")
	if err := execTool(path, append([]string{ToolsName}, args...), env); err != nil {
		fmt.Fprintln(stderr, "Error:", cannotRun("beadsctl "+name, ToolsName, path, err))
		return 1
	}
	return 0
}

// sibling is the path of the binary name (beadsctl-tools, beadsctl-agent)
// beside beadsctl, or an error for what (the command handed over to it)
// that says why it cannot run and how to install it.
func sibling(name, what string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("%s runs in %s beside beadsctl, but beadsctl's own path is unknown: %v", what, name, err)
	}
	path := siblingPath(exe, name)
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() || (runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0) {
		state, why := "cannot run", "not an executable file"
		if err != nil {
			why = err.Error()
			if errors.Is(err, os.ErrNotExist) {
				state, why = "is missing", "no such file"
			}
		}
		return "", fmt.Errorf("%s runs in %s, which %s: %s: %s.\n%s", what, name, state, path, why, installHint(name, path))
	}
	return path, nil
}

// cannotRun is the error of a sibling binary at path that did not start.
func cannotRun(what, name, path string, err error) error {
	return fmt.Errorf("%s runs in %s, which cannot run: %s: %v.\n%s", what, name, path, err, installHint(name, path))
}

// installHint says how to put the binary name at path.
func installHint(name, path string) string {
	return fmt.Sprintf("Install it beside beadsctl, from the same build: make install (or make build for .bin/), or\n"+
		"CGO_ENABLED=0 go build -o %s ./cmd/%s in beadsctl's source.", path, name)
}

// toolsEnv is environ for beadsctl-tools: with ToolsVersionEnv set to this
// beadsctl's version, and only once (a value already in the environment,
// from a shell or a parent beadsctl-tools, would be the one the tool reads:
// Go's os.Getenv takes a name's first occurrence).
// On Windows, where names are case-insensitive, one in any case goes
// (fold).
func toolsEnv(environ []string, fold bool) []string {
	return withEnv(environ, ToolsVersionEnv, version, fold)
}

// withEnv is environ with key=value set once (see toolsEnv).
func withEnv(environ []string, key, value string, fold bool) []string {
	env := make([]string, 0, len(environ)+1)
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if name != key && !(fold && strings.EqualFold(name, key)) {
			env = append(env, kv)
		}
	}
	return append(env, key+"="+value)
}

// checkToolsVersion refuses to run beadsctl-tools for a beadsctl of another
// version (their state files and agent protocol must match).
func checkToolsVersion(stderr io.Writer) bool {
	want, ok := os.LookupEnv(ToolsVersionEnv)
	os.Unsetenv(ToolsVersionEnv) // not for the agent or daemons it may start
	if !ok || want == version {
		return true
	}
	exe, _ := os.Executable()
	fmt.Fprintf(stderr, "Error: %s (%s) is version %s, beadsctl is %s: install both from the same build (make install).\n", ToolsName, exe, version, want)
	return false
}

// Executable is the beadsctl binary and the argv[0] that runs it: this
// binary, or in beadsctl-tools the beadsctl beside it (what exported units,
// the agent and migrate run).
func Executable() (path, argv0 string, err error) {
	exe, err := os.Executable()
	if err != nil {
		return "", "", err
	}
	if !toolsMode {
		return exe, filepath.Base(os.Args[0]), nil
	}
	name := "beadsctl"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if p := filepath.Join(filepath.Dir(exe), name); isFile(p) {
		return p, "beadsctl", nil
	}
	return exe, filepath.Base(os.Args[0]), nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
