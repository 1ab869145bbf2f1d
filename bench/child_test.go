//go:build linux

package main

import (
	"fmt"
	"testing"
)

// TestPayloadIsTheDocumentedLine: the fast payload is byte for byte the line
// the checker expects (it was fmt.Sprintf's).
func TestPayloadIsTheDocumentedLine(t *testing.T) {
	for _, i := range []int{0, 1, 9, 10, 12345678, 99999999, 100000000, 1234567890} {
		want := fmt.Sprintf("L%08d the quick brown fox %s jumps over the lazy dog %08d|", i, fillers[i%len(fillers)], i)
		if got := payload(i); got != want {
			t.Errorf("payload(%d) = %q, want %q", i, got, want)
		}
	}
}
