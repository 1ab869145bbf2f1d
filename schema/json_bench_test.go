package schema

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/beadsctl/beadsctl/internal/jsoncodec"
)

// BenchmarkDaemonJSON decodes the JSON of 1,000 resolved daemons (what
// ReadState decodes from state.json, the spec of each).
func BenchmarkDaemonJSON(b *testing.B) {
	path := filepath.Join(b.TempDir(), "beads.hcl")
	if err := os.WriteFile(path, benchSource(1000), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, _, diags := Load(path, "production", nil)
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	src, err := json.Marshal(cfg.Daemons)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		b.ReportAllocs()
		for b.Loop() {
			var ds []Daemon
			if err := json.Unmarshal(src, &ds); err != nil {
				b.Fatal(err)
			}
		}
	})
	// ReadDaemonJSON, as ReadState reads the specs (strings cut from the
	// buffer).
	b.Run("jsoncodec", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		b.ReportAllocs()
		for b.Loop() {
			var ds []Daemon
			err := jsoncodec.UnmarshalShared(src, func(d *jsoncodec.Decoder) {
				jsoncodec.Slice(d, &ds, func(v *Daemon) { ReadDaemonJSON(d, v) })
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
