package plural

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		noun string
		want string
	}{
		{0, "daemon", "0 daemons"},
		{1, "daemon", "1 daemon"},
		{2, "daemon", "2 daemons"},
		{1, "profile", "1 profile"},
		{1, "warning", "1 warning"},
		{3, "warning", "3 warnings"},
		{1, "entry", "1 entry"},
		{2, "entry", "2 entries"},
		{2, "key", "2 keys"},
		{2, "process", "2 processes"},
		{2, "connection", "2 connections"},
		{2, "sql-server", "2 sql-servers"},
	} {
		if got := Count(c.n, c.noun); got != c.want {
			t.Errorf("Count(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
}
