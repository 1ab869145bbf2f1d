package pm2

import (
	"maps"
	"slices"
)

// StartedEnv is the NAME of `pm2 start FILE --env NAME` that the app was
// started with, as far as PM2's list tells it. PM2 keeps no such name: it
// merges the file's env_NAME object over env (lib/Common.js,
// mergeEnvironmentVariables) into pm2_env.env, the environment the app gets,
// and keeps every env_NAME object in pm2_env. The profile is the one whose
// variables the app got, every one with the same value. When several fit,
// the one with the most variables is taken (one that sets a subset of
// another's tells nothing); ties are the others that fit as well as it does.
// "" when none fits: started without --env, or with a NAME the file lacks
// (PM2 then only warns). A profile that sets nothing never fits.
func (a App) StartedEnv() (name string, ties []string) {
	best := -1
	for _, n := range slices.Sorted(maps.Keys(a.Profiles)) {
		vars := a.Profiles[n]
		if len(vars) == 0 || !a.got(vars) {
			continue
		}
		switch {
		case len(vars) > best:
			name, best, ties = n, len(vars), nil
		case len(vars) == best:
			ties = append(ties, n)
		}
	}
	return name, ties
}

// got reports whether the app's environment holds every variable of vars
// with its value.
func (a App) got(vars map[string]string) bool {
	for k, v := range vars {
		if got, ok := a.Env[k]; !ok || got != v {
			return false
		}
	}
	return true
}
