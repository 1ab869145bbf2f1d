package reconcile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadState: the state file decoder never panics. A file it accepts has a
// known format_version, a lineage and a daemon map, and survives a write and a
// read back with its serial one higher; a file it refuses gives an
// ErrStateCorrupt naming the file and the way out (never a fresh state).
func FuzzReadState(f *testing.F) {
	for _, s := range []string{
		`{"format_version":1,"lineage":"6b9e1c7e-2d0c-4e55-9d0e-0c7f4a9f0b11","serial":3,"env":"production","config_hash":"ab","daemons":{"beads":{"spec":{"name":"beads","command":"bd","args":["daemon"],"environment":{"K":"sha256:00"}},"hash":"h","applied_at":"2026-11-26T05:44:30Z","pid":42,"start_time":"2026-11-26T05:44:30.12Z","argv":["bd"],"dir":"/w"}}}`,
		`{"format_version":1,"lineage":"x","serial":1,"daemons":null}`,
		`{"format_version":99,"lineage":"x"}`,
		`{"format_version":0,"lineage":"x"}`,
		`{"format_version":1}`,
		`{"format_version":1,"lineage":"x","daemons":{"a":{"pid":-1,"start_time":"not a time"}}}`,
		`{"format_version":1,"lineage":"x","serial":-9223372036854775808}`,
		`{"format_version":1e400}`,
		`{"format_version": 1, "lineage": 42, "daemons": [[[`,
		`null`, `[]`, ``, "\x00\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := ReadState(path)
		if err != nil {
			if st != nil || !errors.Is(err, ErrStateCorrupt) || !strings.Contains(err.Error(), path) ||
				!strings.Contains(err.Error(), "beadsctl state reset") {
				t.Fatalf("refused %q with %v (state %v), want ErrStateCorrupt naming the file and the way out", b, err, st)
			}
			return
		}
		if st.FormatVersion < 1 || st.FormatVersion > StateFormatVersion || st.Lineage == "" || st.Daemons == nil {
			t.Fatalf("accepted %q as %+v", b, st)
		}
		serial := st.Serial
		if err := writeState(path, st); err != nil {
			t.Fatalf("write back %q: %v", b, err)
		}
		again, err := ReadState(path)
		if err != nil || again.Serial != serial+1 || again.Lineage != st.Lineage {
			t.Fatalf("read back %q: %+v, %v; want serial %d", b, again, err, serial+1)
		}
	})
}
