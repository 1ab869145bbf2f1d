package schema

import (
	"time"

	"github.com/beadsctl/beadsctl/internal/jsoncodec"
)

// ReadDaemonJSON reads a daemon's JSON form into v as encoding/json reads a
// DaemonJSON into a zero value and Daemon() makes it a Daemon, without
// reflection (state.json's specs: encoding/json was ~a third of a plan of
// 1,000 daemons). Durations are read by jsonDuration's UnmarshalJSON.
// v may hold what an earlier member of the same name left (encoding/json
// reads a repeated member over the first). TestDaemonJSONReadsAsEncodingJSON
// (and reconcile's TestStateDecodesAsEncodingJSON) fills every field of the
// types: a field added to one and not here fails it.
func ReadDaemonJSON(d *jsoncodec.Decoder, v *Daemon) {
	d.Object(func(k string) bool {
		switch k {
		case "name":
			d.String(&v.Name)
		case "command":
			d.String(&v.Command)
		case "args":
			readStrings(d, &v.Args)
		case "interval":
			readDuration(d, &v.Interval)
		case "dir":
			d.String(&v.Dir)
		case "root":
			d.String(&v.Root)
		case "environment":
			jsoncodec.Map(d, &v.Environment, d.String)
		case "env_files":
			readStrings(d, &v.EnvFiles)
		case "sensitive":
			readStrings(d, &v.Sensitive)
		case "restart":
			block(d, &v.Restart, readRestart)
		case "limits":
			block(d, &v.Limits, readLimits)
		case "stop":
			block(d, &v.Stop, readStop)
		case "logs":
			readLogs(d, &v.Logs)
		case "health":
			block(d, &v.Health, readHealth)
		case "depends_on":
			jsoncodec.Slice(d, &v.DependsOn, func(dep *Dependency) { readDependency(d, dep) })
		case "dolt":
			jsoncodec.Ptr(d, &v.Dolt, func(s *DoltServer) { readDoltServer(d, s) })
		case "hash":
			d.String(&v.Hash)
		default:
			return false
		}
		return true
	})
}

func readStrings(d *jsoncodec.Decoder, s *[]string) { jsoncodec.Slice(d, s, d.String) }

// block reads a member DaemonJSON holds as a pointer (*restartJSON...)
// into *p: null is no block (a zero T), an object is read into what an
// earlier one left.
func block[T any](d *jsoncodec.Decoder, p *T, read func(*jsoncodec.Decoder, *T)) {
	if d.Null() {
		var zero T
		*p = zero
		return
	}
	read(d, p)
}

// readDuration reads a jsonDuration: its UnmarshalJSON given the value as
// it is written.
func readDuration(d *jsoncodec.Decoder, p *time.Duration) {
	raw := d.Raw()
	if d.Err() != nil {
		return
	}
	if err := (*jsonDuration)(p).UnmarshalJSON(raw); err != nil {
		d.Fail(err)
	}
}

func readRestart(d *jsoncodec.Decoder, r *Restart) {
	d.Object(func(k string) bool {
		switch k {
		case "policy":
			d.String(&r.Policy)
		case "delay":
			readDuration(d, &r.Delay)
		case "backoff":
			d.String(&r.Backoff)
		case "max_delay":
			readDuration(d, &r.MaxDelay)
		case "max_restarts":
			d.Int(&r.MaxRestarts)
		case "min_uptime":
			readDuration(d, &r.MinUptime)
		default:
			return false
		}
		return true
	})
}

func readLimits(d *jsoncodec.Decoder, l *Limits) {
	d.Object(func(k string) bool {
		switch k {
		case "memory":
			d.Uint64(&l.Memory)
		case "check_interval":
			readDuration(d, &l.CheckInterval)
		default:
			return false
		}
		return true
	})
}

func readStop(d *jsoncodec.Decoder, s *Stop) {
	d.Object(func(k string) bool {
		switch k {
		case "signal":
			d.String(&s.Signal)
		case "timeout":
			readDuration(d, &s.Timeout)
		default:
			return false
		}
		return true
	})
}

func readLogs(d *jsoncodec.Decoder, l *Logs) {
	d.Object(func(k string) bool {
		switch k {
		case "out":
			d.String(&l.Out)
		case "error":
			d.String(&l.Error)
		case "combined":
			d.String(&l.Combined)
		case "timestamps":
			d.Bool(&l.Timestamps)
		case "date_format":
			d.String(&l.DateFormat)
		case "go_layout":
			d.String(&l.GoLayout)
		case "rotate":
			d.Object(func(k string) bool {
				switch k {
				case "max_size":
					d.Uint64(&l.Rotate.MaxSize)
				case "keep":
					d.Int(&l.Rotate.Keep)
				case "compress":
					d.Bool(&l.Rotate.Compress)
				default:
					return false
				}
				return true
			})
		default:
			return false
		}
		return true
	})
}

func readHealth(d *jsoncodec.Decoder, h *Health) {
	d.Object(func(k string) bool {
		switch k {
		case "check":
			d.String(&h.Check)
		case "interval":
			readDuration(d, &h.Interval)
		case "timeout":
			readDuration(d, &h.Timeout)
		case "failures":
			d.Int(&h.Failures)
		case "command":
			readStrings(d, &h.Command)
		case "address":
			d.String(&h.Address)
		case "sql":
			jsoncodec.Ptr(d, &h.SQL, func(s *SQLCheck) { readSQLCheck(d, s) })
		case "http":
			jsoncodec.Ptr(d, &h.HTTP, func(c *HTTPCheck) { readHTTPCheck(d, c) })
		case "online_after":
			d.Int64((*int64)(&h.OnlineAfter))
		default:
			return false
		}
		return true
	})
}

func readSQLCheck(d *jsoncodec.Decoder, s *SQLCheck) {
	d.Object(func(k string) bool {
		switch k {
		case "address":
			d.String(&s.Address)
		case "user":
			d.String(&s.User)
		case "databases":
			jsoncodec.Slice(d, &s.Databases, func(db *SQLDatabase) {
				d.Object(func(k string) bool {
					switch k {
					case "name":
						d.String(&db.Name)
					case "project_id":
						d.String(&db.ProjectID)
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
}

func readHTTPCheck(d *jsoncodec.Decoder, c *HTTPCheck) {
	d.Object(func(k string) bool {
		switch k {
		case "url":
			d.String(&c.URL)
		case "status":
			jsoncodec.Slice(d, &c.Status, d.Int)
		case "body":
			d.String(&c.Body)
		case "tls_skip_verify":
			d.Bool(&c.TLSSkipVerify)
		default:
			return false
		}
		return true
	})
}

func readDependency(d *jsoncodec.Decoder, dep *Dependency) {
	d.Object(func(k string) bool {
		switch k {
		case "daemon":
			d.String(&dep.Daemon)
		case "condition":
			d.String(&dep.Condition)
		case "on_restart":
			d.String(&dep.OnRestart)
		default:
			return false
		}
		return true
	})
}

func readDoltServer(d *jsoncodec.Decoder, s *DoltServer) {
	d.Object(func(k string) bool {
		switch k {
		case "workspace":
			d.String(&s.Workspace)
		case "workspaces":
			jsoncodec.Slice(d, &s.Workspaces, func(p *DoltProject) {
				d.Object(func(k string) bool {
					switch k {
					case "workspace":
						d.String(&p.Workspace)
					case "beads_dir":
						d.String(&p.BeadsDir)
					case "database":
						d.String(&p.Database)
					case "project_id":
						d.String(&p.ProjectID)
					default:
						return false
					}
					return true
				})
			})
		case "shared":
			d.Bool(&s.Shared)
		case "server_dir":
			d.String(&s.ServerDir)
		case "data_dir":
			d.String(&s.DataDir)
		case "host":
			d.String(&s.Host)
		case "port":
			d.Int(&s.Port)
		case "user":
			d.String(&s.User)
		case "disable_bd_auto_start":
			d.Bool(&s.DisableBdAutoStart)
		default:
			return false
		}
		return true
	})
}
