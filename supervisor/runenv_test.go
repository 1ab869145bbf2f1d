package supervisor

import (
	"slices"
	"strings"
	"testing"
)

// TestLoopBaseEnvFollowsTheSpec: the environment kept for the next run is
// buildEnv's for the spec's Env and Beads, whatever changed since (a value,
// a key, the map edited in place, Beads), and is not built again for the
// same.
func TestLoopBaseEnvFollowsTheSpec(t *testing.T) {
	lookup := func(k string) (string, bool) {
		if k == "PATH" {
			return "/bin", true
		}
		return "", false
	}
	d := NewDaemon(Spec{Name: "x", Argv: []string{"x"}, Env: map[string]string{"A": "1"}}, DaemonOptions{LookupEnv: lookup})
	l := &loop{d: d}
	spec := d.Spec()
	first := l.baseEnv(spec)
	if again := l.baseEnv(spec); &again[0] != &first[0] {
		t.Error("the same spec's environment was built again")
	}
	edited := map[string]string{"A": "3"}
	for _, step := range []struct {
		what string
		edit func(*Spec)
	}{
		{"a value changed", func(s *Spec) { s.Env = map[string]string{"A": "2"} }},
		{"a key added", func(s *Spec) { s.Env = map[string]string{"A": "2", "B": "1"} }},
		{"a new map", func(s *Spec) { s.Env = edited }},
		{"the map edited in place", func(s *Spec) { edited["A"] = "4" }},
		{"Beads", func(s *Spec) { s.Beads = true }},
		{"no Env", func(s *Spec) { s.Env = nil }},
	} {
		step.edit(&spec)
		if got, want := l.baseEnv(spec), buildEnv(spec, lookup); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", step.what, got, want)
		}
	}
}

// TestNewRunMarkers: each run's marker is its daemon's name and a random
// part; the one drawn ahead (after the last fork) is used once.
func TestNewRunMarkers(t *testing.T) {
	d := NewDaemon(Spec{Name: "x", Argv: []string{"x"}}, DaemonOptions{})
	l := &loop{d: d}
	l.nextRand = "ahead"
	if r := l.newRun(d.Spec()); r.marker != "x/ahead" || !slices.Contains(r.env, DaemonMarkerEnv+"=x/ahead") {
		t.Errorf("marker %q (env %q), want the one drawn ahead", r.marker, r.env)
	}
	seen := map[string]bool{}
	for range 3 {
		r := l.newRun(d.Spec())
		rnd, ok := strings.CutPrefix(r.marker, "x/")
		if !ok || len(rnd) != 16 || rnd == "ahead" || seen[rnd] {
			t.Errorf("marker %q: want x/ and a fresh random part", r.marker)
		}
		seen[rnd] = true
	}
}
