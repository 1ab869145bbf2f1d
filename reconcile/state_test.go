package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beadsctl/beadsctl/schema"
)

func TestStateRoundTrip(t *testing.T) {
	path := StatePath(t.TempDir())
	st, err := ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Applied() {
		t.Fatal("a missing state file reads as applied")
	}
	d := beadsDaemon("beads", func(d *schema.Daemon) { d.Environment["TOKEN"], d.Sensitive = "s3cret", []string{"TOKEN"} })
	st.Env = "production"
	st.Daemons["beads"] = DaemonState{Spec: d, plain: true, Hash: d.Hash, AppliedAt: time.Unix(5, 0).UTC(), Pid: 42}
	if err := writeState(path, st); err != nil {
		t.Fatal(err)
	}
	if st.Serial != 1 || st.Lineage == "" {
		t.Fatalf("serial %d lineage %q after the first write", st.Serial, st.Lineage)
	}
	got, err := ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, got, cmp.AllowUnexported(State{}, DaemonState{})); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), "s3cret") {
		t.Errorf("state holds a sensitive value:\n%s", raw)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if err := writeState(path, got); err != nil {
		t.Fatal(err)
	}
	backup, err := ReadState(path + ".backup")
	if err != nil {
		t.Fatal(err)
	}
	if backup.Serial != 1 || got.Serial != 2 || backup.Lineage != got.Lineage {
		t.Errorf("backup serial %d, state serial %d; lineages %q %q", backup.Serial, got.Serial, backup.Lineage, got.Lineage)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".state-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestReadStateUnusable(t *testing.T) {
	tests := map[string]struct {
		content string
		want    string
	}{
		"truncated":      {`{"format_version":1,"lineage":"x","ser`, "unexpected end of JSON input"},
		"garbage":        {"not json", "invalid character"},
		"future version": {`{"format_version":9,"lineage":"x","serial":1}`, "format_version 9 but this beadsctl reads up to 1"},
		"no lineage":     {`{"format_version":1}`, "lacks format_version or lineage"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := StatePath(t.TempDir())
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, read := range []func(string) (*State, error){ReadState, ReadStateSummary} {
				_, err := read(path)
				if !errors.Is(err, ErrStateCorrupt) {
					t.Fatalf("err = %v, want ErrStateCorrupt", err)
				}
				for _, s := range []string{path, tc.want, "state.json.backup", "beadsctl state reset"} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
			}
		})
	}
}

// TestReadStateSummaryIsWhatStatusShows: the summary holds what status reads
// of ReadState's answer (profile, names, memory limits, pids, stopped and
// destroyed), and refuses to be written.
func TestReadStateSummaryIsWhatStatusShows(t *testing.T) {
	path := StatePath(t.TempDir())
	st := &State{Env: "production", Daemons: map[string]DaemonState{
		"a": {Spec: schema.Daemon{Name: "a", Command: "sleep", Environment: map[string]string{"K": "v"}, Limits: schema.Limits{Memory: 200 << 20}},
			Hash: "h1", Pid: 42, StartTime: time.Unix(1700000000, 0).UTC()},
		"b": {Spec: schema.Daemon{Name: "b", Command: "bd"}, Hash: "h2", Stopped: true, Destroyed: true},
	}}
	st.useKey(temporaryKey(), false)
	if err := writeState(path, st); err != nil {
		t.Fatal(err)
	}
	full, err := ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ReadStateSummary(path)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Env != full.Env || sum.Serial != full.Serial || !slices.Equal(sum.Names(), full.Names()) {
		t.Fatalf("summary %+v, full %+v", sum, full)
	}
	for _, n := range full.Names() {
		f, s := full.Daemons[n], sum.Daemons[n]
		if s.Spec.Name != n || s.Spec.Limits.Memory != f.Spec.Limits.Memory || s.Pid != f.Pid || !s.StartTime.Equal(f.StartTime) ||
			s.Stopped != f.Stopped || s.Destroyed != f.Destroyed || s.Hash != f.Hash {
			t.Errorf("daemon %s: summary %+v, full %+v", n, s, f)
		}
	}
	if err := writeState(path, sum); err == nil {
		t.Error("a summary was written over the state")
	}
}

// TestReadStateSummaryReadsItsFile: writeState leaves the summary beside the
// state, and ReadStateSummary reads it while it is of the state file's
// content; a state file changed by anything else (a hand edit in place, cp of
// the backup over it, at once: same inode, maybe the same size and
// modification time) is read itself, as is one without a summary.
func TestReadStateSummaryReadsItsFile(t *testing.T) {
	path := StatePath(t.TempDir())
	st := &State{Env: "production", Daemons: map[string]DaemonState{
		"a": {Spec: schema.Daemon{Name: "a", Command: "sleep", Limits: schema.Limits{Memory: 200 << 20}}, Hash: "h1", Pid: 42},
	}}
	st.useKey(temporaryKey(), false)
	if err := writeState(path, st); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(summaryPath(path))
	if err != nil {
		t.Fatalf("no summary after writeState: %v", err)
	}
	if fi, err := os.Stat(summaryPath(path)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("summary: %v, mode %v; want 0600", err, fi.Mode())
	}
	// The summary is what is read: one saying "staging" is believed while it
	// names this state file.
	if err := os.WriteFile(summaryPath(path), bytes.Replace(b, []byte(`"env":"production"`), []byte(`"env":"staging"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if sum, err := ReadStateSummary(path); err != nil || sum.Env != "staging" || sum.Daemons["a"].Pid != 42 || sum.Daemons["a"].Spec.Limits.Memory != 200<<20 {
		t.Fatalf("summary file not read: %+v, %v", sum, err)
	}
	// A hand edit of state.json in place (same inode), of another size or of
	// the same size: state.json is read.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, edit := range []struct{ name, from, to string }{
		{"other size", `"env": "production"`, `"env": "prod"`},
		{"same size", `"env": "production"`, `"env": "productiom"`}, // last: read below
	} {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(bytes.Replace(data, []byte(edit.from), []byte(edit.to), 1)); err != nil {
			t.Fatal(err)
		}
		f.Close()
		want := strings.Trim(strings.TrimPrefix(edit.to, `"env": `), `"`)
		if sum, err := ReadStateSummary(path); err != nil || sum.Env != want {
			t.Errorf("%s: summary of an edited state: %+v, %v; want env %q", edit.name, sum, err, want)
		}
	}
	// No summary: state.json is read; a broken one is no error either.
	for _, summary := range []string{"", "{not json"} {
		os.Remove(summaryPath(path))
		if summary != "" {
			os.WriteFile(summaryPath(path), []byte(summary), 0o600)
		}
		if sum, err := ReadStateSummary(path); err != nil || sum.Env != "productiom" {
			t.Errorf("summary %q: %+v, %v; want state.json's env", summary, sum, err)
		}
	}
}

// TestReadStateSummaryStatsTheStateFile: where the system tells a file's
// identity, the summary names state.json by it and ReadStateSummary does
// not read state.json while it is the file written (~0.35 ms of status of
// 50); a state file replaced, edited in place or put back with its times
// kept is read. A summary of an older beadsctl (size and CRC-32 only) is
// still used for the content it names.
func TestReadStateSummaryStatsTheStateFile(t *testing.T) {
	path, st := writeOneDaemonState(t)
	reads := 0
	readStateFile = func(p string) ([]byte, error) { reads++; return os.ReadFile(p) }
	t.Cleanup(func() { readStateFile = os.ReadFile })
	read := func(what, wantEnv string, wantReads int) {
		t.Helper()
		reads = 0
		sum, err := ReadStateSummary(path)
		if err != nil || sum.Env != wantEnv || reads != wantReads {
			t.Errorf("%s: env %q, %v, %d reads of state.json; want env %q, %d reads", what, sum.Env, err, reads, wantEnv, wantReads)
		}
	}
	read("as written", "production", 0)

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// The same bytes put back in place with the times they had: a new change
	// time, so it is read (and is what the summary says).
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, time.Time{}, fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	read("put back with its times", "production", 1)
	// The same bytes in another file: the summary is still of that content,
	// and what it says is used.
	sb, err := os.ReadFile(summaryPath(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(summaryPath(path), bytes.Replace(sb, []byte(`"env":"production"`), []byte(`"env":"staging"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".copy", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".copy", path); err != nil {
		t.Fatal(err)
	}
	read("the same content in another file", "staging", 1)
	// Edited in place, same size.
	if err := os.WriteFile(path, bytes.Replace(data, []byte(`"env": "production"`), []byte(`"env": "productiom"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	read("edited in place", "productiom", 1)
	// Replaced by another file (a rename over it).
	tmp := path + ".new"
	if err := os.WriteFile(tmp, bytes.Replace(data, []byte(`"env": "production"`), []byte(`"env": "productioz"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	read("replaced", "productioz", 1)

	// A summary of size and CRC-32 only, for the content there now: used.
	if err := writeState(path, st); err != nil {
		t.Fatal(err)
	}
	data, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var sum stateSummary
	b, err := os.ReadFile(summaryPath(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil || sum.Of == nil || sum.Of.File == nil {
		t.Fatalf("summary written without the file's identity: %s (%v)", b, err)
	}
	sum.Of.File, sum.Env = nil, "from the summary"
	if b, err = json.Marshal(sum); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(summaryPath(path), b, 0o600); err != nil {
		t.Fatal(err)
	}
	read("an older summary", "from the summary", 1)
	if err := os.WriteFile(path, append(data, ' '), 0o600); err != nil {
		t.Fatal(err)
	}
	read("an older summary of another content", "production", 1)
}

// writeOneDaemonState writes, through writeState, the state of one daemon
// "a" (pid 42) applied with the production profile, in a new folder.
func writeOneDaemonState(t *testing.T) (path string, st *State) {
	t.Helper()
	path = StatePath(t.TempDir())
	st = &State{Env: "production", Daemons: map[string]DaemonState{
		"a": {Spec: schema.Daemon{Name: "a", Command: "sleep"}, Hash: "h1", Pid: 42},
	}}
	st.useKey(temporaryKey(), false)
	if err := writeState(path, st); err != nil {
		t.Fatal(err)
	}
	return path, st
}
