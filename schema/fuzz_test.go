package schema

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzLoad feeds arbitrary files to the loader under no profile, an unknown
// one and a declared one: it must never panic, a Config comes back exactly
// when there is no error, and the configuration cache's codec gives it back
// reflect.DeepEqual. The seed corpus (testdata/fuzz/FuzzLoad,
// plus the examples) runs in every go test.
func FuzzLoad(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "examples", "*.hcl"))
	paths = append(paths, filepath.Join("..", "beads.hcl"), filepath.Join("testdata", "five-mistakes.hcl"), filepath.Join("testdata", "cache-every-block.hcl"))
	for _, p := range paths {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src, "production")
		}
	}
	f.Fuzz(func(t *testing.T, src []byte, profile string) {
		for _, p := range []string{"", profile} {
			cfg, _, files, diags := load(src, "beads.hcl", "/project/beads.hcl", p, []string{"HOME=/home/u"}, nil)
			if diags.HasErrors() != (cfg == nil) {
				t.Fatalf("profile %q: errors %v but config %v", p, diags.HasErrors(), cfg != nil)
			}
			if files == nil {
				t.Fatal("nil files")
			}
			for _, d := range diags {
				if d.Subject != nil && d.Subject.Filename != "beads.hcl" {
					t.Fatalf("diagnostic in %q", d.Subject.Filename)
				}
			}
			if cfg != nil {
				b, err := encodeAny(nil, cfg)
				if err != nil {
					t.Fatalf("encode: %v", err)
				}
				back := &Config{}
				if err := decodeAny(b, back); err != nil || !reflect.DeepEqual(back, cfg) {
					t.Fatalf("the codec does not give the config back (%v)", err)
				}
				for i := range cfg.Daemons {
					if cfg.Daemons[i].Hash != HashDaemon(&cfg.Daemons[i]) {
						t.Fatal("unstable hash")
					}
				}
			}
		}
	})
}
