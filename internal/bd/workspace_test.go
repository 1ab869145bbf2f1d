package bd

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFindBeadsDir(t *testing.T) {
	root := t.TempDir()
	mk := func(p string, dir bool) {
		t.Helper()
		p = filepath.Join(root, p)
		if dir {
			if err := os.MkdirAll(p, 0o700); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mk("ws/.beads/beads.db", false)
	mk("ws/sub/deep", true)
	mk("logs-only/.beads/beadsctl-out.log", false) // a .beads/ made for log files
	mk("backup/.beads/beads.db.backup.db", false)
	mk("meta/.beads/metadata.json", false)
	mk("dolt/.beads/dolt", true)
	mk("empty", true)
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for name, c := range map[string]struct {
		dir    string
		getenv func(string) string
		want   string // "" for ErrNoDatabase
	}{
		"workspace":                 {"ws", nil, "ws/.beads"},
		"from a subfolder, as bd":   {"ws/sub/deep", nil, "ws/.beads"},
		"metadata.json":             {"meta", nil, "meta/.beads"},
		"a dolt folder":             {"dolt", nil, "dolt/.beads"},
		"no .beads":                 {"empty", nil, ""},
		"only logs in .beads":       {"logs-only", nil, ""},
		"only a backup":             {"backup", nil, ""},
		"BEADS_DIR":                 {"empty", env("BEADS_DIR", filepath.Join(root, "ws/.beads")), "ws/.beads"},
		"BEADS_DIR not set up":      {"empty", env("BEADS_DIR", filepath.Join(root, "logs-only/.beads")), ""},
		"BEADS_DB names a database": {"empty", env("BEADS_DB", filepath.Join(root, "elsewhere/x.db")), "elsewhere"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := FindBeadsDir(filepath.Join(root, c.dir), c.getenv)
			if c.want == "" {
				if !errors.Is(err, ErrNoDatabase) {
					t.Fatalf("FindBeadsDir = %q, %v; want ErrNoDatabase", got, err)
				}
				return
			}
			want, _ := filepath.EvalSymlinks(filepath.Join(root, filepath.Dir(c.want)))
			want = filepath.Join(want, filepath.Base(c.want))
			if err != nil || got != want {
				t.Fatalf("FindBeadsDir = %q, %v; want %q", got, err, want)
			}
		})
	}
}
