package supervisor

import (
	"bytes"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/beadsctl/beadsctl/internal/proc"
)

// writeOSProcessMetrics writes what /proc/self and the process's cgroup say.
func writeOSProcessMetrics(w io.Writer) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return
	}
	i := bytes.LastIndex(b, []byte(") "))
	if i < 0 {
		return
	}
	// From the state (field 3): minflt is 10, majflt 12, utime 14, stime 15,
	// num_threads 20, vsize 23, rss 24.
	f := strings.Fields(string(b[i+2:]))
	if len(f) < 22 {
		return
	}
	u := func(field int) uint64 {
		v, _ := strconv.ParseUint(f[field-3], 10, 64)
		return v
	}
	utime, stime := u(14), u(15)
	writeFloat(w, "process_cpu_seconds_system_total", float64(stime)/proc.ClockTicks)
	writeFloat(w, "process_cpu_seconds_total", float64(utime+stime)/proc.ClockTicks)
	writeFloat(w, "process_cpu_seconds_user_total", float64(utime)/proc.ClockTicks)
	writeUint(w, "process_major_pagefaults_total", u(12))
	writeUint(w, "process_minor_pagefaults_total", u(10))
	writeUint(w, "process_num_threads", u(20))
	writeUint(w, "process_resident_memory_bytes", u(24)*proc.PageSize)
	writeUint(w, "process_start_time_seconds", uint64(processStart))
	writeUint(w, "process_virtual_memory_bytes", u(23))
	writeMemStatus(w)
	writeIO(w)
	writePressure(w)
	writeThrottled(w)
}

// writeMemStatus writes /proc/self/status's peaks and resident kinds.
func writeMemStatus(w io.Writer) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	kb := map[string]uint64{}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" && (strings.HasPrefix(f[0], "Vm") || strings.HasPrefix(f[0], "Rss")) {
			if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				kb[f[0]] = v * 1024
			}
		}
	}
	writeUint(w, "process_virtual_memory_peak_bytes", kb["VmPeak:"])
	writeUint(w, "process_resident_memory_peak_bytes", kb["VmHWM:"])
	writeUint(w, "process_resident_memory_anon_bytes", kb["RssAnon:"])
	writeUint(w, "process_resident_memory_file_bytes", kb["RssFile:"])
	writeUint(w, "process_resident_memory_shared_bytes", kb["RssShmem:"])
}

// writeIO writes /proc/self/io's counters (zeros when it cannot be read).
func writeIO(w io.Writer) {
	b, _ := os.ReadFile("/proc/self/io")
	v := map[string]uint64{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, val, ok := strings.Cut(strings.TrimSpace(line), ": "); ok {
			n, _ := strconv.ParseInt(val, 10, 64)
			v[k] = uint64(n)
		}
	}
	writeUint(w, "process_io_read_bytes_total", v["rchar"])
	writeUint(w, "process_io_written_bytes_total", v["wchar"])
	writeUint(w, "process_io_read_syscalls_total", v["syscr"])
	writeUint(w, "process_io_write_syscalls_total", v["syscw"])
	writeUint(w, "process_io_storage_read_bytes_total", v["read_bytes"])
	writeUint(w, "process_io_storage_written_bytes_total", v["write_bytes"])
}

// cgroupFiles are the process's cgroup v2 folder (for pressure, "" without
// cgroup v2) and its cpu.stat, found once.
var cgroupFiles = sync.OnceValues(func() (v2, cpuStat string) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", ""
	}
	data := string(b)
	mount := ""
	for _, mp := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st syscall.Statfs_t
		if syscall.Statfs(mp, &st) == nil && st.Type == 0x63677270 { // CGROUP2_SUPER_MAGIC
			mount = mp
			break
		}
	}
	if mount != "" {
		for line := range strings.SplitSeq(data, "\n") {
			if rel, ok := strings.CutPrefix(line, "0::"); ok {
				if rel = strings.TrimSpace(rel); rel != "" {
					v2 = path.Join(mount, rel)
				}
				break
			}
		}
	}
	if mount == "/sys/fs/cgroup" {
		if v2 == "" {
			return "", ""
		}
		return v2, v2 + "/cpu.stat"
	}
	for line := range strings.SplitSeq(data, "\n") { // legacy or hybrid
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for c := range strings.SplitSeq(parts[1], ",") {
			if strings.TrimSpace(c) == "cpu" {
				return v2, path.Join("/sys/fs/cgroup/cpu", strings.TrimSpace(parts[2]), "/cpu.stat")
			}
		}
	}
	return v2, ""
})

// pressure is the cgroup's PSI totals (µs): some and full of cpu, io and
// memory; ok is false without cgroup v2 or when one cannot be read.
func pressure() (p [6]uint64, ok bool) {
	dir, _ := cgroupFiles()
	if dir == "" {
		return p, false
	}
	for i, res := range []string{"cpu", "io", "memory"} {
		b, err := os.ReadFile(dir + "/" + res + ".pressure")
		if err != nil {
			return p, false
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			line = strings.TrimSpace(line)
			j := 0
			switch {
			case strings.HasPrefix(line, "some "):
			case strings.HasPrefix(line, "full "):
				j = 1
			default:
				continue
			}
			_, total, found := strings.Cut(line, "total=")
			if !found {
				return p, false
			}
			v, err := strconv.ParseUint(total, 10, 64)
			if err != nil {
				return p, false
			}
			p[2*i+j] = v
		}
	}
	return p, true
}

// throttled is the cgroup's CPU throttled time in ns; ok is false without
// the cpu controller.
func throttled() (uint64, bool) {
	_, file := cgroupFiles()
	if file == "" {
		return 0, false
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	var ns uint64
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return 0, false
		}
		switch f[0] {
		case "throttled_usec": // cgroup v2
			ns = v * 1000
		case "throttled_time": // cgroup v1
			ns = v
		}
	}
	return ns, true
}

// metricsBase is the pressure and throttling at the agent's start: the
// counters count from there (startProcessMetrics).
var metricsBase = sync.OnceValue(func() (b struct {
	psi   [6]uint64
	psiOK bool
	thr   uint64
	thrOK bool
}) {
	b.psi, b.psiOK = pressure()
	b.thr, b.thrOK = throttled()
	return b
})

// startProcessMetrics takes the start values of the pressure and throttling
// counters, so that they count from the agent's start.
func startProcessMetrics() { metricsBase() }

func writePressure(w io.Writer) {
	base := metricsBase()
	if !base.psiOK {
		return
	}
	p, ok := pressure()
	if !ok {
		return
	}
	for i, name := range []string{
		"process_pressure_cpu_waiting_seconds_total", "process_pressure_cpu_stalled_seconds_total",
		"process_pressure_io_waiting_seconds_total", "process_pressure_io_stalled_seconds_total",
		"process_pressure_memory_waiting_seconds_total", "process_pressure_memory_stalled_seconds_total",
	} {
		writeFloat(w, name, float64(p[i]-base.psi[i])/1e6)
	}
}

func writeThrottled(w io.Writer) {
	base := metricsBase()
	if !base.thrOK {
		return
	}
	if ns, ok := throttled(); ok {
		writeFloat(w, "process_cgroup_cpu_throttled_seconds_total", float64(ns-base.thr)/1e9)
	}
}
