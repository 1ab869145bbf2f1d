package migrate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/beadsctl/beadsctl/internal/pm2"
)

// pm2Apps lists the PM2 apps that run `bd daemon` in the workspace, when a PM2
// daemon runs (PM2_HOME, default ~/.pm2, has a live pm2.pid).
func pm2Apps(ctx context.Context, o Options) ([]OldDaemon, string, error) {
	bin := o.PM2
	if bin == "" {
		if bin = pm2.LookPath(o.Environ); bin == "" {
			return nil, "", nil
		}
	}
	if !pm2.Running(pm2.Home(o.Environ)) {
		return nil, "", nil
	}
	apps, err := pm2.List(ctx, bin, o.Environ, o.Dir)
	if err != nil {
		return nil, bin, err
	}
	var found []OldDaemon
	for _, a := range apps {
		if runsWorkspaceDaemon(a, o.Dir) {
			env, ties := a.StartedEnv()
			found = append(found, OldDaemon{Manager: "pm2", Pid: a.Pid, Via: "pm2 jlist", App: a.Name, PM2ID: a.ID,
				Env: env, EnvTies: ties, pm2: &a})
		}
	}
	return found, bin, nil
}

// runsWorkspaceDaemon tells whether a PM2 app runs `bd daemon` in dir.
func runsWorkspaceDaemon(a pm2.App, dir string) bool {
	return a.Runs("bd", dir) && len(a.Args) > 0 && a.Args[0] == "daemon"
}

// detectPM2Saved reads PM2's saved list and boot hooks: the apps of this
// workspace that `pm2 resurrect` would start, whether PM2 runs or not.
func detectPM2Saved(o Options, d *Detection) error {
	home := pm2.Home(o.Environ)
	if home == "" {
		return nil
	}
	saved, err := pm2.ReadDump(home)
	if err != nil {
		return fmt.Errorf("PM2's saved list: %w", err)
	}
	d.PM2Home = home
	for _, a := range saved {
		if runsWorkspaceDaemon(a, o.Dir) {
			d.PM2Saved = append(d.PM2Saved, a.Name)
		}
	}
	root := o.Root
	if root == "" {
		root = "/"
	}
	d.PM2Hooks = pm2.ForHome(pm2.StartupHooks(root, o.env("HOME")), home)
	return nil
}

// planPM2 reports, under --dry-run, what finishPM2 would do.
func planPM2(det Detection, step func(Step)) {
	if len(det.PM2Saved) > 0 {
		step(Step{Name: "pm2 saved list", OK: true, Detail: fmt.Sprintf("%s lists %s: after the apply, pm2 save --force "+
			"(or, if PM2's other apps then differ from its saved list, remove only %s from it), so that pm2 resurrect does not start it again",
			pm2.DumpPath(det.PM2Home), strings.Join(det.PM2Saved, ", "), strings.Join(det.PM2Saved, ", "))})
	}
	for _, h := range det.PM2Hooks {
		step(Step{Name: "pm2 startup hook", OK: true, Detail: hookDetail(h, nil)})
	}
}

// finishPM2 takes the workspace's apps out of PM2's saved list, so that
// `pm2 resurrect` (what the boot hook of `pm2 startup` runs) does not start a
// copy that fights ours, and reports PM2's boot hooks.
//
// The saved list is rewritten only when it names such an app (a user who never
// ran pm2 save and whose PM2 was never killed with apps has none, and gets none).
// With PM2 running and its live list equal to the saved one less those apps,
// `pm2 save --force` writes it (--force: with nothing left, plain pm2 save keeps
// the old list). Otherwise pm2 save would also save or drop other apps, and
// only the workspace's entries are removed from dump.pm2, the rest kept as saved.
func finishPM2(ctx context.Context, o Options, det Detection, step func(Step)) error {
	if len(det.PM2Saved) == 0 && len(det.PM2Hooks) == 0 {
		return nil
	}
	if len(det.PM2Saved) > 0 {
		detail, err := unsave(ctx, o, det)
		if err != nil {
			return err
		}
		step(Step{Name: "pm2 saved list", OK: true, Detail: detail})
	}
	left, err := pm2.ReadDump(det.PM2Home)
	if err != nil {
		return err
	}
	if left == nil {
		left = []pm2.App{} // no saved list: nothing to start
	}
	for _, h := range det.PM2Hooks {
		step(Step{Name: "pm2 startup hook", OK: true, Detail: hookDetail(h, left)})
	}
	return nil
}

// unsave takes the workspace's apps out of PM2's saved list (see finishPM2).
func unsave(ctx context.Context, o Options, det Detection) (string, error) {
	home, path := det.PM2Home, pm2.DumpPath(det.PM2Home)
	names := strings.Join(det.PM2Saved, ", ")
	saved, err := pm2.ReadDump(home)
	if err != nil {
		return "", err
	}
	var rest []string
	for _, a := range saved {
		if !runsWorkspaceDaemon(a, o.Dir) {
			rest = append(rest, a.Name)
		}
	}
	why := "PM2 does not run"
	if det.PM2 != "" && pm2.Running(home) {
		live, err := pm2.List(ctx, det.PM2, o.Environ, o.Dir)
		if err != nil {
			return "", err
		}
		var running []string
		for _, a := range live {
			running = append(running, a.Name)
		}
		slices.Sort(running)
		slices.Sort(rest)
		if slices.Equal(running, rest) {
			if out, err := pm2.Command(ctx, det.PM2, o.Environ, o.Dir, "save", "--force"); err != nil {
				return "", fmt.Errorf("pm2 save --force: %v: %s", err, strings.TrimSpace(out))
			}
			if err := stillSaved(o, home); err != nil {
				return "", err
			}
			return fmt.Sprintf("pm2 save --force: %s no longer lists %s, so pm2 resurrect (PM2's boot hook) does not start it again; the old list is dump.pm2.bak",
				path, names), nil
		}
		why = fmt.Sprintf("PM2 runs %s but its saved list has %s, which pm2 save would change too", listOrNone(running), listOrNone(rest))
	}
	removed, err := pm2.RemoveFromDump(home, func(a pm2.App) bool { return runsWorkspaceDaemon(a, o.Dir) })
	if err != nil {
		return "", err
	}
	if err := stillSaved(o, home); err != nil {
		return "", err
	}
	return fmt.Sprintf("removed %s from %s, every other app kept as saved (not pm2 save: %s), so pm2 resurrect does not start it again; the old list is dump.pm2.bak",
		strings.Join(removed, ", "), path, why), nil
}

// stillSaved fails when the saved list still names an app of the workspace.
func stillSaved(o Options, home string) error {
	saved, err := pm2.ReadDump(home)
	if err != nil {
		return err
	}
	for _, a := range saved {
		if runsWorkspaceDaemon(a, o.Dir) {
			return fmt.Errorf("%s still lists %s", pm2.DumpPath(home), a.Name)
		}
	}
	return nil
}

// hookDetail describes a boot hook of PM2 and what to do with it; left is
// PM2's saved list after the migration (nil under --dry-run).
func hookDetail(h pm2.Hook, left []pm2.App) string {
	state := "installed"
	if h.Init == "systemd" {
		state = "installed, not enabled"
		if h.Enabled {
			state = "installed and enabled"
		}
	}
	d := fmt.Sprintf("PM2's boot hook %s (%s, %s) runs pm2 resurrect at boot", h.Path, h.Init, state)
	switch {
	case left == nil:
		d += "; it will no longer start this workspace's daemon"
	case len(left) == 0:
		d += "; PM2 has nothing left to start: remove it with " + h.Remove
	default:
		var names []string
		for _, a := range left {
			names = append(names, a.Name)
		}
		d += fmt.Sprintf("; it still starts PM2's other apps (%s): keep it for them, or remove it with %s once they are moved", strings.Join(names, ", "), h.Remove)
	}
	return d + "; beadsctl startup makes beadsctl's agent start at boot instead"
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}
