package reconcile

import (
	"io"
	"math"
	"strconv"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/jsoncodec"
	"github.com/beadsctl/beadsctl/internal/sockhttp"
	"github.com/beadsctl/beadsctl/schema"
)

// The agent's status answer read without reflection (jsoncodec): the
// first use of encoding/json on these types built their field tables, ~11 %
// of a status of 50 daemons, and its decoding ~10 %. What encoding/json reads
// of them these read the same (TestAgentStatusDecodesAsEncodingJSON fills
// every field of the types: a field added to one and not here fails it).

// bodyDecoder is an answer that decodes itself from the whole body
// (Client.do), where encoding/json's Decoder would.
type bodyDecoder interface{ decodeBody(b []byte) error }

// agentStatusBody is a GET /v1/status answer into st.
type agentStatusBody struct{ st *agentapi.AgentStatus }

func (a agentStatusBody) decodeBody(b []byte) error { return decodeAgentStatus(b, a.st) }

// decodeAgentStatus reads b into st as json.NewDecoder(...).Decode(st) would;
// st's strings share b's memory (b is not written again).
func decodeAgentStatus(b []byte, st *agentapi.AgentStatus) error {
	return jsoncodec.DecodeFirstShared(b, func(d *jsoncodec.Decoder) { readAgentStatus(d, st) })
}

func readAgentStatus(d *jsoncodec.Decoder, st *agentapi.AgentStatus) {
	d.Object(func(k string) bool {
		switch k {
		case "pid":
			d.Int(&st.Pid)
		case "start_time":
			d.Time(&st.StartTime)
		case "dir":
			d.String(&st.Dir)
		case "version":
			d.String(&st.Version)
		case "api":
			d.Int(&st.API)
		case "daemons":
			jsoncodec.Slice(d, &st.Daemons, func(s *agentapi.Status) { readStatus(d, s) })
		case "alerts":
			jsoncodec.Slice(d, &st.Alerts, func(a *agentapi.AlertSpec) { readAlertSpec(d, a) })
		case "metrics_listen":
			d.String(&st.MetricsListen)
		case "metrics_error":
			d.String(&st.MetricsError)
		default:
			return false
		}
		return true
	})
}

func readStatus(d *jsoncodec.Decoder, s *agentapi.Status) {
	d.Object(func(k string) bool {
		switch k {
		case "name":
			d.String(&s.Name)
		case "state":
			d.String((*string)(&s.State))
		case "reason":
			d.String(&s.Reason)
		case "pid":
			d.Int(&s.Pid)
		case "start_time":
			d.Time(&s.StartTime)
		case "argv":
			readStrings(d, &s.Argv)
		case "dir":
			d.String(&s.Dir)
		case "env_hash":
			d.String(&s.EnvHash)
		case "spec_hash":
			d.String(&s.SpecHash)
		case "restarts":
			d.Int(&s.Restarts)
		case "unstable_restarts":
			d.Int(&s.UnstableRestarts)
		case "last_restart_reason":
			d.String(&s.LastRestartReason)
		case "last_exit":
			jsoncodec.Ptr(d, &s.LastExit, func(e *agentapi.Exit) { readExit(d, e) })
		case "last_change":
			d.Time(&s.LastChange)
		case "recent_restarts":
			jsoncodec.Slice(d, &s.RecentRestarts, func(r *agentapi.RestartEvent) { readRestartEvent(d, r) })
		case "restarts_by_reason":
			jsoncodec.Map(d, &s.RestartsByReason, d.Int)
		case "memory_bytes":
			d.Uint64(&s.MemoryBytes)
		case "memory_limit_bytes":
			d.Uint64(&s.MemoryLimitBytes)
		case "cpu_percent":
			d.Float64(&s.CPUPercent)
		case "cpu_seconds":
			d.Float64(&s.CPUSeconds)
		case "health":
			readHealthStatus(d, &s.Health)
		case "recent_health":
			jsoncodec.Slice(d, &s.RecentHealth, func(h *agentapi.HealthEvent) { readHealthEvent(d, h) })
		case "log_error":
			d.String(&s.LogError)
		case "stopped":
			d.Bool(&s.Stopped)
		case "blocked":
			d.Bool(&s.Blocked)
		case "completed_at":
			d.Time(&s.CompletedAt)
		case "dolt":
			jsoncodec.Ptr(d, &s.Dolt, func(v *agentapi.DoltStatus) { readDoltStatus(d, v) })
		case "last_event":
			jsoncodec.Ptr(d, &s.LastEvent, func(e *agentapi.Event) { readEvent(d, e) })
		default:
			return false
		}
		return true
	})
}

func readStrings(d *jsoncodec.Decoder, s *[]string) { jsoncodec.Slice(d, s, d.String) }

// readExit reads an Exit as its UnmarshalJSON does: all of it anew, the
// uptime from uptime_seconds or else an older agent's nanoseconds.
func readExit(d *jsoncodec.Decoder, e *agentapi.Exit) {
	var j agentapi.Exit
	var secs *float64
	var nanos *int64
	d.Object(func(k string) bool {
		switch k {
		case "code":
			d.Int(&j.Code)
		case "signal":
			d.String(&j.Signal)
		case "at":
			d.Time(&j.At)
		case "uptime_seconds":
			jsoncodec.Ptr(d, &secs, d.Float64)
		case "uptime":
			jsoncodec.Ptr(d, &nanos, d.Int64)
		case "log_tail":
			readStrings(d, &j.LogTail)
		default:
			return false
		}
		return true
	})
	if d.Err() != nil {
		return
	}
	switch {
	case secs != nil:
		j.Uptime = time.Duration(math.Round(*secs * float64(time.Second)))
	case nanos != nil:
		j.Uptime = time.Duration(*nanos)
	}
	*e = j
}

func readRestartEvent(d *jsoncodec.Decoder, r *agentapi.RestartEvent) {
	d.Object(func(k string) bool {
		switch k {
		case "at":
			d.Time(&r.At)
		case "reason":
			d.String(&r.Reason)
		case "detail":
			d.String(&r.Detail)
		case "exit":
			jsoncodec.Ptr(d, &r.Exit, func(e *agentapi.Exit) { readExit(d, e) })
		default:
			return false
		}
		return true
	})
}

func readHealthEvent(d *jsoncodec.Decoder, h *agentapi.HealthEvent) {
	d.Object(func(k string) bool {
		switch k {
		case "at":
			d.Time(&h.At)
		case "status":
			d.String(&h.Status)
		case "message":
			d.String(&h.Message)
		case "latency_ms":
			d.Float64(&h.LatencyMS)
		default:
			return false
		}
		return true
	})
}

func readHealthStatus(d *jsoncodec.Decoder, h *agentapi.HealthStatus) {
	d.Object(func(k string) bool {
		switch k {
		case "status":
			d.String(&h.Status)
		case "message":
			d.String(&h.Message)
		case "consecutive_failures":
			d.Int(&h.ConsecutiveFailures)
		case "checked_at":
			d.Time(&h.CheckedAt)
		case "version":
			d.String(&h.Version)
		case "db_response_ms":
			d.Float64(&h.DBResponseMS)
		case "sql":
			jsoncodec.Ptr(d, &h.SQL, func(r *bd.SQLReport) { readSQLReport(d, r) })
		default:
			return false
		}
		return true
	})
}

func readSQLReport(d *jsoncodec.Decoder, r *bd.SQLReport) {
	d.Object(func(k string) bool {
		switch k {
		case "dolt_version":
			d.String(&r.DoltVersion)
		case "databases":
			readStrings(d, &r.Databases)
		case "open_connections":
			d.Int(&r.Connections)
		case "project_id":
			d.String(&r.ProjectID)
		case "query_ms":
			d.Float64(&r.QueryMS)
		default:
			return false
		}
		return true
	})
}

func readDoltStatus(d *jsoncodec.Decoder, s *agentapi.DoltStatus) {
	d.Object(func(k string) bool {
		switch k {
		case "port":
			d.Int(&s.Port)
		case "server_dir":
			d.String(&s.ServerDir)
		case "files_error":
			d.String(&s.FilesError)
		case "last_flush":
			jsoncodec.Ptr(d, &s.LastFlush, func(f *agentapi.Flush) { readFlush(d, f) })
		default:
			return false
		}
		return true
	})
}

func readFlush(d *jsoncodec.Decoder, f *agentapi.Flush) {
	d.Object(func(k string) bool {
		switch k {
		case "at":
			d.Time(&f.At)
		case "committed":
			readStrings(d, &f.Committed)
		case "error":
			d.String(&f.Error)
		case "ms":
			d.Float64(&f.MS)
		default:
			return false
		}
		return true
	})
}

func readEvent(d *jsoncodec.Decoder, e *agentapi.Event) {
	d.Object(func(k string) bool {
		switch k {
		case "at":
			d.Time(&e.At)
		case "kind":
			d.String(&e.Kind)
		case "daemon":
			d.String(&e.Daemon)
		case "pid":
			d.Int(&e.Pid)
		case "argv_hash":
			d.String(&e.ArgvHash)
		case "exit_code":
			jsoncodec.Ptr(d, &e.ExitCode, d.Int)
		case "signal":
			d.String(&e.Signal)
		case "uptime_seconds":
			jsoncodec.Ptr(d, &e.UptimeSeconds, d.Float64)
		case "reason":
			d.String(&e.Reason)
		case "detail":
			d.String(&e.Detail)
		case "health":
			d.String(&e.Health)
		case "from":
			d.String(&e.From)
		case "message":
			d.String(&e.Message)
		case "action":
			d.String(&e.Action)
		case "spec_hash":
			d.String(&e.SpecHash)
		case "rss_bytes":
			d.Uint64(&e.RSSBytes)
		case "limit_bytes":
			d.Uint64(&e.LimitBytes)
		case "version":
			d.String(&e.Version)
		case "dropped":
			d.Int64(&e.Dropped)
		case "alert":
			d.String(&e.Alert)
		default:
			return false
		}
		return true
	})
}

func readAlertSpec(d *jsoncodec.Decoder, a *agentapi.AlertSpec) {
	d.Object(func(k string) bool {
		switch k {
		case "name":
			d.String(&a.Name)
		case "on":
			readStrings(d, &a.On)
		case "command":
			readStrings(d, &a.Command)
		case "dir":
			d.String(&a.Dir)
		case "timeout":
			d.Int64((*int64)(&a.Timeout))
		case "daemons":
			readStrings(d, &a.Daemons)
		case "unhealthy_for":
			d.Int64((*int64)(&a.UnhealthyFor))
		case "window":
			d.Int64((*int64)(&a.Window))
		default:
			return false
		}
		return true
	})
}

// decodeStateSummary reads b into v as json.Unmarshal(b, v) would; v's
// strings share b's memory (b is not written again).
func decodeStateSummary(b []byte, v *stateSummary) error {
	return jsoncodec.UnmarshalShared(b, func(d *jsoncodec.Decoder) { readStateSummary(d, v) })
}

func readStateSummary(d *jsoncodec.Decoder, v *stateSummary) {
	d.Object(func(k string) bool {
		switch k {
		case "of":
			jsoncodec.Ptr(d, &v.Of, func(c *contentStamp) {
				d.Object(func(k string) bool {
					switch k {
					case "size":
						d.Int(&c.Size)
					case "crc32":
						d.Uint32(&c.CRC32)
					case "file":
						jsoncodec.Ptr(d, &c.File, func(f *fileIdentity) {
							d.Object(func(k string) bool {
								switch k {
								case "dev":
									d.Uint64(&f.Dev)
								case "ino":
									d.Uint64(&f.Ino)
								case "mtime_ns":
									d.Int64(&f.MtimeNs)
								case "ctime_ns":
									d.Int64(&f.CtimeNs)
								default:
									return false
								}
								return true
							})
						})
					default:
						return false
					}
					return true
				})
			})
		case "format_version":
			d.Int(&v.FormatVersion)
		case "lineage":
			d.String(&v.Lineage)
		case "serial":
			d.Int64(&v.Serial)
		case "env":
			d.String(&v.Env)
		case "config_hash":
			d.String(&v.ConfigHash)
		case "daemons":
			jsoncodec.Map(d, &v.Daemons, func(s *summaryDaemon) { readSummaryDaemon(d, s) })
		default:
			return false
		}
		return true
	})
}

func readSummaryDaemon(d *jsoncodec.Decoder, s *summaryDaemon) {
	d.Object(func(k string) bool {
		switch k {
		case "spec":
			d.Object(func(k string) bool {
				if k != "limits" {
					return false
				}
				d.Object(func(k string) bool {
					if k != "memory" {
						return false
					}
					d.Uint64(&s.Spec.Limits.Memory)
					return true
				})
				return true
			})
		case "hash":
			d.String(&s.Hash)
		case "pid":
			d.Int(&s.Pid)
		case "start_time":
			d.Time(&s.StartTime)
		case "stopped":
			d.Bool(&s.Stopped)
		case "destroyed":
			d.Bool(&s.Destroyed)
		case "completed_at":
			d.Time(&s.CompletedAt)
		default:
			return false
		}
		return true
	})
}

// readBody reads the whole body of resp, into a buffer of its
// Content-Length when it has one, else of 32 KB at first (a brief status
// of 50 daemons is 22 KB: grown from 512 bytes, it was copied six times
// into fresh memory, 2.7 % of a status).
func readBody(resp *sockhttp.Response) ([]byte, error) {
	n, err := strconv.Atoi(resp.Header["content-length"])
	if err != nil || n < 0 {
		n = 32 << 10
	}
	b := make([]byte, 0, min(n, 64<<20)+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		m, err := resp.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// decodeState reads state.json's content b into st as json.Unmarshal into
// a stateJSON and readState's conversion would (st.Daemons never nil),
// without reflection: encoding/json's reading of a 1,000-daemon state was
// over a third of a plan. st's strings share b's memory (b is not written
// again). TestStateDecodesAsEncodingJSON fills every field.
func decodeState(b []byte, st *State) error {
	err := jsoncodec.UnmarshalShared(b, func(d *jsoncodec.Decoder) {
		d.Object(func(k string) bool {
			switch k {
			case "format_version":
				d.Int(&st.FormatVersion)
			case "lineage":
				d.String(&st.Lineage)
			case "serial":
				d.Int64(&st.Serial)
			case "env":
				d.String(&st.Env)
			case "config_hash":
				d.String(&st.ConfigHash)
			case "daemons":
				jsoncodec.Map(d, &st.Daemons, func(ds *DaemonState) { readDaemonState(d, ds) })
			default:
				return false
			}
			return true
		})
	})
	if st.Daemons == nil {
		st.Daemons = map[string]DaemonState{}
	}
	return err
}

func readDaemonState(d *jsoncodec.Decoder, ds *DaemonState) {
	d.Object(func(k string) bool {
		switch k {
		case "spec":
			schema.ReadDaemonJSON(d, &ds.Spec)
		case "environment_plain":
			d.Bool(&ds.EnvPlain)
		case "hash":
			d.String(&ds.Hash)
		case "applied_at":
			d.Time(&ds.AppliedAt)
		case "pid":
			d.Int(&ds.Pid)
		case "start_time":
			d.Time(&ds.StartTime)
		case "argv":
			readStrings(d, &ds.Argv)
		case "dir":
			d.String(&ds.Dir)
		case "env_hash":
			d.String(&ds.EnvHash)
		case "stopped":
			d.Bool(&ds.Stopped)
		case "destroyed":
			d.Bool(&ds.Destroyed)
		case "completed_at":
			d.Time(&ds.CompletedAt)
		default:
			return false
		}
		return true
	})
}
