package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
