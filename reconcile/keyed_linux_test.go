package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/schema"
	"github.com/beadsctl/beadsctl/supervisor"
)

// secretProject writes a beads.hcl of one sleeping daemon whose TOKEN is
// secret (a short one, as a dictionary would find).
func secretProject(t *testing.T, dir, secret string) string {
	t.Helper()
	file := filepath.Join(dir, "beads.hcl")
	src := "daemon \"web\" {\n  command = \"sleep\"\n  args = [\"1000\"]\n  environment = { TOKEN = \"" + secret +
		"\", MODE = \"prod\" }\n  sensitive = [\"TOKEN\"]\n  stop { timeout = \"2s\" }\n}\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// runLoggedAgent runs an agent in dir that logs into .beadsctl/agent.log as
// `beadsctl agent` does.
func runLoggedAgent(t *testing.T, dir string) {
	t.Helper()
	logf, err := supervisor.OpenAgentLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() }) // after the agent stops (cleanups run last first)
	runAgentWith(t, supervisor.AgentOptions{Dir: dir, Version: "test", Logger: slog.New(slog.NewJSONHandler(logf, nil))})
}

// guesses are the unkeyed digests a dictionary attack computes for a guess
// of the secret, knowing beads.hcl (in the repository) but not the key: the
// value's sha256, its KEY=VALUE line's, the daemon's schema hash, the
// config's hash and the environment's digest.
func guesses(t *testing.T, file, secret string) map[string]string {
	t.Helper()
	cfg, _, diags := schema.Load(file, "", nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	d := cfg.Daemons[0]
	hex256 := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	return map[string]string{
		"sha256 of the value":        hex256(secret),
		"sha256 of TOKEN=value":      hex256("TOKEN=" + secret),
		"unkeyed daemon hash":        schema.HashDaemon(&d),
		"unkeyed config hash":        ConfigHash(cfg),
		"unkeyed environment digest": unkeyedEnvDigest(d.Environment),
	}
}

// TestNoRecordedFileHoldsAnUnkeyedDigest is issue 13 item 12 (second round):
// environment values were keyed, but the daemon's hash (state `hash`, the
// agent's `spec_hash`, config_hash, saved plans) and the environment's hash
// (`env_hash`, from the agent) still covered the secret unkeyed, so a
// dictionary found a short one from any of these files. Every one is keyed
// now: no file beadsctl writes holds a digest a guess can reproduce.
func TestNoRecordedFileHoldsAnUnkeyedDigest(t *testing.T) {
	dir := t.TempDir()
	file := secretProject(t, dir, "hunter2")
	runLoggedAgent(t, dir)
	o := SessionOptions{File: file, Command: "apply", Lock: true}
	if _, err := sessionApply(t, o); err != nil {
		t.Fatalf("apply: %v", err)
	}
	plans := filepath.Join(t.TempDir(), "plans")
	if err := os.Mkdir(plans, 0o700); err != nil {
		t.Fatal(err)
	}
	savePlan := func(name string) *Plan {
		p := sessionPlan(t, SessionOptions{File: file, Command: "plan", Lock: true})
		b, _ := json.MarshalIndent(p, "", "  ")
		if err := os.WriteFile(filepath.Join(plans, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := savePlan("nochange.json"); p.HasChanges() {
		t.Fatalf("a plan right after apply has changes: %+v", p.Changes)
	}
	// The secret changes: a saved plan shows the daemon before and after,
	// the apply restarts it (the agent logs its new spec).
	secretProject(t, dir, "hunter3")
	if p := savePlan("change.json"); !p.HasChanges() {
		t.Fatal("a changed secret plans no change")
	}
	if _, err := sessionApply(t, o); err != nil {
		t.Fatalf("second apply: %v", err)
	}
	if _, err := sessionVerb(t, SessionOptions{File: file, Command: "restart", Lock: true}, VerbRestart); err != nil {
		t.Fatalf("restart: %v", err)
	}

	files := map[string]string{}
	for _, glob := range []string{filepath.Join(dir, agentapi.StateDir, "*"), filepath.Join(plans, "*")} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() || filepath.Base(p) == SecretKeyName {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files[filepath.Base(p)] = string(b)
		}
	}
	for _, want := range []string{"state.json", "state.json.backup", "agent.json", "agent.log", agentapi.EventsFile, "nochange.json", "change.json"} {
		if _, ok := files[want]; !ok {
			t.Fatalf("no %s among the recorded files %v", want, keysOf(files))
		}
	}
	for _, secret := range []string{"hunter2", "hunter3"} {
		// The attacker's own copy of beads.hcl, elsewhere: the schema hash does
		// not depend on where a project is checked out.
		g := guesses(t, secretProject(t, t.TempDir(), secret), secret)
		for name, body := range files {
			if strings.Contains(body, secret) {
				t.Errorf("%s holds the secret %q in clear", name, secret)
			}
			for what, h := range g {
				if strings.Contains(body, h) {
					t.Errorf("%s holds the %s of %q (%s): a dictionary finds the secret", name, what, secret, h)
				}
			}
		}
	}
	// What is recorded is keyed, and the agent reports what the state records.
	st := stateOnDisk(t, StatePath(dir))
	ds := st.Daemons["web"]
	var rec agentapi.AgentStatus
	if err := json.Unmarshal([]byte(files["agent.json"]), &rec); err != nil {
		t.Fatalf("agent.json: %v", err)
	}
	var agentWeb agentapi.Status
	for _, s := range rec.Daemons {
		if s.Name == "web" {
			agentWeb = s
		}
	}
	// agent.json is written paced (up to a second behind a change), so it
	// may still describe the spec before the restart: its digests must be
	// keyed; what the agent reports now is asked of the agent itself.
	c := Dial(dir)
	defer c.Close()
	live, err := c.Status(t.Context())
	if err != nil {
		t.Fatalf("the agent's status: %v", err)
	}
	var liveWeb agentapi.Status
	for _, s := range live.Daemons {
		if s.Name == "web" {
			liveWeb = s
		}
	}
	for what, h := range map[string]string{"hash": ds.Hash, "spec.hash": ds.Spec.Hash, "env_hash": ds.EnvHash,
		"agent.json's spec_hash": agentWeb.SpecHash, "agent.json's env_hash": agentWeb.EnvHash,
		"agent's spec_hash": liveWeb.SpecHash, "agent's env_hash": liveWeb.EnvHash} {
		if !strings.HasPrefix(h, keyedPrefix) {
			t.Errorf("%s = %q, want a keyed %s... digest", what, h, keyedPrefix)
		}
	}
	if liveWeb.SpecHash != ds.Hash || liveWeb.EnvHash != ds.EnvHash {
		t.Errorf("the agent reports spec %s env %s, the state records %s %s", liveWeb.SpecHash, liveWeb.EnvHash, ds.Hash, ds.EnvHash)
	}
}

// sessionVerb opens a session, runs verb on every daemon, and closes it.
func sessionVerb(t *testing.T, o SessionOptions, verb Verb) ([]Outcome, error) {
	t.Helper()
	s, err := OpenSession(t.Context(), o)
	if err != nil {
		t.Fatalf("OpenSession: %v", err)
	}
	defer s.Close()
	return s.Verb(t.Context(), verb, nil, VerbOptions{Timeout: 10 * time.Second})
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestUnkeyedStateAndAgentReadAsUnchanged: after an upgrade, a state.json
// and a running agent that recorded the daemon's hash and environment hash
// unkeyed (the way beadsctl did before) describe what beads.hcl declares:
// plan says no changes and drift finds nothing (no restart). The next apply
// writes the state again, keyed, and touches no process.
func TestUnkeyedStateAndAgentReadAsUnchanged(t *testing.T) {
	for name, valuesKeyed := range map[string]bool{
		"before any key (values sha256, no secret.key)": false,
		"values keyed, digests not (the first round)":   true,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			file := secretProject(t, dir, "hunter2")
			runAgent(t, dir)
			cfg, _, diags := schema.Load(file, "", nil)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			d := cfg.Daemons[0]
			// The agent of the older beadsctl: the spec's hash as schema makes
			// it, the environment's as the supervisor hashed it.
			c := Dial(dir)
			defer c.Close()
			old := SpecFor(d, "", nil)
			if old.Hash != schema.HashDaemon(&d) || old.EnvHash != unkeyedEnvDigest(d.Environment) {
				t.Fatalf("SpecFor without a key is not the older spec: %s %s", old.Hash, old.EnvHash)
			}
			if _, err := c.Put(t.Context(), old); err != nil {
				t.Fatal(err)
			}
			s, err := c.Wait(t.Context(), "web", WaitFor{Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			// Its state.json, as it wrote it.
			spec := cloneSpec(d)
			var key []byte
			if valuesKeyed {
				if key, err = ensureKey(filepath.Join(dir, agentapi.StateDir, SecretKeyName)); err != nil {
					t.Fatal(err)
				}
			}
			for k, v := range spec.Environment {
				if valuesKeyed {
					spec.Environment[k] = hashValue(key, v)
				} else {
					sum := sha256.Sum256([]byte(v))
					spec.Environment[k] = unkeyedPrefix + hex.EncodeToString(sum[:])
				}
			}
			legacy := State{FormatVersion: 1, Lineage: "old-lineage", Serial: 4, ConfigHash: ConfigHash(cfg),
				Daemons: map[string]DaemonState{"web": {Spec: spec, Hash: d.Hash, AppliedAt: time.Unix(1, 0).UTC(),
					Pid: s.Pid, StartTime: s.StartTime, Argv: s.Argv, Dir: s.Dir, EnvHash: s.EnvHash}}}
			b, _ := json.MarshalIndent(legacy, "", "  ")
			if err := os.MkdirAll(filepath.Join(dir, agentapi.StateDir), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(StatePath(dir), b, 0o600); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), schema.HashDaemon(&d)) || !strings.Contains(string(b), unkeyedEnvDigest(d.Environment)) {
				t.Fatal("the older state does not hold the unkeyed digests")
			}

			unchanged := func(when string, lock bool) {
				t.Helper()
				sess, err := OpenSession(t.Context(), SessionOptions{File: file, Command: "plan", Lock: lock})
				if err != nil {
					t.Fatal(err)
				}
				defer sess.Close()
				p, err := sess.Plan(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if p.HasChanges() {
					t.Errorf("%s: plan has changes: %+v", when, p.Changes)
				}
				if fs := Findings(sess.Config(), sess.Live(), false); HasDrift(fs) {
					t.Errorf("%s: drift: %+v", when, fs)
				}
			}
			unchanged("the older state and agent, read-only", false)
			unchanged("the older state and agent, under the lock", true)

			if _, err := sessionApply(t, SessionOptions{File: file, Command: "apply", Lock: true}); err != nil {
				t.Fatalf("apply: %v", err)
			}
			after, _ := os.ReadFile(StatePath(dir))
			for what, h := range guesses(t, file, "hunter2") {
				if strings.Contains(string(after), h) {
					t.Errorf("after apply the state still holds the %s (%s)", what, h)
				}
			}
			if st := stateOnDisk(t, StatePath(dir)); st.Serial != 5 || st.Daemons["web"].Pid != s.Pid {
				t.Errorf("apply wrote serial %d pid %d, want 5 and the same pid %d (nothing restarted)", st.Serial, st.Daemons["web"].Pid, s.Pid)
			}
			if now, err := c.Wait(t.Context(), "web", WaitFor{Timeout: 10 * time.Second}); err != nil || now.Pid != s.Pid || now.Restarts != 0 {
				t.Errorf("the daemon was touched: pid %d restarts %d (was %d), %v", now.Pid, now.Restarts, s.Pid, err)
			}
			unchanged("after the apply that keyed the state", false)
		})
	}
}
