package schema

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSize(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    uint64
		wantErr string
	}{
		"bytes":      {in: "1048576", want: 1 << 20},
		"zero":       {in: "0", want: 0},
		"K":          {in: "512K", want: 512 << 10},
		"M":          {in: "200M", want: 200 << 20},
		"G":          {in: "1G", want: 1 << 30},
		"T":          {in: "2T", want: 2 << 40},
		"lower":      {in: "200m", want: 200 << 20},
		"MB":         {in: "200MB", want: 200 << 20},
		"MiB":        {in: "200MiB", want: 200 << 20},
		"B":          {in: "100B", want: 100},
		"spaces":     {in: " 200 M ", want: 200 << 20},
		"fraction":   {in: "1.5G", wantErr: `"1.5G" is not a size: use a whole number of bytes ("1048576") or a whole number with K, M, G or T ("512K", "200M", "1G"); fractions are not accepted, write "1536M"`},
		"fraction 2": {in: "0.3K", wantErr: `"0.3K" is not a size: use a whole number of bytes ("1048576") or a whole number with K, M, G or T ("512K", "200M", "1G")`},
		"negative":   {in: "-1M", wantErr: `"-1M" is not a size`},
		"unit only":  {in: "M", wantErr: `"M" is not a size`},
		"bad unit":   {in: "10X", wantErr: `"10X" is not a size`},
		"iB alone":   {in: "10iB", wantErr: `"10iB" is not a size`},
		"empty":      {in: "", wantErr: "empty size"},
		"overflow":   {in: "99999999999T", wantErr: "too large"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseSize(%q) = %d, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		"seconds":  {in: "5s", want: 5 * time.Second},
		"mixed":    {in: "1m30s", want: 90 * time.Second},
		"ms":       {in: "500ms", want: 500 * time.Millisecond},
		"zero":     {in: "0", want: 0},
		"zero s":   {in: "0s", want: 0},
		"bare":     {in: "5000", wantErr: `"5000" has no unit: write "5000ms" for milliseconds (as PM2 counts) or "5000s" for seconds`},
		"words":    {in: "5 seconds", wantErr: `is not a duration: use a number with a unit`},
		"negative": {in: "-5s", wantErr: `"-5s" is negative`},
		"empty":    {in: "", wantErr: "is not a duration"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseDuration(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]string{
		"SIGTERM": "SIGTERM", "TERM": "SIGTERM", "sigterm": "SIGTERM", "term": "SIGTERM",
		"INT": "SIGINT", "SIGHUP": "SIGHUP", "QUIT": "SIGQUIT", "KILL": "SIGKILL", "usr1": "SIGUSR1", "SIGUSR2": "SIGUSR2",
	} {
		if got, err := ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "SIGTREM", "15", "SIGSTOP"} {
		if got, err := ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q) = %q, want an error", in, got)
		}
	}
}

func TestMomentToGoLayout(t *testing.T) {
	tests := map[string]string{
		"YYYY-MM-DD HH:mm:ss Z":        "2006-01-02 15:04:05 -07:00",
		"YYYY-MM-DD HH:mm:ss.SSS ZZ":   "2006-01-02 15:04:05.000 -0700",
		"YYYY-MM-DDTHH:mm:ssZ":         "2006-01-02T15:04:05-07:00",
		"DD/MM/YY hh:mm A":             "02/01/06 03:04 PM",
		"ddd, D MMM YYYY":              "Mon, 2 Jan 2006",
		"dddd MMMM Do":                 "Monday January 2",
		"[at] HH:mm":                   "at 15:04",
		"h:m:s a":                      "3:4:5 pm",
		"2006-01-02T15:04:05Z07:00":    "2006-01-02T15:04:05Z07:00", // already Go
		"15:04:05.000":                 "15:04:05.000",
		"Jan _2 15:04:05":              "Jan _2 15:04:05",
		"YYYY-MM-DD HH:mm:ss.SSSSSS z": "2006-01-02 15:04:05.000000 MST",
	}
	for in, want := range tests {
		if got := MomentToGoLayout(in); got != want {
			t.Errorf("MomentToGoLayout(%q) = %q, want %q", in, got, want)
		}
	}
	// The converted layout formats a time as PM2 would.
	ts := time.Date(2026, 11, 26, 13, 5, 9, 123e6, time.FixedZone("", 3600))
	if got := ts.Format(MomentToGoLayout("YYYY-MM-DD HH:mm:ss.SSS Z")); got != "2026-11-26 13:05:09.123 +01:00" {
		t.Errorf("formatted %q", got)
	}
}

func TestSuggest(t *testing.T) {
	candidates := []string{"development", "production"}
	got := []string{suggest("prod", candidates), suggest("develpoment", candidates), suggest("staging", candidates)}
	if diff := cmp.Diff([]string{"production", "development", ""}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
