package migrate

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
)

// startedWith says how PM2 started the app: with which --env.
func (o OldDaemon) startedWith() string {
	switch {
	case o.Env == "":
		return "started without --env"
	case len(o.EnvTies) > 0:
		return fmt.Sprintf("started with --env %s (or %s: their variables are the same)", o.Env, strings.Join(o.EnvTies, ", "))
	}
	return "started with --env " + o.Env
}

// chooseProfile is the profile migrate applies, and why: the one chosen
// (o.ProfileSet: --env, --no-env, BEADSCTL_ENV); else the --env PM2 started
// the app with (its env_NAME is the beads.hcl profile NAME that import pm2
// writes), so the daemon keeps the environment PM2 gave it; else the profile
// applied last in the project (the applied profile sticks); else none.
func chooseProfile(o Options, det Detection) (name, why string) {
	switch old := det.Old; {
	case o.ProfileSet && o.ProfileSource != "":
		return o.Profile, "chosen with " + o.ProfileSource
	case o.ProfileSet:
		return o.Profile, "as chosen"
	case old != nil && old.Manager == "pm2" && old.Env != "":
		return old.Env, "PM2 ran it with --env " + old.Env
	case old != nil && old.Manager == "pm2":
		return "", "PM2 ran it without --env"
	}
	if name, applied, err := reconcile.AppliedProfile(o.Dir); err == nil && applied {
		return name, "applied last"
	}
	return "", ""
}

// profileNote is the profile as the steps name it: " with profile production
// (PM2 ran it with --env production)"; "" for none that nothing chose.
func profileNote(name, why string) string {
	if name == "" && why == "" {
		return ""
	}
	s := " with " + reconcile.DescribeProfile(name)
	if why != "" {
		s += " (" + why + ")"
	}
	return s
}

// checkProfile refuses a profile that beads.hcl (base, loaded without one)
// does not declare, saying where it came from and the ways out.
func checkProfile(base *schema.Config, name, why string) error {
	if name == "" || slices.Contains(base.Profiles, name) {
		return nil
	}
	known := "it declares no profile"
	if len(base.Profiles) > 0 {
		known = "it declares " + strings.Join(base.Profiles, ", ")
	}
	return fmt.Errorf("%s, but %s declares no profile %q (%s): add env %q { ... } to it, or choose one with --env NAME (--no-env for the base blocks)",
		why, base.Path, name, known, name)
}

// envStep compares the environment the new daemon d gets with the one PM2
// gave the old app: every variable beads.hcl sets for d, and every variable of
// the env_NAME PM2 merged (--env NAME). Values of d's sensitive keys are never
// shown. planned: under --dry-run, what it will get.
func envStep(old *OldDaemon, d *schema.Daemon, planned bool) Step {
	keys := map[string]bool{}
	for k := range d.Environment {
		keys[k] = true
	}
	for k := range old.pm2.Profiles[old.Env] {
		keys[k] = true
	}
	var same, differ []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		show := func(v string, ok bool) string {
			switch {
			case !ok:
				return "unset"
			case slices.Contains(d.Sensitive, k):
				return reconcile.Sensitive
			}
			return v
		}
		ours, ok := d.Environment[k]
		theirs, had := old.pm2.Env[k]
		if ok == had && ours == theirs {
			same = append(same, k+"="+show(ours, ok))
			continue
		}
		differ = append(differ, fmt.Sprintf("%s (PM2 %s, beads.hcl %s)", k, show(theirs, had), show(ours, ok)))
	}
	verb := "gets"
	if !planned {
		verb = "got"
	}
	if len(differ) == 0 {
		return Step{Name: "environment", OK: true, Detail: fmt.Sprintf("daemon %q %s the environment PM2 gave %q: %s",
			d.Name, verb, old.App, orDefault(strings.Join(same, ", "), "no variable set by the file"))}
	}
	detail := fmt.Sprintf("daemon %q %s another environment than PM2 gave %q, as beads.hcl and the profile say: %s",
		d.Name, verb, old.App, strings.Join(differ, ", "))
	if len(same) > 0 {
		detail += "; the same: " + strings.Join(same, ", ")
	}
	return Step{Name: "environment", OK: true, Detail: detail}
}

// beadsDaemon is cfg's daemon named name, or its first bd daemon when name is "".
func beadsDaemon(cfg *schema.Config, name string) *schema.Daemon {
	for i := range cfg.Daemons {
		if d := &cfg.Daemons[i]; d.Name == name || name == "" && d.IsBeads() {
			return d
		}
	}
	return nil
}
