package supervisor

import (
	"fmt"
	"io"
	"math"
	"runtime"
	runtimemetrics "runtime/metrics"
	"slices"
	"strings"
	"time"
)

// The agent's own process and Go runtime metrics, in the names, units and
// lines of github.com/VictoriaMetrics/metrics's WriteProcessMetrics, which
// wrote them before: that package's initialisers (its /proc/self/cgroup,
// PSI and cpu.stat reads, its regexp, the runtime/metrics table) ran in every
// beadsctl command, ~8 % of `beadsctl version`'s CPU. Here nothing runs
// before the first scrape but the start time below.

// processStart is when this process started (process_start_time_seconds).
var processStart = time.Now().Unix()

// writeProcessMetrics writes the Go runtime's figures, then the process's.
func writeProcessMetrics(w io.Writer) {
	writeGoMetrics(w)
	writeOSProcessMetrics(w)
}

func writeUint(w io.Writer, name string, v uint64) { fmt.Fprintf(w, "%s %d\n", name, v) }

func writeFloat(w io.Writer, name string, v float64) { fmt.Fprintf(w, "%s %g\n", name, v) }

// runtimeMetrics are the runtime/metrics read, and their names here.
var runtimeMetrics = [][2]string{
	{"/sched/latencies:seconds", "go_sched_latencies_seconds"},
	{"/sync/mutex/wait/total:seconds", "go_mutex_wait_seconds_total"},
	{"/cpu/classes/gc/mark/assist:cpu-seconds", "go_gc_mark_assist_cpu_seconds_total"},
	{"/cpu/classes/gc/total:cpu-seconds", "go_gc_cpu_seconds_total"},
	{"/gc/pauses:seconds", "go_gc_pauses_seconds"},
	{"/cpu/classes/scavenge/total:cpu-seconds", "go_scavenge_cpu_seconds_total"},
	{"/gc/gomemlimit:bytes", "go_memlimit_bytes"},
}

func writeGoMetrics(w io.Writer) {
	samples := make([]runtimemetrics.Sample, len(runtimeMetrics))
	for i, rm := range runtimeMetrics {
		samples[i].Name = rm[0]
	}
	runtimemetrics.Read(samples)
	for i, rm := range runtimeMetrics {
		v := samples[i].Value
		switch v.Kind() {
		case runtimemetrics.KindUint64:
			writeUint(w, rm[1], v.Uint64())
		case runtimemetrics.KindFloat64:
			writeFloat(w, rm[1], v.Float64())
		case runtimemetrics.KindFloat64Histogram:
			writeRuntimeHistogram(w, rm[1], v.Float64Histogram())
		}
		// KindBad: a metric this Go does not have is left out.
	}

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	for _, m := range []struct {
		name string
		v    uint64
	}{
		{"go_memstats_alloc_bytes", ms.Alloc},
		{"go_memstats_alloc_bytes_total", ms.TotalAlloc},
		{"go_memstats_buck_hash_sys_bytes", ms.BuckHashSys},
		{"go_memstats_frees_total", ms.Frees},
	} {
		writeUint(w, m.name, m.v)
	}
	writeFloat(w, "go_memstats_gc_cpu_fraction", ms.GCCPUFraction)
	writeUint(w, "go_memstats_gc_sys_bytes", ms.GCSys)
	writeUint(w, "go_memstats_heap_alloc_bytes", ms.HeapAlloc)
	writeUint(w, "go_memstats_heap_idle_bytes", ms.HeapIdle)
	writeUint(w, "go_memstats_heap_inuse_bytes", ms.HeapInuse)
	writeUint(w, "go_memstats_heap_objects", ms.HeapObjects)
	writeUint(w, "go_memstats_heap_released_bytes", ms.HeapReleased)
	writeUint(w, "go_memstats_heap_sys_bytes", ms.HeapSys)
	writeFloat(w, "go_memstats_last_gc_time_seconds", float64(ms.LastGC)/1e9)
	writeUint(w, "go_memstats_lookups_total", ms.Lookups)
	writeUint(w, "go_memstats_mallocs_total", ms.Mallocs)
	writeUint(w, "go_memstats_mcache_inuse_bytes", ms.MCacheInuse)
	writeUint(w, "go_memstats_mcache_sys_bytes", ms.MCacheSys)
	writeUint(w, "go_memstats_mspan_inuse_bytes", ms.MSpanInuse)
	writeUint(w, "go_memstats_mspan_sys_bytes", ms.MSpanSys)
	writeUint(w, "go_memstats_next_gc_bytes", ms.NextGC)
	writeUint(w, "go_memstats_other_sys_bytes", ms.OtherSys)
	writeUint(w, "go_memstats_stack_inuse_bytes", ms.StackInuse)
	writeUint(w, "go_memstats_stack_sys_bytes", ms.StackSys)
	writeUint(w, "go_memstats_sys_bytes", ms.Sys)
	writeUint(w, "go_cgo_calls_count", uint64(runtime.NumCgoCall()))
	writeUint(w, "go_cpu_count", uint64(runtime.NumCPU()))

	// The last 256 pauses (zeros where fewer), as a summary: the quantile
	// at phi is the sorted pauses' element phi*(n-1) rounded.
	pauses := make([]float64, len(ms.PauseNs))
	for i, ns := range ms.PauseNs {
		pauses[i] = float64(ns) / 1e9
	}
	slices.Sort(pauses)
	for _, phi := range []float64{0, 0.25, 0.5, 0.75, 1} {
		q := pauses[min(int(phi*float64(len(pauses)-1)+0.5), len(pauses)-1)]
		fmt.Fprintf(w, `go_gc_duration_seconds{quantile="%g"} %g`+"\n", phi, q)
	}
	fmt.Fprintf(w, "go_gc_duration_seconds_sum %g\n", float64(ms.PauseTotalNs)/1e9)
	fmt.Fprintf(w, "go_gc_duration_seconds_count %d\n", ms.NumGC)
	writeUint(w, "go_gc_forced_count", uint64(ms.NumForcedGC))
	writeUint(w, "go_gomaxprocs", uint64(runtime.GOMAXPROCS(0)))
	writeUint(w, "go_goroutines", uint64(runtime.NumGoroutine()))
	threads, _ := runtime.ThreadCreateProfile(nil)
	writeUint(w, "go_threads", uint64(threads))
	fmt.Fprintf(w, "go_info{version=%q} 1\n", runtime.Version())
	fmt.Fprintf(w, "go_info_ext{compiler=%q, GOARCH=%q, GOOS=%q, GOROOT=%q} 1\n",
		runtime.Compiler, runtime.GOARCH, runtime.GOOS, goroot())
}

// goroot is the GOROOT the binary was built with ("" with -trimpath).
func goroot() string {
	//lint:ignore SA1019 what go_info_ext has always shown
	return runtime.GOROOT() //nolint:staticcheck
}

// writeRuntimeHistogram writes a runtime histogram as a Prometheus one of at
// most 30 cumulative buckets (every len/30th bound) and +Inf; for seconds,
// the bounds above 1 s are folded into +Inf. No _sum: the runtime keeps none.
func writeRuntimeHistogram(w io.Writer, name string, h *runtimemetrics.Float64Histogram) {
	buckets, counts := h.Buckets, h.Counts
	if len(buckets) != len(counts)+1 {
		return
	}
	tail := uint64(0)
	if strings.HasSuffix(name, "_seconds") {
		for len(buckets) > 0 && buckets[len(buckets)-1] > 1 {
			buckets = buckets[:len(buckets)-1]
			tail += counts[len(counts)-1]
			counts = counts[:len(counts)-1]
		}
	}
	step := float64(len(buckets)) / 30
	total, next := uint64(0), 0.0
	for i, n := range counts {
		total += n
		if float64(i) >= next {
			next += step
			if le := buckets[i+1]; !math.IsInf(le, 1) {
				fmt.Fprintf(w, `%s_bucket{le="%g"} %d`+"\n", name, le, total)
			}
		}
	}
	fmt.Fprintf(w, `%s_bucket{le="+Inf"} %d`+"\n", name, total+tail)
}
