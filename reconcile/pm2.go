package reconcile

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/beadsctl/beadsctl/internal/pm2"
	"github.com/beadsctl/beadsctl/schema"
)

// PM2App is an app PM2 knows that runs a daemon of beads.hcl: its command in
// its folder. One that PM2 runs competes with ours for the workspace; one in
// PM2's saved list (dump.pm2) is started again by `pm2 resurrect`, which the
// boot hook of `pm2 startup` runs.
type PM2App struct {
	Daemon string  `json:"daemon"`
	App    pm2.App `json:"app"`
	// Saved is the saved list that holds it ("" for an app of the live list).
	Saved string `json:"saved,omitempty"`
}

// ObservePM2 finds the PM2 apps that run a daemon of desired, in the PM2 of
// the environment environ (PM2_HOME, else ~/.pm2): its saved list always, its
// live list when its God daemon runs and pm2 is on environ's PATH (asking a
// PM2 that does not run would start one). It is not part of Observe: a `pm2
// jlist` costs a Node.js start, which drift pays and plan does not.
func ObservePM2(ctx context.Context, desired *schema.Config, environ []string) ([]PM2App, error) {
	home := pm2.Home(environ)
	if home == "" {
		return nil, nil
	}
	var found []PM2App
	match := func(a pm2.App, saved string) {
		for _, d := range desired.Daemons {
			if a.Runs(d.Command, d.Dir) {
				found = append(found, PM2App{Daemon: d.Name, App: a, Saved: saved})
				return
			}
		}
	}
	if bin := pm2.LookPath(environ); bin != "" && pm2.Running(home) {
		live, err := pm2.List(ctx, bin, environ, desired.Dir)
		if err != nil {
			return nil, err
		}
		for _, a := range live {
			match(a, "")
		}
	}
	saved, err := pm2.ReadDump(home)
	if err != nil {
		return found, err
	}
	for _, a := range saved {
		match(a, pm2.DumpPath(home))
	}
	return found, nil
}

func pm2Findings(apps []PM2App) []Finding {
	var out []Finding
	for _, p := range apps {
		f := Finding{Kind: KindPM2, Daemon: p.Daemon, Expected: "PM2 neither runs nor has saved it (beadsctl runs it)"}
		if p.Saved == "" {
			f.Actual = fmt.Sprintf("PM2 runs app %q (pm_id %d, pid %d, %s) in %s, competing with ours: pm2 delete %s, then pm2 save --force if it is in PM2's saved list",
				p.App.Name, p.App.ID, p.App.Pid, p.App.Status, p.App.Cwd, p.App.Name)
		} else {
			f.Actual = fmt.Sprintf("PM2's saved list %s has app %q (%s in %s): pm2 resurrect, which PM2's boot hook runs, would start a second copy; beadsctl migrate removes it from the list",
				p.Saved, p.App.Name, filepath.Base(p.App.ExecPath), p.App.Cwd)
		}
		out = append(out, f)
	}
	return out
}
