//go:build linux

package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/beadsctl/beadsctl/schema"
)

// sessionProject writes a beads.hcl of the named sleeping daemons in a new folder.
func sessionProject(t *testing.T, names ...string) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	file = filepath.Join(dir, "beads.hcl")
	writeDaemons(t, file, names...)
	return dir, file
}

func writeDaemons(t *testing.T, file string, names ...string) {
	t.Helper()
	var src string
	for _, n := range names {
		src += "daemon \"" + n + "\" {\n  command = \"sleep\"\n  args = [\"1000\"]\n  stop { timeout = \"2s\" }\n}\n"
	}
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// stateOnDisk reads state.json as written (nil when there is none).
func stateOnDisk(t *testing.T, path string) *State {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &st
}

// withSession opens a session, runs f on it, and closes it.
func withSession(t *testing.T, o SessionOptions, f func(s *Session)) {
	t.Helper()
	s, err := OpenSession(t.Context(), o)
	if err != nil {
		t.Fatalf("OpenSession: %v", err)
	}
	defer s.Close()
	f(s)
}

// sessionApply opens a session, plans and applies, and closes it.
func sessionApply(t *testing.T, o SessionOptions) (out []Outcome, err error) {
	t.Helper()
	withSession(t, o, func(s *Session) {
		var p *Plan
		if p, err = s.Plan(t.Context()); err == nil {
			out, err = s.Apply(t.Context(), p, ApplyOptions{Timeout: 10 * time.Second})
		}
	})
	return out, err
}

// sessionPlan opens a session, plans and closes it.
func sessionPlan(t *testing.T, o SessionOptions) (p *Plan) {
	t.Helper()
	withSession(t, o, func(s *Session) {
		var err error
		if p, err = s.Plan(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
	return p
}

func TestSessionWritesStateOncePerApply(t *testing.T) {
	dir, file := sessionProject(t, "a", "b")
	runAgent(t, dir)
	o := SessionOptions{File: file, Command: "apply", Lock: true}
	path := StatePath(dir)
	if _, err := sessionApply(t, o); err != nil {
		t.Fatalf("first apply: %v", err)
	}
	st := stateOnDisk(t, path)
	if st == nil || st.Serial != 1 || len(st.Daemons) != 2 {
		t.Fatalf("after the first apply of two daemons the state is %+v, want serial 1 (one write) with 2 daemons", st)
	}
	if _, err := os.Stat(path + ".backup"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a first write keeps a backup of nothing: %v", err)
	}
	// Nothing to do: nothing is written.
	if _, err := sessionApply(t, o); err != nil {
		t.Fatalf("no-op apply: %v", err)
	}
	if st := stateOnDisk(t, path); st.Serial != 1 {
		t.Errorf("a no-op apply wrote the state (serial %d, want 1)", st.Serial)
	}
	writeDaemons(t, file, "a", "b", "c")
	if _, err := sessionApply(t, o); err != nil {
		t.Fatalf("second apply: %v", err)
	}
	if st := stateOnDisk(t, path); st.Serial != 2 || len(st.Daemons) != 3 {
		t.Errorf("after applying a third daemon the state is serial %d with %d daemons, want 2 and 3", st.Serial, len(st.Daemons))
	}
	if b := stateOnDisk(t, path+".backup"); b == nil || b.Serial != 1 {
		t.Errorf("the backup is %+v, want the state of serial 1", b)
	}
}

func TestSessionStopIsRecordedOnPurpose(t *testing.T) {
	dir, file := sessionProject(t, "a")
	runAgent(t, dir)
	if _, err := sessionApply(t, SessionOptions{File: file, Command: "apply", Lock: true}); err != nil {
		t.Fatal(err)
	}
	for i, verb := range []Verb{VerbStop, VerbStart} {
		s, err := OpenSession(t.Context(), SessionOptions{File: file, Command: "monitor " + string(verb), Lock: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Verb(t.Context(), verb, []string{"a"}, VerbOptions{Timeout: 10 * time.Second}); err != nil {
			t.Fatalf("%s: %v", verb, err)
		}
		s.Close()
		st := stateOnDisk(t, StatePath(dir))
		if got, want := st.Daemons["a"].Stopped, verb == VerbStop; got != want || st.Serial != int64(2+i) {
			t.Errorf("after %s the state records stopped=%v at serial %d, want %v at %d", verb, got, st.Serial, want, 2+i)
		}
	}
}

func TestSessionWritesNothingWhenTheAgentDoesNotAnswer(t *testing.T) {
	dir, file := sessionProject(t, "a")
	_, c, as := startDetached(t, dir)
	t.Cleanup(func() {
		_ = syscall.Kill(as.Pid, syscall.SIGCONT)
		// Not t.Context(): it is done before cleanups run, and a Shutdown
		// under it never reached the agent (which ran on after the test).
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Shutdown(ctx)
	})
	o := SessionOptions{File: file, Command: "apply", Lock: true, AgentTimeout: 500 * time.Millisecond}
	if _, err := sessionApply(t, o); err != nil {
		t.Fatal(err)
	}
	path := StatePath(dir)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(as.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if !allThreadsStopped(as.Pid, 5*time.Second) {
		t.Fatalf("agent pid %d not stopped 5s after SIGSTOP", as.Pid)
	}
	writeDaemons(t, file, "a", "b") // something to apply
	var na *NotAnsweringError
	if _, err := sessionApply(t, o); !errors.As(err, &na) {
		t.Errorf("apply with a stopped agent: %v, want NotAnsweringError", err)
	}
	for _, verb := range []Verb{VerbStop, VerbRestart} {
		s, err := OpenSession(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Verb(t.Context(), verb, nil, VerbOptions{}); !errors.As(err, &na) {
			t.Errorf("%s with a stopped agent: %v, want NotAnsweringError", verb, err)
		}
		if err := s.Destroy(t.Context(), nil); !errors.As(err, &na) {
			t.Errorf("destroy with a stopped agent: %v, want NotAnsweringError", err)
		}
		s.Close()
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Errorf("the state changed while the agent did not answer:\nbefore %s\nafter %s", before, after)
	}
}

// TestSessionStickyProfile: a session that is not told a profile uses the
// one applied last, as the state says once the lock is held (an apply under
// another profile may have run while it waited), and an apply that switches
// profile with nothing to change records the switch.
func TestSessionStickyProfile(t *testing.T) {
	dir, file := sessionProject(t, "a")
	src, _ := os.ReadFile(file)
	// staging changes nothing: switching to it has no change to make.
	src = append(src, []byte("env \"production\" {\n  daemon \"a\" {\n    environment = { MODE = \"prod\" }\n  }\n}\nenv \"staging\" {\n  daemon \"a\" {\n    environment = { MODE = \"prod\" }\n  }\n}\n")...)
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	runAgent(t, dir)
	path := StatePath(dir)
	if _, err := sessionApply(t, SessionOptions{File: file, Profile: "production", Command: "apply", Lock: true}); err != nil {
		t.Fatalf("apply --env production: %v", err)
	}
	open := func(o SessionOptions) *Session {
		t.Helper()
		s, err := OpenSession(t.Context(), o)
		if err != nil {
			t.Fatalf("OpenSession: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	if s := open(SessionOptions{File: file, StickyProfile: true, Profile: "ignored"}); s.Config().Env != "production" {
		t.Errorf("a sticky session loads profile %q, want production (applied last)", s.Config().Env)
	}
	if _, err := sessionApply(t, SessionOptions{File: file, Profile: "staging", Command: "apply", Lock: true}); err != nil {
		t.Fatalf("apply --env staging: %v", err)
	}
	if st := stateOnDisk(t, path); st.Env != "staging" || st.Serial != 2 {
		t.Errorf("switching to a profile with nothing to change: state env %q serial %d, want staging, 2", st.Env, st.Serial)
	}
	// Another apply switches the profile between the sticky session's first
	// load and its lock: its first Load runs that apply.
	var loads []string
	s := open(SessionOptions{File: file, StickyProfile: true, Command: "apply", Lock: true,
		Load: func(profile string) (*schema.Config, error) {
			loads = append(loads, profile)
			if len(loads) == 1 {
				if _, err := sessionApply(t, SessionOptions{File: file, Profile: "production", Command: "apply", Lock: true}); err != nil {
					t.Fatalf("apply --env production: %v", err)
				}
			}
			return loadSilently(file, profile, nil)
		}})
	if s.Config().Env != "production" || !slices.Equal(loads, []string{"staging", "production"}) {
		t.Errorf("a sticky session loaded %q (profiles %q), want production: applied while it waited for the lock", s.Config().Env, loads)
	}
}

// TestSessionLoadsOnceWhenNothingChanged: with the lock free and the files
// as they were, beads.hcl is parsed once and state.json read once (a
// 1,000-daemon apply did both twice); a beads.hcl rewritten between the
// first load and the lock is loaded again under it.
func TestSessionLoadsOnceWhenNothingChanged(t *testing.T) {
	_, file := sessionProject(t, "a")
	var loads int
	count := func(profile string) (*schema.Config, error) { return loadSilently(file, profile, nil) }
	parse := schemaLoad
	t.Cleanup(func() { schemaLoad = parse })
	schemaLoad = func(file, profile string, environ []string) (*schema.Config, map[string]*hcl.File, hcl.Diagnostics) {
		loads++
		return parse(file, profile, environ)
	}
	s, err := OpenSession(t.Context(), SessionOptions{File: file, StickyProfile: true, Command: "apply", Lock: true, Load: count})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if loads != 1 {
		t.Errorf("beads.hcl parsed %d times with the lock free and nothing changed, want 1", loads)
	}
	loads = 0
	s, err = OpenSession(t.Context(), SessionOptions{File: file, StickyProfile: true, Command: "apply", Lock: true,
		Load: func(profile string) (*schema.Config, error) {
			cfg, err := count(profile)
			if loads == 1 {
				writeDaemons(t, file, "a", "b") // saved while this apply took the lock
			}
			return cfg, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := len(s.Config().Daemons); n != 2 {
		t.Errorf("beads.hcl rewritten before the lock: the session has %d daemons, want the 2 of the file as it is under the lock", n)
	}
}

// A plan's status is asked for while the state is decoded (Prefetch); when
// an apply rewrites state.json in the meantime, the session reads it again
// and asks the agent again: an answer older than the state would show a
// daemon just applied as one the agent does not run.
func TestSessionPrefetchIsNeverOlderThanTheState(t *testing.T) {
	dir, file := sessionProject(t, "a")
	runAgent(t, dir)
	if _, err := sessionApply(t, SessionOptions{File: file, Command: "apply", Lock: true}); err != nil {
		t.Fatal(err)
	}
	applied := false
	p := sessionPlan(t, SessionOptions{File: file, StickyProfile: true, Command: "plan", Prefetch: true,
		Load: func(profile string) (*schema.Config, error) {
			if !applied { // after the state was read and the status asked for
				applied = true
				writeDaemons(t, file, "a", "b")
				if _, err := sessionApply(t, SessionOptions{File: file, Command: "apply", Lock: true}); err != nil {
					t.Fatalf("apply of b while plan loads: %v", err)
				}
			}
			return loadSilently(file, profile, nil)
		}})
	for _, c := range p.Changes {
		if !c.Is(ActionNoop) {
			t.Errorf("%s: %v (%s), want no change: it was applied, and the agent runs it", c.Address, c.Actions, c.Reason)
		}
	}
	if len(p.Changes) != 2 {
		t.Errorf("the plan has %d changes, want a and b", len(p.Changes))
	}
}

// Unchanged, the prefetched answer is the one Observe uses.
func TestSessionPrefetchIsUsed(t *testing.T) {
	dir, file := sessionProject(t, "a")
	runAgent(t, dir)
	if _, err := sessionApply(t, SessionOptions{File: file, Command: "apply", Lock: true}); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSession(t.Context(), SessionOptions{File: file, StickyProfile: true, Command: "plan", Prefetch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pre := s.pre
	if pre == nil {
		t.Fatal("no status asked for ahead of Observe")
	}
	live, err := s.Observe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s.Client() != pre.client || !live.AgentUp || live.Daemons["a"].Pid == 0 {
		t.Errorf("Observe did not use the answer asked for ahead (client reused %v, agent up %v, a %+v)", s.Client() == pre.client, live.AgentUp, live.Daemons["a"])
	}
}
