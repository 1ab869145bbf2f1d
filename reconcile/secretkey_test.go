package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/schema"
)

// TestStateValuesAreKeyed is issue 13 item 12: environment values were
// recorded as unsalted sha256, so a short secret could be found by hashing a
// dictionary. They are HMAC-SHA256 with a per-project key now, in a file of
// its own (0600) that state.json and its backup never contain.
func TestStateValuesAreKeyed(t *testing.T) {
	write := func(dir string) (raw string, key []byte) {
		path := StatePath(dir)
		st, err := ReadState(path)
		if err != nil {
			t.Fatal(err)
		}
		d := beadsDaemon("beads", func(d *schema.Daemon) {
			d.Environment["TOKEN"], d.Environment["PLAIN"], d.Sensitive = "hunter2", "visible", []string{"TOKEN"}
		})
		st.Daemons["beads"] = DaemonState{Spec: d, plain: true, Hash: d.Hash}
		if err := writeState(path, st); err != nil {
			t.Fatal(err)
		}
		if err := writeState(path, st); err != nil { // and a backup
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		backup, _ := os.ReadFile(path + ".backup")
		keyFile := filepath.Join(dir, agentapi.StateDir, SecretKeyName)
		fi, err := os.Stat(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
		}
		kb, _ := os.ReadFile(keyFile)
		for _, f := range []string{string(b), string(backup)} {
			if strings.Contains(f, strings.TrimSpace(string(kb))) {
				t.Error("the state holds the key")
			}
		}
		return string(b) + string(backup), st.key
	}
	dir1, dir2 := t.TempDir(), t.TempDir()
	raw1, key1 := write(dir1)
	raw2, _ := write(dir2)

	sum := sha256.Sum256([]byte("hunter2"))
	if strings.Contains(raw1, hex.EncodeToString(sum[:])) {
		t.Error("the state holds the unkeyed sha256 of the secret: a dictionary finds it")
	}
	keyed := hashValue(key1, "hunter2")
	if !strings.Contains(raw1, `"TOKEN": "`+keyed+`"`) {
		t.Errorf("TOKEN is not recorded as %s:\n%s", keyed, raw1)
	}
	if strings.Contains(raw2, keyed) {
		t.Error("two projects record the same value alike: the key is not per project")
	}
	if !strings.Contains(raw1, `"PLAIN": "visible"`) || !strings.Contains(raw1, `"environment_plain": true`) {
		t.Errorf("a value that is not sensitive is not recorded as it is (plan shows it old -> new):\n%s", raw1)
	}
	// Read back, the recorded value is the declared one, and another is not.
	st, err := ReadState(StatePath(dir1))
	if err != nil {
		t.Fatal(err)
	}
	d := beadsDaemon("beads", func(d *schema.Daemon) {
		d.Environment["TOKEN"], d.Environment["PLAIN"], d.Sensitive = "hunter2", "visible", []string{"TOKEN"}
	})
	rec := st.Daemons["beads"]
	if attrs := st.DiffDaemons(&rec, &d); len(attrs) != 0 {
		t.Errorf("unchanged value reads as changed: %+v", attrs)
	}
	d.Environment["TOKEN"] = "hunter3"
	if attrs := st.DiffDaemons(&rec, &d); len(attrs) != 1 || attrs[0].Path != "environment.TOKEN" {
		t.Errorf("changed value: %+v", attrs)
	}
}

// TestStateUnkeyedHashesStillRead: a state.json of an older beadsctl
// (values as "sha256:...") is read as it was — the same value is unchanged —
// and the next apply writes it keyed (Rekey), since the declared daemon with
// the same hash holds the real values; a value that is not sensitive is then
// written as it is.
func TestStateUnkeyedHashesStillRead(t *testing.T) {
	dir := t.TempDir()
	path := StatePath(dir)
	d := beadsDaemon("beads", func(d *schema.Daemon) {
		d.Environment["TOKEN"], d.Environment["PLAIN"], d.Sensitive = "hunter2", "visible", []string{"TOKEN"}
	})
	old := cloneSpec(d)
	for k, v := range old.Environment {
		sum := sha256.Sum256([]byte(v))
		old.Environment[k] = "sha256:" + hex.EncodeToString(sum[:])
	}
	if err := writeState(path, &State{Daemons: map[string]DaemonState{"beads": {Spec: old, Hash: d.Hash}}}); err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	rec := st.Daemons["beads"]
	if attrs := st.DiffDaemons(&rec, &d); len(attrs) != 0 {
		t.Errorf("an old unkeyed hash of the same value reads as changed: %+v", attrs)
	}
	st.Rekey(&d)
	if err := writeState(path, st); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), `"sha256:`) || !strings.Contains(string(b), `"TOKEN": "hmac-sha256:`) || !strings.Contains(string(b), `"PLAIN": "visible"`) {
		t.Errorf("not rewritten keyed (TOKEN) and as it is (PLAIN):\n%s", b)
	}
}

// TestSecretKeyCreatedOnce: processes creating the key at once agree on it.
func TestSecretKeyCreatedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), agentapi.StateDir, SecretKeyName)
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := ensureKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if string(k) != string(keys[0]) || len(k) != 32 {
			t.Fatalf("keys differ: %x %x", keys[0], k)
		}
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*"))
	if len(left) != 1 {
		t.Errorf("files left beside the key: %v", left)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a key readable by others: %v", err)
	}
}
