package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// BenchmarkHashDaemon is the stable hash of one resolved daemon (computed for
// every daemon on every load, plan and drift).
func BenchmarkHashDaemon(b *testing.B) {
	d := Daemon{
		Name: "beads", Command: "bd", Args: []string{"daemon", "--start", "--foreground"},
		Interval: 5 * time.Second, Dir: "/p", Root: "/p",
		Environment: map[string]string{"BD_AUTO_START_DAEMON": "true", "NODE_ENV": "production", "TOKEN": "s3cret"},
		Sensitive:   []string{"TOKEN"},
		Restart:     Restart{Policy: "always", Delay: 5 * time.Second, Backoff: "exponential", MaxDelay: time.Minute, MaxRestarts: 10, MinUptime: 10 * time.Second},
		Limits:      Limits{Memory: 200 << 20, CheckInterval: time.Second},
		Stop:        Stop{Signal: "SIGTERM", Timeout: 5 * time.Second},
		Logs:        Logs{Out: "/p/.beads/out.log", Error: "/p/.beads/err.log", Timestamps: true, DateFormat: "YYYY-MM-DD HH:mm:ss Z"},
		Health:      Health{Check: "beads-rpc", Interval: 30 * time.Second, Timeout: 5 * time.Second, Failures: 3},
	}
	b.ReportAllocs()
	for b.Loop() {
		HashDaemon(&d)
	}
}

// benchSource is a beads.hcl of n daemons with one env profile that changes
// each (BenchmarkLoad's, and the cache tests').
func benchSource(n int) []byte {
	var s strings.Builder
	for i := range n {
		fmt.Fprintf(&s, `daemon "d%03d" {
  command  = "bd"
  args     = ["daemon", "--start", "--foreground"]
  interval = "5s"
  environment = { BD_AUTO_START_DAEMON = "true" }
  restart {
    policy       = "always"
    delay        = "5s"
    max_restarts = 10
    min_uptime   = "10s"
  }
  limits { memory = "200M" }
  stop   { timeout = "5s" }
  logs {
    out         = ".beads/d%03d.log"
    timestamps  = true
    date_format = "YYYY-MM-DD HH:mm:ss Z"
  }
}
`, i, i)
	}
	s.WriteString(`env "production" {` + "\n")
	for i := range n {
		fmt.Fprintf(&s, "  daemon \"d%03d\" { environment = { NODE_ENV = \"production\" } }\n", i)
	}
	s.WriteString("}\n")
	return []byte(s.String())
}

// BenchmarkLoad parses and resolves a beads.hcl of 1 and 100 daemons with one
// env profile (what every command does first); LoadCachedHit/100 is the same
// through the configuration cache when the file did not change.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1, 100} {
		dir := b.TempDir()
		path := filepath.Join(dir, "beads.hcl")
		if err := os.WriteFile(path, benchSource(n), 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, diags := Load(path, "production", nil); diags.HasErrors() {
					b.Fatal(diags.Error())
				}
			}
		})
	}
}

func BenchmarkLoadCachedHit(b *testing.B) {
	for _, n := range []int{100, 1000} {
		dir := b.TempDir()
		path := filepath.Join(dir, "beads.hcl")
		if err := os.WriteFile(path, benchSource(n), 0o644); err != nil {
			b.Fatal(err)
		}
		c := &Cache{Dir: dir, Key: []byte("0123456789abcdef0123456789abcdef")}
		LoadCached(c, path, "production", nil)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, files, diags := LoadCached(c, path, "production", nil); diags.HasErrors() || len(files) != 0 {
					b.Fatal("not a hit")
				}
			}
		})
	}
}

// scaleSource is the bench's loading file (bench/beadsctl.go's hcl of the
// loading group): n `sleep` daemons in dir, each with its restart, stop and
// logs blocks; args of daemon i is ["100000"] but for edit, whose is value.
func scaleSource(n int, dir string, edit int, value string) []byte {
	var s strings.Builder
	for i := range n {
		arg := "100000"
		if i == edit {
			arg = value
		}
		fmt.Fprintf(&s, `daemon "s%04d" {
  command = "/usr/bin/sleep"
  args    = [%q]
  dir     = %q
  restart {
    policy       = "always"
    delay        = "0s"
    backoff      = "constant"
    max_restarts = 16
    min_uptime   = "1s"
  }
  stop {
    signal  = "SIGTERM"
    timeout = "2s"
  }
  logs {
    out        = "%s/s%04d.out.log"
    error      = "%s/s%04d.err.log"
    timestamps = true
    date_format = "YYYY-MM-DD HH:mm:ss Z"
  }
}

`, i, arg, dir, dir, i, dir, i)
	}
	return []byte(s.String())
}

// BenchmarkValidateAfterEdit is validate of the bench's 1,000 daemons
// through the cache, one daemon's args edited before each (issue 17 target
// 2: what `beadsctl validate` does after an edit, less the start-up); Load
// is the same for a load under no profile (plan's).
func BenchmarkValidateAfterEdit(b *testing.B) {
	for _, kind := range []string{"validate", "load"} {
		b.Run(kind, func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "beads.hcl")
			c := &Cache{Dir: dir, Key: []byte("0123456789abcdef0123456789abcdef")}
			run := func() {
				var diags []*hcl.Diagnostic
				if kind == "validate" {
					_, _, diags = ValidateCached(c, path, nil)
				} else {
					_, _, diags = LoadCached(c, path, "", nil)
				}
				if len(diags) > 0 {
					b.Fatal(hcl.Diagnostics(diags).Error())
				}
			}
			if err := os.WriteFile(path, scaleSource(1000, dir, -1, ""), 0o644); err != nil {
				b.Fatal(err)
			}
			run()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				i++
				if err := os.WriteFile(path, scaleSource(1000, dir, (500+379*i)%1000, fmt.Sprint(100000+i)), 0o644); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				run()
				if c.last != cacheIncremental {
					b.Fatalf("not incremental: %d", c.last)
				}
			}
		})
	}
}

// BenchmarkCodec encodes and decodes the cache entry of the bench's 1,000
// daemons (what a load after an edit reads, then writes).
func BenchmarkCodec(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "beads.hcl")
	if err := os.WriteFile(path, scaleSource(1000, dir, -1, ""), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, _, diags := Load(path, "", nil)
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	// What a load after an edit encodes: the daemons decoded from the
	// entry (one parsed).
	enc, err := encodeAny(nil, &loadEntry{Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	e := &loadEntry{}
	if err := decodeAny(enc, e); err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeAny(make([]byte, 0, len(enc)), e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := decodeAny(enc, &loadEntry{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
