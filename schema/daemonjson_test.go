package schema

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beadsctl/beadsctl/internal/jsoncodec"
	"github.com/beadsctl/beadsctl/internal/jsoncodec/jsoncodectest"
)

// TestDaemonJSONReadsAsEncodingJSON: ReadDaemonJSON reads what
// encoding/json reads into a DaemonJSON, for random values in every field
// of Daemon and its types (a field added to one of them and not to
// ReadDaemonJSON fails here), as MarshalJSON writes them and rewritten
// with keys folded and escaped, unknown, repeated and null members.
func TestDaemonJSONReadsAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 4))
	const n = 2000
	read := 0
	for i := range n {
		var in Daemon
		jsoncodectest.Fill(&in, r)
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		for j, text := range [][]byte{b, jsoncodectest.Rewrite(b, r)} {
			var v DaemonJSON
			werr := json.Unmarshal(text, &v)
			want := v.Daemon()
			var got Daemon
			gerr := jsoncodec.Unmarshal(text, func(d *jsoncodec.Decoder) { ReadDaemonJSON(d, &got) })
			if (werr != nil || gerr != nil) && (j == 0 || (werr == nil) != (gerr == nil)) {
				t.Fatalf("%d: %s\nencoding/json: %v\njsoncodec: %v", i, text, werr, gerr)
			}
			if werr == nil && !reflect.DeepEqual(want, got) {
				t.Fatalf("%d: %s\n(-encoding/json +jsoncodec):\n%s", i, text, cmp.Diff(want, got))
			}
			if j == 1 && werr == nil {
				read++
			}
		}
	}
	if read < n/2 {
		t.Errorf("only %d rewritten texts of %d were read", read, n)
	}
}
