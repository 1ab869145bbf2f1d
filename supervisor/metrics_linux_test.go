//go:build linux

package supervisor

import (
	"bytes"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beadsctl/beadsctl/internal/proc"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// parseScrape parses a scrape with Prometheus's own text parser.
func parseScrape(t *testing.T, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the scrape does not parse: %v\n%s", err, b)
	}
	return fams
}

// value is the sample of family name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no family %s", name)
	}
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
	}
	t.Fatalf("no sample of %s with %v", name, want)
	return 0
}

// TestAgentMetricsScrape: the control API's metrics and the opt-in listener
// serve the same families, which Prometheus's text parser reads: a crash
// loop's restarts counted by reason, its errored state and last exit code,
// an online daemon's up, RSS, limit and health, the agent's own RSS,
// goroutines and requests. A taken address is an error that changes nothing.
func TestAgentMetricsScrape(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	bad := shSpec(dir, "bad", "exit 3")
	bad.Restart = RestartPolicy{Policy: "always", MinUptime: 10 * time.Second, MaxRestarts: 2}
	ta.put(t, bad)
	if res := ta.wait(t, "bad", "for=online&timeout=20s"); res.Result != WaitErrored {
		t.Fatalf("bad: %+v", res)
	}
	ok := shSpec(dir, "ok", "exec sleep 1000")
	ok.Limits = Limits{Memory: 512 << 20}
	ok.Health = HealthSpec{Check: "exec", Command: []string{"true"}, Interval: time.Hour, Timeout: 5 * time.Second, Failures: 3}
	ta.put(t, ok)
	ta.wait(t, "ok", "for=online&healthy=1&timeout=20s")

	code, body := ta.call(t, http.MethodGet, "/v1/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /v1/metrics: %d %s", code, body)
	}
	fams := parseScrape(t, body)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"beadsctl_daemon_restarts_total", []string{"daemon", "bad", "reason", "crash"}, 1},
		{"beadsctl_daemon_restarts_total", []string{"daemon", "bad", "reason", "memory"}, 0},
		{"beadsctl_daemon_state", []string{"daemon", "bad", "state", "errored"}, 1},
		{"beadsctl_daemon_state", []string{"daemon", "bad", "state", "online"}, 0},
		{"beadsctl_daemon_last_exit_code", []string{"daemon", "bad"}, 3},
		{"beadsctl_daemon_up", []string{"daemon", "bad"}, 0},
		{"beadsctl_daemon_up", []string{"daemon", "ok"}, 1},
		{"beadsctl_daemon_memory_limit_bytes", []string{"daemon", "ok"}, 512 << 20},
		{"beadsctl_daemon_health", []string{"daemon", "ok", "status", "healthy"}, 1},
		{"beadsctl_agent_daemons", nil, 2},
	} {
		if got := value(t, fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if v := value(t, fams, "beadsctl_daemon_memory_rss_bytes", "daemon", "ok"); v <= 0 {
		t.Errorf("ok's RSS %v", v)
	}
	if v := value(t, fams, "beadsctl_daemon_health_check_latency_seconds", "daemon", "ok"); v <= 0 {
		t.Errorf("ok's check latency %v", v)
	}
	if v := value(t, fams, "beadsctl_agent_control_requests_total", "method", "PUT", "route", "/v1/daemons/{name}"); v != 2 {
		t.Errorf("PUT requests counted %v, want 2", v)
	}
	if v := value(t, fams, "process_resident_memory_bytes"); v <= 0 {
		t.Errorf("agent RSS %v", v)
	}
	if v := value(t, fams, "go_goroutines"); v <= 0 {
		t.Errorf("agent goroutines %v", v)
	}

	// The listener: an ephemeral loopback port, then one that is taken.
	bound, err := ta.SetMetricsListen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + bound + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
	if fams := parseScrape(t, b); value(t, fams, "beadsctl_daemon_up", "daemon", "ok") != 1 {
		t.Errorf("the listener's scrape differs")
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, err = ta.SetMetricsListen(taken.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "is taken by another process") {
		t.Fatalf("a taken address: %v", err)
	}
	if st := ta.waitOnline(t, "ok"); st.State != StateOnline {
		t.Fatalf("ok after the refused listener: %+v", st)
	}
}

// TestProcessMetricsAreVictoriaMetricss: the agent's own figures keep the
// names that github.com/VictoriaMetrics/metrics wrote (dashboards query
// them), parse, and say what they mean: the RSS is /proc/self/statm's, the
// CPU grows with work done, a histogram's buckets are cumulative.
func TestProcessMetricsAreVictoriaMetricss(t *testing.T) {
	startProcessMetrics()
	var b bytes.Buffer
	writeProcessMetrics(&b)
	fams := parseScrape(t, b.Bytes())
	for _, name := range []string{
		"go_sched_latencies_seconds_bucket", "go_mutex_wait_seconds_total", "go_gc_mark_assist_cpu_seconds_total",
		"go_gc_cpu_seconds_total", "go_gc_pauses_seconds_bucket", "go_scavenge_cpu_seconds_total", "go_memlimit_bytes",
		"go_memstats_alloc_bytes", "go_memstats_alloc_bytes_total", "go_memstats_buck_hash_sys_bytes",
		"go_memstats_frees_total", "go_memstats_gc_cpu_fraction", "go_memstats_gc_sys_bytes",
		"go_memstats_heap_alloc_bytes", "go_memstats_heap_idle_bytes", "go_memstats_heap_inuse_bytes",
		"go_memstats_heap_objects", "go_memstats_heap_released_bytes", "go_memstats_heap_sys_bytes",
		"go_memstats_last_gc_time_seconds", "go_memstats_lookups_total", "go_memstats_mallocs_total",
		"go_memstats_mcache_inuse_bytes", "go_memstats_mcache_sys_bytes", "go_memstats_mspan_inuse_bytes",
		"go_memstats_mspan_sys_bytes", "go_memstats_next_gc_bytes", "go_memstats_other_sys_bytes",
		"go_memstats_stack_inuse_bytes", "go_memstats_stack_sys_bytes", "go_memstats_sys_bytes",
		"go_cgo_calls_count", "go_cpu_count", "go_gc_duration_seconds", "go_gc_duration_seconds_sum",
		"go_gc_duration_seconds_count", "go_gc_forced_count", "go_gomaxprocs",
		"go_goroutines", "go_threads", "go_info", "go_info_ext",
		"process_cpu_seconds_system_total", "process_cpu_seconds_total", "process_cpu_seconds_user_total",
		"process_major_pagefaults_total", "process_minor_pagefaults_total", "process_num_threads",
		"process_resident_memory_bytes", "process_start_time_seconds", "process_virtual_memory_bytes",
		"process_virtual_memory_peak_bytes", "process_resident_memory_peak_bytes",
		"process_resident_memory_anon_bytes", "process_resident_memory_file_bytes",
		"process_resident_memory_shared_bytes", "process_io_read_bytes_total", "process_io_written_bytes_total",
		"process_io_read_syscalls_total", "process_io_write_syscalls_total",
		"process_io_storage_read_bytes_total", "process_io_storage_written_bytes_total",
	} {
		if _, ok := fams[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	if _, psi := pressure(); psi {
		if _, ok := fams["process_pressure_cpu_waiting_seconds_total"]; !ok {
			t.Error("pressure is readable, but no process_pressure_cpu_waiting_seconds_total")
		}
	}
	var statm [64]byte
	n := proc.ReadSmall("/proc/self/statm", statm[:])
	f := strings.Fields(string(statm[:max(n, 0)]))
	if len(f) < 2 {
		t.Fatalf("statm %q", statm[:max(n, 0)])
	}
	pages, _ := strconv.ParseFloat(f[1], 64)
	// Both read the same counter of the kernel's, a moment apart.
	if rss := value(t, fams, "process_resident_memory_bytes"); rss <= 0 || rss > 2*pages*float64(proc.PageSize) || rss < pages*float64(proc.PageSize)/2 {
		t.Errorf("process_resident_memory_bytes %v, statm says %v pages", rss, pages)
	}
	if v := value(t, fams, "process_start_time_seconds"); v != float64(processStart) || v <= 0 {
		t.Errorf("process_start_time_seconds %v, want %d", v, processStart)
	}
	cpu0 := value(t, fams, "process_cpu_seconds_total")
	for start := time.Now(); ; {
		b.Reset()
		writeProcessMetrics(&b)
		if value(t, parseScrape(t, b.Bytes()), "process_cpu_seconds_total") > cpu0 {
			break // the scrapes themselves are the work
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("process_cpu_seconds_total never grew")
		}
	}
	// Untyped, as VictoriaMetrics wrote it: one sample per le, cumulative,
	// +Inf last.
	buckets := fams["go_sched_latencies_seconds_bucket"].GetMetric()
	if len(buckets) == 0 || len(buckets) > 31 {
		t.Fatalf("%d buckets, want 1-31", len(buckets))
	}
	last, lastLE := -1.0, math.Inf(-1)
	for _, m := range buckets {
		var le float64
		for _, l := range m.GetLabel() {
			if l.GetName() == "le" {
				le, _ = strconv.ParseFloat(l.GetValue(), 64)
			}
		}
		v := m.GetUntyped().GetValue()
		if v < last || le <= lastLE {
			t.Fatalf("buckets not cumulative in le order: le=%v %v after le=%v %v", le, v, lastLE, last)
		}
		last, lastLE = v, le
	}
	if !math.IsInf(lastLE, 1) {
		t.Errorf("the last bucket is le=%v, want +Inf", lastLE)
	}
}
