package supervisor

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkLogStamping pushes a child's output, in 32 KiB writes that cut
// lines anywhere, through the line splitter and the timestamping sink to a
// file (the hot path of a chatty daemon). One op is one line.
func BenchmarkLogStamping(b *testing.B) {
	var chunk strings.Builder
	lines := 0
	for chunk.Len() < 32<<10 {
		fmt.Fprintf(&chunk, "L%08d the quick brown fox %s jumps over the lazy dog|\n", lines, strings.Repeat("x", lines%23))
		lines++
	}
	buf := []byte(chunk.String())
	spec := LogSpec{Out: filepath.Join(b.TempDir(), "out.log"), Timestamps: true, DateFormat: "2006-01-02 15:04:05 -07:00"}
	sink := newLogSink(spec, func(string) {})
	w := &lineWriter{sink: sink, stream: streamOut}
	b.SetBytes(int64(len(buf) / lines))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += lines {
		w.Write(buf) //nolint:errcheck // never fails
	}
	w.Flush()
	sink.close()
}

// BenchmarkStatusEncoding is the agent's answer to GET /v1/status for 50 daemons.
func BenchmarkStatusEncoding(b *testing.B) {
	st := AgentStatus{Pid: 1, StartTime: time.Now(), Dir: "/p", Version: "dev"}
	for i := range 50 {
		st.Daemons = append(st.Daemons, Status{
			Name: fmt.Sprintf("d%02d", i), State: StateOnline, Pid: 1000 + i, StartTime: time.Now(),
			Argv: []string{"bd", "daemon", "--start", "--foreground", "--interval", "5s"}, Dir: "/p",
			EnvHash: strings.Repeat("a", 64), SpecHash: strings.Repeat("b", 64), Restarts: 1,
			LastChange: time.Now(), MemoryBytes: 33 << 20, MemoryLimitBytes: 200 << 20, CPUPercent: 0.1,
			Health: HealthStatus{Status: "healthy", CheckedAt: time.Now(), Version: "0.28.0", DBResponseMS: 0.4},
		})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(st); err != nil {
			b.Fatal(err)
		}
	}
}
