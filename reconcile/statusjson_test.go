package reconcile

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/jsoncodec/jsoncodectest"
	"github.com/beadsctl/beadsctl/schema"
)

// TestAgentStatusDecodesAsEncodingJSON: the agent's status answer and the
// state summary read by jsoncodec are what encoding/json reads, for random
// values in every field of the types (so a field added to one of them and
// not to its reader fails here), written compact, indented, and rewritten
// with keys folded or escaped, unknown and repeated members.
func TestAgentStatusDecodesAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 2))
	const n = 3000
	read := 0
	for i := range n {
		var in agentapi.AgentStatus
		jsoncodectest.Fill(&in, r)
		if checkDecodesAsJSON(t, i, r, &in, func(b []byte, v *agentapi.AgentStatus) error {
			return json.NewDecoder(bytes.NewReader(b)).Decode(v)
		}, decodeAgentStatus) {
			read++
		}

		var sum stateSummary
		jsoncodectest.Fill(&sum, r)
		if checkDecodesAsJSON(t, i, r, &sum, func(b []byte, v *stateSummary) error { return json.Unmarshal(b, v) }, decodeStateSummary) {
			read++
		}
	}
	// A rewritten text fails where an unknown member lands in a map of
	// numbers (restarts_by_reason): both refuse it, and most are read.
	if read < n {
		t.Errorf("only %d rewritten texts of %d were read", read, 2*n)
	}
}

// checkDecodesAsJSON checks that got reads what want does of in written by
// encoding/json, compact and indented (both must read it), and rewritten
// (jsoncodectest.Rewrite: both read it or both fail; true when they read it).
func checkDecodesAsJSON[T any](t *testing.T, i int, r *rand.Rand, in *T, want, got func([]byte, *T) error) bool {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ind, err := json.MarshalIndent(in, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	read := false
	for j, text := range [][]byte{b, ind, jsoncodectest.Rewrite(b, r)} {
		var w, g T
		werr, gerr := want(text, &w), got(text, &g)
		if (werr != nil || gerr != nil) && (j < 2 || (werr == nil) != (gerr == nil)) {
			t.Fatalf("%d: %s\nencoding/json: %v\njsoncodec: %v", i, text, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(w, g) {
			t.Fatalf("%d: %s\n(-encoding/json +jsoncodec):\n%s", i, text, cmp.Diff(w, g))
		}
		read = werr == nil
	}
	return read
}

// TestStatusJSONFieldNames: every JSON name of the types the status readers
// decode is lower-case ASCII, which is what their folded match of a key
// (jsoncodec.Decoder.Object) takes for granted.
func TestStatusJSONFieldNames(t *testing.T) {
	lower := regexp.MustCompile(`^[a-z0-9_]+$`)
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(ty reflect.Type) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] || ty.PkgPath() == "time" {
			return
		}
		seen[ty] = true
		for i := range ty.NumField() {
			f := ty.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if !lower.MatchString(name) {
				t.Errorf("%v.%s: JSON name %q is not lower-case ASCII", ty, f.Name, name)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[agentapi.AgentStatus]())
	walk(reflect.TypeFor[stateSummary]())
}

// FuzzDecodeAgentStatus: for any body, the agent status reader fails where
// encoding/json's Decoder fails and reads the same value where it does not.
func FuzzDecodeAgentStatus(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var w, g agentapi.AgentStatus
		werr := json.NewDecoder(bytes.NewReader(b)).Decode(&w)
		gerr := decodeAgentStatus(b, &g)
		checkSameDecode(t, b, werr, gerr, w, g)
	})
}

// FuzzDecodeStateSummary: the same for the state summary and json.Unmarshal.
func FuzzDecodeStateSummary(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var w, g stateSummary
		werr := json.Unmarshal(b, &w)
		gerr := decodeStateSummary(b, &g)
		checkSameDecode(t, b, werr, gerr, w, g)
	})
}

func checkSameDecode[T any](t *testing.T, b []byte, werr, gerr error, w, g T) {
	t.Helper()
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%q\nencoding/json: %v\njsoncodec: %v", b, werr, gerr)
	}
	if werr == nil && !reflect.DeepEqual(w, g) {
		t.Fatalf("%q\n(-encoding/json +jsoncodec):\n%s", b, cmp.Diff(w, g))
	}
}

// stateJSON is a State as ReadState decoded it through encoding/json (each
// daemon's spec through schema.DaemonJSON): decodeState's reference.
type stateJSON struct {
	State
	Daemons map[string]daemonStateJSON `json:"daemons"`
}

type daemonStateJSON struct {
	DaemonState
	Spec schema.DaemonJSON `json:"spec"`
}

// unmarshalState is what ReadState read of b through encoding/json.
func unmarshalState(b []byte, st *State) error {
	var in stateJSON
	err := json.Unmarshal(b, &in)
	*st = in.State
	st.Daemons = make(map[string]DaemonState, len(in.Daemons))
	for name, d := range in.Daemons {
		ds := d.DaemonState
		ds.Spec = d.Spec.Daemon()
		st.Daemons[name] = ds
	}
	return err
}

// TestStateDecodesAsEncodingJSON: state.json read by decodeState is what
// ReadState read through encoding/json, for random values in every field
// of State, DaemonState and the spec's types (a field added to one of them
// and not to decodeState or schema.ReadDaemonJSON fails here), written as
// writeState writes it, compact, and rewritten (see
// TestAgentStatusDecodesAsEncodingJSON).
func TestStateDecodesAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 3))
	const n = 1500
	read := 0
	for i := range n {
		var in State
		jsoncodectest.Fill(&in, r)
		if checkDecodesAsJSON(t, i, r, &in, unmarshalState, decodeState) {
			read++
		}
	}
	// A rewritten text fails where an unknown member lands in a map of
	// strings (a spec's environment) or a duration is repeated as null.
	if read < n/2 {
		t.Errorf("only %d rewritten texts of %d were read", read, n)
	}
}

// FuzzDecodeState: for any state.json, decodeState fails where
// encoding/json fails and reads the same state where it does not.
func FuzzDecodeState(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var w, g State
		werr := unmarshalState(b, &w)
		gerr := decodeState(b, &g)
		checkSameDecode(t, b, werr, gerr, w, g)
	})
}
