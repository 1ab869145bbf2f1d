package report

import (
	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/boot"
	"github.com/beadsctl/beadsctl/internal/jsoncodec"
)

// AppendStatusJSON appends `status --json`: r as encoding/json's Encoder
// writes it with SetIndent("", "  "), its newline included, without
// reflection (jsoncodec: encoding/json's first use of these types built
// their encoders, ~8 % of a status of 50 daemons).
// TestStatusJSONIsEncodingJSONs fills every field of the types: a field
// added to one and not here fails it.
func AppendStatusJSON(b []byte, r *StatusReport) ([]byte, error) {
	w := jsoncodec.Writer{B: b, Indent: "  "}
	writeStatusReport(&w, r)
	if err := w.Err(); err != nil {
		return b, err
	}
	return append(w.B, '\n'), nil
}

func writeStatusReport(w *jsoncodec.Writer, r *StatusReport) {
	w.Open('{')
	w.Key("agent")
	writeAgentReport(w, &r.Agent)
	w.Key("env")
	w.String(r.Env)
	if r.Destroyed {
		w.Key("destroyed")
		w.Bool(true)
	}
	w.Key("daemons")
	if r.Daemons == nil {
		w.Null()
	} else {
		w.Open('[')
		for i := range r.Daemons {
			w.Elem()
			writeDaemonRow(w, &r.Daemons[i])
		}
		w.Close(']')
	}
	if r.Boot != nil {
		w.Key("boot")
		writeBootStatus(w, r.Boot)
	}
	if r.Hint != "" {
		w.Key("hint")
		w.String(r.Hint)
	}
	if r.LeftRunning != nil {
		w.Key("left_running")
		w.Open('{')
		w.Key("daemons")
		agentapi.WriteStrings(w, r.LeftRunning.Daemons)
		if len(r.LeftRunning.Stopped) > 0 {
			w.Key("stopped")
			agentapi.WriteStrings(w, r.LeftRunning.Stopped)
		}
		w.Key("command")
		w.String(r.LeftRunning.Command)
		w.Close('}')
	}
	w.Close('}')
}

// stringKey writes the member k: v unless v is "" (omitempty).
func stringKey(w *jsoncodec.Writer, k, v string) {
	if v != "" {
		w.Key(k)
		w.String(v)
	}
}

func writeAgentReport(w *jsoncodec.Writer, a *AgentReport) {
	w.Open('{')
	w.Key("running")
	w.Bool(a.Running)
	if a.NotAnswering {
		w.Key("not_answering")
		w.Bool(true)
	}
	if a.Pid != 0 {
		w.Key("pid")
		w.Int(int64(a.Pid))
	}
	w.Key("source")
	w.String(a.Source)
	if !a.Started.IsZero() {
		w.Key("start_time")
		w.Time(a.Started)
	}
	stringKey(w, "version", a.Version)
	if !a.SnapshotAt.IsZero() {
		w.Key("snapshot_at")
		w.Time(a.SnapshotAt)
	}
	stringKey(w, "error", a.Error)
	w.Close('}')
}

func writeDaemonRow(w *jsoncodec.Writer, d *DaemonRow) {
	w.Open('{')
	w.Key("name")
	w.String(d.Name)
	w.Key("env")
	w.String(d.Env)
	w.Key("status")
	w.String(d.Status)
	stringKey(w, "reason", d.Reason)
	w.Key("pid")
	w.Int(int64(d.Pid))
	w.Key("uptime_seconds")
	w.Float64(d.UptimeSeconds)
	w.Key("restarts")
	w.Int(int64(d.Restarts))
	w.Key("unstable_restarts")
	w.Int(int64(d.UnstableRestarts))
	w.Key("memory_bytes")
	w.Uint(d.MemoryBytes)
	w.Key("memory_limit_bytes")
	w.Uint(d.MemoryLimitBytes)
	w.Key("cpu_percent")
	w.Float64(d.CPUPercent)
	w.Key("health")
	w.String(d.Health)
	stringKey(w, "health_message", d.HealthMessage)
	w.Key("last_exit")
	if d.LastExit == nil {
		w.Null()
	} else {
		agentapi.WriteExit(w, d.LastExit)
	}
	w.Key("last_restart_reason")
	w.String(d.LastRestartReason)
	if d.Stopped {
		w.Key("stopped")
		w.Bool(true)
	}
	if d.Destroyed {
		w.Key("destroyed")
		w.Bool(true)
	}
	stringKey(w, "log_error", d.LogError)
	if d.Dolt != nil {
		w.Key("dolt")
		agentapi.WriteDoltStatus(w, d.Dolt)
	}
	if d.LastEvent != nil {
		w.Key("last_event")
		agentapi.WriteEvent(w, d.LastEvent)
	}
	w.Close('}')
}

func writeBootStatus(w *jsoncodec.Writer, s *boot.Status) {
	w.Open('{')
	w.Key("on")
	w.Bool(s.On)
	w.Key("engine")
	w.String(s.Engine)
	w.Key("unit")
	w.String(s.Unit)
	stringKey(w, "path", s.Path)
	w.Key("installed")
	w.Bool(s.Installed)
	w.Key("enabled")
	w.Bool(s.Enabled)
	if s.System {
		w.Key("system")
		w.Bool(true)
	}
	if s.Linger != nil {
		w.Key("linger")
		w.Bool(*s.Linger)
	}
	stringKey(w, "user", s.User)
	stringKey(w, "problem", s.Problem)
	w.Key("summary")
	w.String(s.Summary)
	stringKey(w, "hint", s.Hint)
	w.Close('}')
}
