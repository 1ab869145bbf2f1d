package schema

import (
	"encoding/json"
	"fmt"
	"time"
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
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = jsonDuration(v)
		return nil
	}
	var n int64 // nanoseconds, as encoding/json writes a time.Duration
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration: want a string such as \"5s\", got %s", b)
	}
	*d = jsonDuration(n)
	return nil
}

// MarshalJSON writes the daemon with its interval as a duration string.
func (d Daemon) MarshalJSON() ([]byte, error) {
	type plain Daemon
	return json.Marshal(struct {
		plain
		Interval jsonDuration `json:"interval,omitempty"`
	}{plain(d), jsonDuration(d.Interval)})
}

// UnmarshalJSON reads what MarshalJSON writes (and nanosecond numbers).
func (d *Daemon) UnmarshalJSON(b []byte) error {
	type plain Daemon
	var v struct {
		plain
		Interval jsonDuration `json:"interval,omitempty"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = Daemon(v.plain)
	d.Interval = time.Duration(v.Interval)
	return nil
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

// UnmarshalJSON reads what MarshalJSON writes (and nanosecond numbers).
func (r *Restart) UnmarshalJSON(b []byte) error {
	type plain Restart
	var v struct {
		plain
		Delay     jsonDuration `json:"delay"`
		MaxDelay  jsonDuration `json:"max_delay"`
		MinUptime jsonDuration `json:"min_uptime"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Restart(v.plain)
	r.Delay, r.MaxDelay, r.MinUptime = time.Duration(v.Delay), time.Duration(v.MaxDelay), time.Duration(v.MinUptime)
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

// UnmarshalJSON reads what MarshalJSON writes (and nanosecond numbers).
func (l *Limits) UnmarshalJSON(b []byte) error {
	type plain Limits
	var v struct {
		plain
		CheckInterval jsonDuration `json:"check_interval"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*l = Limits(v.plain)
	l.CheckInterval = time.Duration(v.CheckInterval)
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

// UnmarshalJSON reads what MarshalJSON writes (and nanosecond numbers).
func (s *Stop) UnmarshalJSON(b []byte) error {
	type plain Stop
	var v struct {
		plain
		Timeout jsonDuration `json:"timeout"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Stop(v.plain)
	s.Timeout = time.Duration(v.Timeout)
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

// UnmarshalJSON reads what MarshalJSON writes (and nanosecond numbers).
func (h *Health) UnmarshalJSON(b []byte) error {
	type plain Health
	var v struct {
		plain
		Interval jsonDuration `json:"interval,omitempty"`
		Timeout  jsonDuration `json:"timeout,omitempty"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*h = Health(v.plain)
	h.Interval, h.Timeout = time.Duration(v.Interval), time.Duration(v.Timeout)
	return nil
}
