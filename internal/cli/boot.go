package cli

import (
	"os"
	"os/user"
	"path/filepath"

	"github.com/beadsctl/beadsctl/internal/boot"
)

// StartupOptions are the boot persistence options of the user running
// beadsctl, for engine ("": this system's).
func StartupOptions(engine string) boot.Options {
	home, _ := os.UserHomeDir()
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return boot.Options{Engine: engine, User: name, Home: home, ConfigHome: os.Getenv("XDG_CONFIG_HOME"),
		RuntimeDir: os.Getenv("XDG_RUNTIME_DIR"), Beadsctl: BeadsctlPath()}
}

// BeadsctlPath is the beadsctl binary with its symbolic links resolved
// (what units run), "" when it is unknown.
func BeadsctlPath() string {
	exe, _, err := Executable()
	if err != nil {
		return ""
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	return exe
}
