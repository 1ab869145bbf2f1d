// Package pm2 reads what PM2 (the Node.js process manager beadsctl replaces)
// knows: its home folder, its live process list (`pm2 jlist`), its saved list
// (dump.pm2, what `pm2 resurrect` starts, and what the boot hook of
// `pm2 startup` runs), and the boot hooks `pm2 startup` installs.
//
// Facts about PM2 7 (lib/API/Startup.js, lib/God/ActionMethods.js, paths.js):
//   - the saved list is $PM2_HOME/dump.pm2 (default ~/.pm2), a JSON array of
//     each app's pm2_env; `pm2 save` backs the old one up to dump.pm2.bak first.
//   - `pm2 save` keeps the old dump when no process is left ("PM2 is not
//     managing any process, skipping save"): only `pm2 save --force` writes an
//     empty list. The God daemon also dumps its list when it is killed by a
//     signal, but never an empty one.
//   - `pm2 startup` writes /etc/systemd/system/pm2-USER.service (ExecStart
//     "pm2 resurrect", Environment=PM2_HOME=...) and runs systemctl enable;
//     ~/Library/LaunchAgents/pm2.USER.plist on macOS; /etc/init.d/pm2-USER
//     (upstart, System V), /etc/init.d/pm2 (OpenRC), /usr/local/etc/rc.d/pm2_USER
//     (FreeBSD) or /etc/rc.d/pm2_USER (OpenBSD). `pm2 unstartup` removes them.
//
// It imports no package of beadsctl but other leaves.
package pm2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/internal/proc"
)

// App is one app PM2 knows, from `pm2 jlist` or from dump.pm2.
type App struct {
	Name string `json:"name"`
	// ID is pm_id in the live list (dump.pm2 has none: -1).
	ID  int `json:"pm_id"`
	Pid int `json:"pid,omitempty"`
	// ExecPath, Cwd, Args and Status are pm2_env's pm_exec_path, pm_cwd, args, status.
	ExecPath string   `json:"exec_path"`
	Cwd      string   `json:"cwd"`
	Args     []string `json:"args,omitempty"`
	Status   string   `json:"status,omitempty"`
	// Env is pm2_env.env: the environment PM2 gives the app (the calling
	// shell's, the file's env, and env_NAME of --env NAME over it). Profiles
	// are the file's env_NAME objects, by NAME. Neither is printed: values may
	// be secrets. See StartedEnv.
	Env      map[string]string            `json:"-"`
	Profiles map[string]map[string]string `json:"-"`
}

// Runs tells whether the app runs command (compared by base name: PM2 records
// the path it resolved) in the folder dir (links resolved).
func (a App) Runs(command, dir string) bool {
	if filepath.Base(a.ExecPath) != filepath.Base(command) || a.Cwd == "" || dir == "" {
		return false
	}
	ra, err1 := filepath.EvalSymlinks(a.Cwd)
	rb, err2 := filepath.EvalSymlinks(dir)
	if err1 != nil || err2 != nil {
		return filepath.Clean(a.Cwd) == filepath.Clean(dir)
	}
	return ra == rb
}

// env is the part of a pm2_env (a jlist entry's, or a dump.pm2 entry itself) read here.
type env struct {
	Name     string `json:"name"`
	ExecPath string `json:"pm_exec_path"`
	Cwd      string `json:"pm_cwd"`
	Args     any    `json:"args"`
	Status   string `json:"status"`
	// Env and Profiles are pm2_env.env and its env_NAME objects (see App).
	Env      map[string]string            `json:"-"`
	Profiles map[string]map[string]string `json:"-"`
}

// UnmarshalJSON reads the fields of env and, besides them, pm2_env.env and
// every env_NAME object (PM2 keeps the app's options in pm2_env as the file
// wrote them).
func (e *env) UnmarshalJSON(b []byte) error {
	type fields env
	if err := json.Unmarshal(b, (*fields)(e)); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	e.Env = envValues(all["env"])
	for k, raw := range all {
		if name, ok := strings.CutPrefix(k, "env_"); ok && name != "" {
			if vars := envValues(raw); vars != nil {
				if e.Profiles == nil {
					e.Profiles = map[string]map[string]string{}
				}
				e.Profiles[name] = vars
			}
		}
	}
	return nil
}

// envValues reads a JSON object of environment variables as the strings a
// process gets (a number or a boolean as JavaScript's String() writes it);
// nil when raw is not an object (env_file is a path, not a profile).
func envValues(raw json.RawMessage) map[string]string {
	var obj map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil
	}
	vars := make(map[string]string, len(obj))
	for k, v := range obj {
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(bytes.TrimSpace(v))
		}
		vars[k] = s
	}
	return vars
}

func (e env) app() App {
	a := App{Name: e.Name, ID: -1, ExecPath: e.ExecPath, Cwd: e.Cwd, Status: e.Status, Env: e.Env, Profiles: e.Profiles}
	switch v := e.Args.(type) {
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				a.Args = append(a.Args, s)
			}
		}
	case string:
		a.Args = strings.Fields(v)
	}
	return a
}

// Home is PM2's home folder for the environment environ: PM2_HOME, else
// HOME/.pm2 ("" when neither is set).
func Home(environ []string) string {
	if h := getenv(environ, "PM2_HOME"); h != "" {
		return h
	}
	if h := getenv(environ, "HOME"); h != "" {
		return filepath.Join(h, ".pm2")
	}
	return ""
}

// DumpPath is the saved list in home.
func DumpPath(home string) string { return filepath.Join(home, "dump.pm2") }

// Running tells whether PM2's God daemon of home lives (its pm2.pid names a
// live process). Asking a PM2 that does not run would start one.
func Running(home string) bool {
	b, err := os.ReadFile(filepath.Join(home, "pm2.pid"))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return false
	}
	h, err := proc.Open(pid)
	return err == nil && h.Alive()
}

// LookPath finds pm2 on the PATH of environ ("" when it is not there).
func LookPath(environ []string) string {
	for _, dir := range filepath.SplitList(getenv(environ, "PATH")) {
		p := filepath.Join(dir, "pm2")
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Command runs pm2 with args in dir, under environ, bounded to 30 s, and
// returns its combined output.
func Command(ctx context.Context, bin string, environ []string, dir string, args ...string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, bin, args...)
	cmd.Env, cmd.Dir = environ, dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// List is PM2's live process list (`pm2 jlist`).
func List(ctx context.Context, bin string, environ []string, dir string) ([]App, error) {
	out, err := Command(ctx, bin, environ, dir, "jlist")
	if err != nil {
		return nil, fmt.Errorf("pm2 jlist: %v: %s", err, strings.TrimSpace(out))
	}
	apps, err := ParseList([]byte(out))
	if err != nil {
		return nil, fmt.Errorf("pm2 jlist: %w", err)
	}
	return apps, nil
}

// ParseList reads `pm2 jlist` output (PM2 may print warnings before the JSON).
func ParseList(out []byte) ([]App, error) {
	if i := bytes.IndexByte(out, '['); i > 0 {
		out = out[i:]
	}
	var list []struct {
		Name   string `json:"name"`
		ID     int    `json:"pm_id"`
		Pid    int    `json:"pid"`
		PM2Env env    `json:"pm2_env"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, err
	}
	apps := make([]App, 0, len(list))
	for _, l := range list {
		a := l.PM2Env.app()
		a.Name, a.ID, a.Pid = l.Name, l.ID, l.Pid
		apps = append(apps, a)
	}
	return apps, nil
}

// ReadDump reads the saved list of home: nil without error when there is none.
func ReadDump(home string) ([]App, error) {
	raw, err := readDump(home)
	if err != nil || raw == nil {
		return nil, err
	}
	apps := make([]App, 0, len(raw))
	for _, r := range raw {
		var e env
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", DumpPath(home), err)
		}
		apps = append(apps, e.app())
	}
	return apps, nil
}

func readDump(home string) ([]json.RawMessage, error) {
	b, err := os.ReadFile(DumpPath(home))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", DumpPath(home), err)
	}
	return raw, nil
}

// RemoveFromDump removes the apps that match from the saved list of home and
// returns their names, leaving every other entry as it was. As `pm2 save`
// does, the old list is kept as dump.pm2.bak first; both files are written
// whole (atomicfile), with the mode dump.pm2 had.
func RemoveFromDump(home string, match func(App) bool) ([]string, error) {
	raw, err := readDump(home)
	if err != nil || raw == nil {
		return nil, err
	}
	var kept []json.RawMessage
	var removed []string
	for _, r := range raw {
		var e env
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", DumpPath(home), err)
		}
		if match(e.app()) {
			removed = append(removed, e.Name)
			continue
		}
		kept = append(kept, r)
	}
	if len(removed) == 0 {
		return nil, nil
	}
	path := DumpPath(home)
	old, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	if err := atomicfile.Write(path+".bak", old, mode); err != nil {
		return nil, err
	}
	if kept == nil {
		kept = []json.RawMessage{}
	}
	b, err := json.MarshalIndent(kept, "", "  ")
	if err != nil {
		return nil, err
	}
	return removed, atomicfile.Write(path, b, mode)
}

func getenv(environ []string, key string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], key+"="); ok {
			return v
		}
	}
	return ""
}
