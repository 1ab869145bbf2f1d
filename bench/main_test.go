//go:build linux

package main

import (
	"errors"
	"strings"
	"testing"
)

// TestNoEquivalentIsNotMissing: a PM2 cell without an equivalent command
// shows "–" and does not fail the run; a skipped row does not either; an
// error or an outcome without values does.
func TestNoEquivalentIsNotMissing(t *testing.T) {
	row := Row{Key: "k", Title: "t", Target: "<= 50 ms", Format: fmtLoading, Judge: judgeLoading(50, 10)}
	bc := Outcome{Vals: []float64{8, 7, 9}, More: map[string][]float64{perDaemon: {5, 4, 6}}}
	ok := []Result{
		{Row: row, PM2: Outcome{Err: errNoEquivalent}, Beadsctl: bc},
		{Row: row, PM2: Outcome{Err: errSkipped}, Beadsctl: Outcome{Err: errSkipped}},
	}
	if n := missingNumbers(ok); n != 0 {
		t.Errorf("missingNumbers = %d, want 0", n)
	}
	if got := renderTable(ok[:1]); !strings.Contains(got, "| t | – | 8.0 ms (7.0 ms–9.0 ms) (5 µs a daemon) | - | <= 50 ms | yes |") {
		t.Errorf("table:\n%s", got)
	}
	bad := []Result{
		{Row: row, PM2: Outcome{Err: errNoEquivalent}, Beadsctl: Outcome{Err: errors.New("boom")}},
		{Row: row, PM2: Outcome{Err: errNoEquivalent}, Beadsctl: Outcome{}},
	}
	if n := missingNumbers(bad); n != 2 {
		t.Errorf("missingNumbers = %d, want 2", n)
	}
	// Over 10 µs a daemon: not met, though within 50 ms.
	slow := Outcome{Vals: []float64{20}, More: map[string][]float64{perDaemon: {17}}}
	if _, met := row.Judge(Outcome{Err: errNoEquivalent}, slow); met {
		t.Error("17 µs a daemon judged met against 10 µs")
	}
}
