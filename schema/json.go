package schema

import (
	"encoding/json"
	"fmt"
	"time"
	"unsafe"
)

// The JSON form of a Daemon (in state.json, `plan --json` and the hash) writes
// durations as Go duration strings ("5s", "1m0s"), not nanoseconds, so that a
// person or jq reads them as they were written. Decoding takes either form.

// jsonDuration is a time.Duration that is a string in JSON.
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	// A string without escapes, as MarshalJSON writes it, is read without a
	// json.Unmarshal (8 % of reading a state of 1,000 daemons), and without
	// an allocation (the slow path's variables escape to json.Unmarshal).
	if plainString(b) {
		return d.parse(unsafe.String(&b[1], len(b)-2))
	}
	return d.unmarshalSlow(b)
}

// parse sets d to the duration s (which it does not keep).
func (d *jsonDuration) parse(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = jsonDuration(v)
	return nil
}

// unmarshalSlow is UnmarshalJSON of any other value: a string with
// escapes, or nanoseconds as encoding/json writes a time.Duration.
func (d *jsonDuration) unmarshalSlow(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		return d.parse(s)
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration: want a string such as \"5s\", got %s", b)
	}
	*d = jsonDuration(n)
	return nil
}

// plainString reports whether b is a JSON string of printable ASCII without
// escapes (which its content between the quotes is, byte for byte).
func plainString(b []byte) bool {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return false
	}
	for _, c := range b[1 : len(b)-1] {
		if c < 0x20 || c >= 0x7f || c == '\\' || c == '"' {
			return false
		}
	}
	return true
}

// MarshalJSON writes the daemon with its interval as a duration string.
func (d Daemon) MarshalJSON() ([]byte, error) {
	type plain Daemon
	return json.Marshal(struct {
		plain
		Interval jsonDuration `json:"interval,omitempty"`
	}{plain(d), jsonDuration(d.Interval)})
}

// UnmarshalJSON reads what MarshalJSON writes (and nanosecond numbers),
// through DaemonJSON.
func (d *Daemon) UnmarshalJSON(b []byte) error {
	var v DaemonJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = v.Daemon()
	return nil
}

type plainDaemon Daemon

// DaemonJSON is the JSON form of a Daemon as it is decoded, without an
// UnmarshalJSON of its own: a struct that holds many daemons (state.json's
// specs) declares its fields of this type, and each spec is decoded in the
// one pass over the whole file. Through Daemon.UnmarshalJSON, encoding/json
// scanned each spec twice more (to find its end, then to check it before
// decoding it): a fifth of reading a state of 1,000 daemons. The restart,
// limits, stop and health objects are decoded through their JSON shadows
// here, in the same pass: through their own UnmarshalJSON each was scanned
// again by a json.Unmarshal of its own (a third of reading a state of 1,000
// daemons).
type DaemonJSON struct {
	plainDaemon
	Interval jsonDuration `json:"interval,omitempty"`
	Restart  *restartJSON `json:"restart"`
	Limits   *limitsJSON  `json:"limits"`
	Stop     *stopJSON    `json:"stop"`
	Health   *healthJSON  `json:"health"`
}

// Daemon is the daemon v decoded.
func (v *DaemonJSON) Daemon() Daemon {
	d := Daemon(v.plainDaemon)
	d.Interval = time.Duration(v.Interval)
	if v.Restart != nil {
		d.Restart = v.Restart.value()
	}
	if v.Limits != nil {
		d.Limits = v.Limits.value()
	}
	if v.Stop != nil {
		d.Stop = v.Stop.value()
	}
	if v.Health != nil {
		d.Health = v.Health.value()
	}
	return d
}

// MarshalJSON writes the delays as duration strings.
func (r Restart) MarshalJSON() ([]byte, error) {
	type plain Restart
	return json.Marshal(struct {
		plain
		Delay     jsonDuration `json:"delay"`
		MaxDelay  jsonDuration `json:"max_delay"`
		MinUptime jsonDuration `json:"min_uptime"`
	}{plain(r), jsonDuration(r.Delay), jsonDuration(r.MaxDelay), jsonDuration(r.MinUptime)})
}

// restartJSON is Restart as JSON reads it.
type restartJSON struct {
	restartPlain
	Delay     jsonDuration `json:"delay"`
	MaxDelay  jsonDuration `json:"max_delay"`
	MinUptime jsonDuration `json:"min_uptime"`
}

type restartPlain Restart

func (v *restartJSON) value() Restart {
	r := Restart(v.restartPlain)
	r.Delay, r.MaxDelay, r.MinUptime = time.Duration(v.Delay), time.Duration(v.MaxDelay), time.Duration(v.MinUptime)
	return r
}

// UnmarshalJSON reads what MarshalJSON writes (and nanosecond numbers).
func (r *Restart) UnmarshalJSON(b []byte) error {
	var v restartJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = v.value()
	return nil
}

// MarshalJSON writes the check interval as a duration string.
func (l Limits) MarshalJSON() ([]byte, error) {
	type plain Limits
	return json.Marshal(struct {
		plain
		CheckInterval jsonDuration `json:"check_interval"`
	}{plain(l), jsonDuration(l.CheckInterval)})
}

// limitsJSON is Limits as JSON reads it.
type limitsJSON struct {
	limitsPlain
	CheckInterval jsonDuration `json:"check_interval"`
}

type limitsPlain Limits

func (v *limitsJSON) value() Limits {
	l := Limits(v.limitsPlain)
	l.CheckInterval = time.Duration(v.CheckInterval)
	return l
}

// UnmarshalJSON reads what MarshalJSON writes (and nanosecond numbers).
func (l *Limits) UnmarshalJSON(b []byte) error {
	var v limitsJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*l = v.value()
	return nil
}

// MarshalJSON writes the timeout as a duration string.
func (s Stop) MarshalJSON() ([]byte, error) {
	type plain Stop
	return json.Marshal(struct {
		plain
		Timeout jsonDuration `json:"timeout"`
	}{plain(s), jsonDuration(s.Timeout)})
}

// stopJSON is Stop as JSON reads it.
type stopJSON struct {
	stopPlain
	Timeout jsonDuration `json:"timeout"`
}

type stopPlain Stop

func (v *stopJSON) value() Stop {
	s := Stop(v.stopPlain)
	s.Timeout = time.Duration(v.Timeout)
	return s
}

// UnmarshalJSON reads what MarshalJSON writes (and nanosecond numbers).
func (s *Stop) UnmarshalJSON(b []byte) error {
	var v stopJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = v.value()
	return nil
}

// MarshalJSON writes the interval and timeout as duration strings.
func (h Health) MarshalJSON() ([]byte, error) {
	type plain Health
	return json.Marshal(struct {
		plain
		Interval jsonDuration `json:"interval,omitempty"`
		Timeout  jsonDuration `json:"timeout,omitempty"`
	}{plain(h), jsonDuration(h.Interval), jsonDuration(h.Timeout)})
}

// healthJSON is Health as JSON reads it.
type healthJSON struct {
	healthPlain
	Interval jsonDuration `json:"interval,omitempty"`
	Timeout  jsonDuration `json:"timeout,omitempty"`
}

type healthPlain Health

func (v *healthJSON) value() Health {
	h := Health(v.healthPlain)
	h.Interval, h.Timeout = time.Duration(v.Interval), time.Duration(v.Timeout)
	return h
}

// UnmarshalJSON reads what MarshalJSON writes (and nanosecond numbers).
func (h *Health) UnmarshalJSON(b []byte) error {
	var v healthJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*h = v.value()
	return nil
}
