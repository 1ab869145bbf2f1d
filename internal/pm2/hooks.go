package pm2

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Hook is a boot hook `pm2 startup` installed: at boot it runs `pm2
// resurrect`, which starts every app of the saved list.
type Hook struct {
	// Init is the init system, as `pm2 startup` names it: systemd, launchd,
	// upstart (also System V), openrc, rcd, rcd-openbsd.
	Init string `json:"init"`
	Path string `json:"path"`
	// Enabled is known for systemd only (a link in a *.wants folder); the
	// other hooks run whenever their file is there.
	Enabled bool `json:"enabled"`
	// Home is the PM2_HOME the hook starts PM2 with ("" when it does not say).
	Home string `json:"pm2_home,omitempty"`
	// Remove is the command that removes it.
	Remove string `json:"remove"`
}

// The patterns compile the first time they are used, not when beadsctl starts.
var (
	homeLine   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`PM2_HOME[=" ]+"?([^"\s$;]+)`) })
	homePlist  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`<key>PM2_HOME</key>\s*<string>([^<]+)</string>`) })
	userLine   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^User=(\S+)`) })
	userPlist  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`<key>UserName</key>\s*<string>([^<]+)</string>`) })
	resurrects = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`pm2\S*\s+resurrect`) })
)

// StartupHooks finds the boot hooks of PM2 under root ("/" on a real system,
// a folder in tests), those in userHome's LaunchAgents included. Every hook
// that runs `pm2 resurrect` is returned; ForHome keeps the ones of one PM2.
func StartupHooks(root, userHome string) []Hook {
	var hooks []Hook
	units, _ := filepath.Glob(filepath.Join(root, "etc/systemd/system/*.service"))
	for _, u := range units {
		text, ok := readSmall(u)
		if !ok || !resurrects().MatchString(text) {
			continue
		}
		name := filepath.Base(u)
		links, _ := filepath.Glob(filepath.Join(root, "etc/systemd/system/*.wants", name))
		h := Hook{Init: "systemd", Path: u, Enabled: len(links) > 0, Home: match(homeLine(), text)}
		h.Remove = unstartup("systemd", strings.TrimSuffix(name, ".service"), match(userLine(), text))
		hooks = append(hooks, h)
	}
	if userHome != "" {
		plists, _ := filepath.Glob(filepath.Join(userHome, "Library/LaunchAgents/*.plist"))
		for _, p := range plists {
			text, ok := readSmall(p)
			if !ok || !resurrects().MatchString(text) {
				continue
			}
			h := Hook{Init: "launchd", Path: p, Enabled: true, Home: match(homePlist(), text)}
			h.Remove = unstartup("launchd", strings.TrimSuffix(filepath.Base(p), ".plist"), match(userPlist(), text))
			hooks = append(hooks, h)
		}
	}
	for _, g := range []struct{ init, glob string }{
		{"upstart", "etc/init.d/pm2-*"}, {"openrc", "etc/init.d/pm2"},
		{"rcd", "usr/local/etc/rc.d/pm2_*"}, {"rcd-openbsd", "etc/rc.d/pm2_*"},
	} {
		files, _ := filepath.Glob(filepath.Join(root, g.glob))
		for _, f := range files {
			text, ok := readSmall(f)
			if !ok || !strings.Contains(text, "resurrect") {
				continue
			}
			hooks = append(hooks, Hook{Init: g.init, Path: f, Enabled: true, Home: match(homeLine(), text),
				Remove: unstartup(g.init, "", "")})
		}
	}
	return hooks
}

// ForHome keeps the hooks that start the PM2 of home, or do not say which.
func ForHome(hooks []Hook, home string) []Hook {
	return slices.DeleteFunc(slices.Clone(hooks), func(h Hook) bool {
		return h.Home != "" && filepath.Clean(h.Home) != filepath.Clean(home)
	})
}

// unstartup is the `pm2 unstartup` command that removes a hook; PM2 itself
// prints the sudo form to use when it is not run as root.
func unstartup(init, service, user string) string {
	cmd := "pm2 unstartup " + init
	if user != "" {
		cmd += " -u " + user
		if service != "" && service != "pm2-"+user && service != "pm2."+user {
			cmd += " --service-name " + service
		}
	}
	return cmd
}

func match(re *regexp.Regexp, text string) string {
	if m := re.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// readSmall reads a file of at most 1 MiB (an init script, a unit, a plist).
func readSmall(path string) (string, bool) {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() || st.Size() > 1<<20 {
		return "", false
	}
	b, err := os.ReadFile(path)
	return string(b), err == nil
}
