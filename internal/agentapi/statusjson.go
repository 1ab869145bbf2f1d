package agentapi

import (
	"maps"
	"slices"

	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/jsoncodec"
)

// AppendAgentStatus appends st as encoding/json's Encoder writes it (its
// newline included), without reflection: the agent's answer to GET
// /v1/status, which encoding/json took ~0.3 ms to write for 50 daemons (a
// status command waits for it), ~6 ms for 1,000 (plan). Nothing is appended
// when it fails (a float that is NaN or infinite, a time out of RFC 3339's
// years, as encoding/json refuses them). TestAgentStatusIsEncodingJSONs
// fills every field of the types: a field added to one and not here fails it.
func AppendAgentStatus(b []byte, st *AgentStatus) ([]byte, error) {
	w := jsoncodec.Writer{B: b}
	writeAgentStatus(&w, st)
	if err := w.Err(); err != nil {
		return b, err
	}
	return append(w.B, '\n'), nil
}

func writeAgentStatus(w *jsoncodec.Writer, st *AgentStatus) {
	w.Open('{')
	w.Key("pid")
	w.Int(int64(st.Pid))
	w.Key("start_time")
	w.Time(st.StartTime)
	w.Key("dir")
	w.String(st.Dir)
	w.Key("version")
	w.String(st.Version)
	w.Key("api")
	w.Int(int64(st.API))
	w.Key("daemons")
	if st.Daemons == nil {
		w.Null()
	} else {
		w.Open('[')
		for i := range st.Daemons {
			w.Elem()
			writeStatus(w, &st.Daemons[i])
		}
		w.Close(']')
	}
	if len(st.Alerts) > 0 {
		w.Key("alerts")
		w.Open('[')
		for i := range st.Alerts {
			w.Elem()
			writeAlertSpec(w, &st.Alerts[i])
		}
		w.Close(']')
	}
	stringKey(w, "metrics_listen", st.MetricsListen)
	stringKey(w, "metrics_error", st.MetricsError)
	w.Close('}')
}

func writeStatus(w *jsoncodec.Writer, s *Status) {
	w.Open('{')
	w.Key("name")
	w.String(s.Name)
	w.Key("state")
	w.String(string(s.State))
	stringKey(w, "reason", s.Reason)
	if s.Pid != 0 {
		w.Key("pid")
		w.Int(int64(s.Pid))
	}
	if !s.StartTime.IsZero() {
		w.Key("start_time")
		w.Time(s.StartTime)
	}
	stringsKey(w, "argv", s.Argv)
	stringKey(w, "dir", s.Dir)
	stringKey(w, "env_hash", s.EnvHash)
	stringKey(w, "spec_hash", s.SpecHash)
	w.Key("restarts")
	w.Int(int64(s.Restarts))
	w.Key("unstable_restarts")
	w.Int(int64(s.UnstableRestarts))
	stringKey(w, "last_restart_reason", s.LastRestartReason)
	if s.LastExit != nil {
		w.Key("last_exit")
		WriteExit(w, s.LastExit)
	}
	w.Key("last_change")
	w.Time(s.LastChange)
	if len(s.RecentRestarts) > 0 {
		w.Key("recent_restarts")
		w.Open('[')
		for i := range s.RecentRestarts {
			r := &s.RecentRestarts[i]
			w.Elem()
			w.Open('{')
			w.Key("at")
			w.Time(r.At)
			w.Key("reason")
			w.String(r.Reason)
			stringKey(w, "detail", r.Detail)
			if r.Exit != nil {
				w.Key("exit")
				WriteExit(w, r.Exit)
			}
			w.Close('}')
		}
		w.Close(']')
	}
	if len(s.RestartsByReason) > 0 {
		w.Key("restarts_by_reason")
		w.Open('{')
		for _, k := range slices.Sorted(maps.Keys(s.RestartsByReason)) {
			w.Key(k)
			w.Int(int64(s.RestartsByReason[k]))
		}
		w.Close('}')
	}
	w.Key("memory_bytes")
	w.Uint(s.MemoryBytes)
	if s.MemoryLimitBytes != 0 {
		w.Key("memory_limit_bytes")
		w.Uint(s.MemoryLimitBytes)
	}
	w.Key("cpu_percent")
	w.Float64(s.CPUPercent)
	if s.CPUSeconds != 0 {
		w.Key("cpu_seconds")
		w.Float64(s.CPUSeconds)
	}
	w.Key("health")
	writeHealthStatus(w, &s.Health)
	if len(s.RecentHealth) > 0 {
		w.Key("recent_health")
		w.Open('[')
		for i := range s.RecentHealth {
			h := &s.RecentHealth[i]
			w.Elem()
			w.Open('{')
			w.Key("at")
			w.Time(h.At)
			w.Key("status")
			w.String(h.Status)
			stringKey(w, "message", h.Message)
			w.Key("latency_ms")
			w.Float64(h.LatencyMS)
			w.Close('}')
		}
		w.Close(']')
	}
	stringKey(w, "log_error", s.LogError)
	if s.Stopped {
		w.Key("stopped")
		w.Bool(true)
	}
	if s.Blocked {
		w.Key("blocked")
		w.Bool(true)
	}
	if !s.CompletedAt.IsZero() {
		w.Key("completed_at")
		w.Time(s.CompletedAt)
	}
	if s.Dolt != nil {
		w.Key("dolt")
		WriteDoltStatus(w, s.Dolt)
	}
	if s.LastEvent != nil {
		w.Key("last_event")
		WriteEvent(w, s.LastEvent)
	}
	w.Close('}')
}

func writeHealthStatus(w *jsoncodec.Writer, h *HealthStatus) {
	w.Open('{')
	stringKey(w, "status", h.Status)
	stringKey(w, "message", h.Message)
	if h.ConsecutiveFailures != 0 {
		w.Key("consecutive_failures")
		w.Int(int64(h.ConsecutiveFailures))
	}
	if !h.CheckedAt.IsZero() {
		w.Key("checked_at")
		w.Time(h.CheckedAt)
	}
	stringKey(w, "version", h.Version)
	if h.DBResponseMS != 0 {
		w.Key("db_response_ms")
		w.Float64(h.DBResponseMS)
	}
	if h.SQL != nil {
		w.Key("sql")
		writeSQLReport(w, h.SQL)
	}
	w.Close('}')
}

func writeSQLReport(w *jsoncodec.Writer, r *bd.SQLReport) {
	w.Open('{')
	stringKey(w, "dolt_version", r.DoltVersion)
	stringsKey(w, "databases", r.Databases)
	w.Key("open_connections")
	w.Int(int64(r.Connections))
	stringKey(w, "project_id", r.ProjectID)
	w.Key("query_ms")
	w.Float64(r.QueryMS)
	w.Close('}')
}

func writeAlertSpec(w *jsoncodec.Writer, a *AlertSpec) {
	w.Open('{')
	w.Key("name")
	w.String(a.Name)
	w.Key("on")
	WriteStrings(w, a.On)
	w.Key("command")
	WriteStrings(w, a.Command)
	w.Key("dir")
	w.String(a.Dir)
	w.Key("timeout")
	w.Int(int64(a.Timeout))
	stringsKey(w, "daemons", a.Daemons)
	w.Key("unhealthy_for")
	w.Int(int64(a.UnhealthyFor))
	w.Key("window")
	w.Int(int64(a.Window))
	w.Close('}')
}

// WriteExit writes e as its MarshalJSON does.
func WriteExit(w *jsoncodec.Writer, e *Exit) {
	w.Open('{')
	w.Key("code")
	w.Int(int64(e.Code))
	stringKey(w, "signal", e.Signal)
	w.Key("at")
	w.Time(e.At)
	w.Key("uptime_seconds")
	w.Float64(e.Uptime.Seconds())
	stringsKey(w, "log_tail", e.LogTail)
	w.Close('}')
}

// WriteDoltStatus writes s as encoding/json does.
func WriteDoltStatus(w *jsoncodec.Writer, s *DoltStatus) {
	w.Open('{')
	w.Key("port")
	w.Int(int64(s.Port))
	w.Key("server_dir")
	w.String(s.ServerDir)
	stringKey(w, "files_error", s.FilesError)
	if f := s.LastFlush; f != nil {
		w.Key("last_flush")
		w.Open('{')
		w.Key("at")
		w.Time(f.At)
		stringsKey(w, "committed", f.Committed)
		stringKey(w, "error", f.Error)
		w.Key("ms")
		w.Float64(f.MS)
		w.Close('}')
	}
	w.Close('}')
}

// WriteEvent writes e as encoding/json does.
func WriteEvent(w *jsoncodec.Writer, e *Event) {
	w.Open('{')
	w.Key("at")
	w.Time(e.At)
	w.Key("kind")
	w.String(e.Kind)
	stringKey(w, "daemon", e.Daemon)
	if e.Pid != 0 {
		w.Key("pid")
		w.Int(int64(e.Pid))
	}
	stringKey(w, "argv_hash", e.ArgvHash)
	if e.ExitCode != nil {
		w.Key("exit_code")
		w.Int(int64(*e.ExitCode))
	}
	stringKey(w, "signal", e.Signal)
	if e.UptimeSeconds != nil {
		w.Key("uptime_seconds")
		w.Float64(*e.UptimeSeconds)
	}
	stringKey(w, "reason", e.Reason)
	stringKey(w, "detail", e.Detail)
	stringKey(w, "health", e.Health)
	stringKey(w, "from", e.From)
	stringKey(w, "message", e.Message)
	stringKey(w, "action", e.Action)
	stringKey(w, "spec_hash", e.SpecHash)
	if e.RSSBytes != 0 {
		w.Key("rss_bytes")
		w.Uint(e.RSSBytes)
	}
	if e.LimitBytes != 0 {
		w.Key("limit_bytes")
		w.Uint(e.LimitBytes)
	}
	stringKey(w, "version", e.Version)
	if e.Dropped != 0 {
		w.Key("dropped")
		w.Int(e.Dropped)
	}
	stringKey(w, "alert", e.Alert)
	w.Close('}')
}

// WriteStrings writes s as encoding/json does (nil: null).
func WriteStrings(w *jsoncodec.Writer, s []string) {
	if s == nil {
		w.Null()
		return
	}
	w.Open('[')
	for _, v := range s {
		w.Elem()
		w.String(v)
	}
	w.Close(']')
}

// stringKey writes the member k: v unless v is "" (omitempty).
func stringKey(w *jsoncodec.Writer, k, v string) {
	if v != "" {
		w.Key(k)
		w.String(v)
	}
}

// stringsKey writes the member k: s unless s is empty (omitempty).
func stringsKey(w *jsoncodec.Writer, k string, s []string) {
	if len(s) > 0 {
		w.Key(k)
		WriteStrings(w, s)
	}
}
