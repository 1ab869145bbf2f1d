package schema

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestDaemonJSON: durations are written as duration strings and read back
// (numbers of nanoseconds are read too), and the round trip loses nothing.
func TestDaemonJSON(t *testing.T) {
	d := Daemon{
		Name: "beads", Command: "bd", Args: []string{"daemon"}, Interval: 5 * time.Second, Dir: "/w",
		Restart: Restart{Policy: "always", Delay: 5 * time.Second, Backoff: "constant", MaxDelay: time.Minute, MaxRestarts: 10, MinUptime: 10 * time.Second},
		Limits:  Limits{Memory: 200 << 20, CheckInterval: 250 * time.Millisecond},
		Stop:    Stop{Signal: "SIGTERM", Timeout: 5 * time.Second},
		Health:  Health{Check: "tcp", Interval: 30 * time.Second, Timeout: 5 * time.Second, Failures: 3, Address: "127.0.0.1:1"},
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"interval":"5s"`, `"delay":"5s"`, `"max_delay":"1m0s"`, `"min_uptime":"10s"`,
		`"check_interval":"250ms"`, `"timeout":"5s"`, `"interval":"30s"`, `"max_restarts":10`, `"memory":209715200`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	var back Daemon
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, back, cmpopts.IgnoreFields(Daemon{}, "DeclRange")); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	var old Daemon
	if err := json.Unmarshal([]byte(`{"name":"x","interval":5000000000,"stop":{"signal":"SIGTERM","timeout":2000000000}}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.Interval != 5*time.Second || old.Stop.Timeout != 2*time.Second {
		t.Errorf("nanoseconds read as %v and %v", old.Interval, old.Stop.Timeout)
	}
	if err := json.Unmarshal([]byte(`{"stop":{"timeout":"soon"}}`), &old); err == nil {
		t.Error("a bad duration string was accepted")
	}
}

// fillAll sets every exported field of v that has a JSON form (not
// `json:"-"`) to a value that is not zero, recursively; durations get whole
// seconds, which their string form keeps exactly.
func fillAll(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x" + v.Type().Name())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		if v.Type() == reflect.TypeOf(time.Duration(0)) {
			v.SetInt(int64(7 * time.Second))
		} else {
			v.SetInt(7)
		}
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		v.SetUint(7)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(v.Elem())
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fillAll(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fillAll(k)
		fillAll(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() && f.Tag.Get("json") != "-" {
				fillAll(v.Field(i))
			}
		}
	}
}

// TestDaemonJSONEveryField: a daemon with every field set comes back from
// its JSON equal, through Daemon's own decoding (its restart, limits, stop
// and health read in one pass) and through each block type's.
func TestDaemonJSONEveryField(t *testing.T) {
	var d Daemon
	fillAll(reflect.ValueOf(&d).Elem())
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var back Daemon
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	for _, x := range []any{&d.Restart, &d.Limits, &d.Stop, &d.Health} {
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		y := reflect.New(reflect.TypeOf(x).Elem())
		if err := json.Unmarshal(b, y.Interface()); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(x, y.Interface()); diff != "" {
			t.Errorf("%T round trip (-want +got):\n%s", x, diff)
		}
	}
	// A duration written with escapes, or as nanoseconds, still reads.
	var e Daemon
	if err := json.Unmarshal([]byte(`{"restart":{"delay":"\u0035s","min_uptime":3000000000},"health":null}`), &e); err != nil ||
		e.Restart.Delay != 5*time.Second || e.Restart.MinUptime != 3*time.Second {
		t.Fatalf("read %+v (%v)", e.Restart, err)
	}
}
