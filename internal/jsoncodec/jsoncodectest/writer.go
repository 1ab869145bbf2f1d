package jsoncodectest

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// WritesAsEncodingJSON checks a writer of T against encoding/json: for n
// values filled at random (Fill; then prepare, when not nil, with the
// value's index), got, appending to a prefix it must keep, writes the bytes
// want (encoding/json) writes. A field of T's types the writer forgets is a
// difference.
func WritesAsEncodingJSON[T any](t *testing.T, r *rand.Rand, n int, prepare func(i int, v *T),
	want func(*T) ([]byte, error), got func([]byte, *T) ([]byte, error)) {
	t.Helper()
	for i := range n {
		var in T
		Fill(&in, r)
		if prepare != nil {
			prepare(i, &in)
		}
		w, err := want(&in)
		if err != nil {
			t.Fatal(err)
		}
		g, err := got([]byte("kept"), &in)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(g, []byte("kept")) || !bytes.Equal(g[4:], w) {
			t.Fatalf("%d: (-encoding/json +ours):\n%s", i, cmp.Diff(string(w), string(g[4:])))
		}
	}
}

// RefusesAsEncodingJSON checks that got refuses each of cases, which want
// (encoding/json) refuses (a float that is NaN or infinite, a time out of
// RFC 3339's years): an error, and nothing appended.
func RefusesAsEncodingJSON[T any](t *testing.T, cases map[string]T,
	want func(*T) ([]byte, error), got func([]byte, *T) ([]byte, error)) {
	t.Helper()
	for name, in := range cases {
		if _, err := want(&in); err == nil {
			t.Fatalf("%s: encoding/json wrote it", name)
		}
		b, err := got([]byte("kept"), &in)
		if err == nil || string(b) != "kept" {
			t.Errorf("%s: %q, %v; want an error and nothing appended", name, b, err)
		}
	}
}
