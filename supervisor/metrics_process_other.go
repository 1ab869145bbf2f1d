//go:build !linux

package supervisor

import (
	"io"
	"os"

	"github.com/shirou/gopsutil/v4/process"
)

// writeOSProcessMetrics writes what gopsutil knows of this process.
func writeOSProcessMetrics(w io.Writer) {
	p, err := process.NewProcess(int32(os.Getpid()))
	if err != nil {
		return
	}
	if t, err := p.Times(); err == nil {
		writeFloat(w, "process_cpu_seconds_system_total", t.System)
		writeFloat(w, "process_cpu_seconds_total", t.User+t.System)
		writeFloat(w, "process_cpu_seconds_user_total", t.User)
	}
	if n, err := p.NumThreads(); err == nil {
		writeUint(w, "process_num_threads", uint64(n))
	}
	if m, err := p.MemoryInfo(); err == nil {
		writeUint(w, "process_resident_memory_bytes", m.RSS)
		writeUint(w, "process_virtual_memory_bytes", m.VMS)
	}
	writeUint(w, "process_start_time_seconds", uint64(processStart))
}

func startProcessMetrics() {}
