package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/report"
	"github.com/beadsctl/beadsctl/schema"
)

type logsOptions struct {
	lines  int
	follow bool
	out    bool
	err    bool
	since  string
	json   bool
	flush  bool
}

func newLogsCmd(g *globals) *cobra.Command {
	o := &logsOptions{}
	c := &cobra.Command{
		Use:   "logs [DAEMON]",
		Short: "Show the daemons' output (read from the log files; works while the agent is down)",
		Long: "Show the last lines of a daemon's output, or of every daemon's, merged in time order\n" +
			"across stdout and stderr (using the timestamps the lines carry). -f follows through rotation\n" +
			"until Ctrl-C. --flush empties the log files in place.\n\n" +
			"-f means --follow here; name the configuration with --file.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return runLogs(c, g, o, args) },
	}
	f := c.Flags()
	// -f is --follow, as in tail and pm2: --file keeps its long form only.
	f.StringVar(&g.file, "file", defaultConfig, "path of the configuration file (default: beads.hcl here or in the nearest parent folder, up to the repository's root)")
	f.IntVarP(&o.lines, "lines", "n", 20, "number of lines to show (all with -1)")
	f.BoolVarP(&o.follow, "follow", "f", false, "keep showing new lines until Ctrl-C")
	f.BoolVar(&o.out, "out", false, "stdout only")
	f.BoolVar(&o.err, "err", false, "stderr only")
	f.StringVar(&o.since, "since", "", "only lines newer than a duration (10m) or a time (RFC 3339)")
	f.BoolVar(&o.json, "json", false, "one JSON object per line: daemon, stream, time, line")
	f.BoolVar(&o.flush, "flush", false, "empty the log files (truncated in place, safe while daemons write)")
	c.MarkFlagsMutuallyExclusive("out", "err")
	c.MarkFlagsMutuallyExclusive("flush", "follow")
	return c
}

func runLogs(c *cobra.Command, g *globals, o *logsOptions, args []string) error {
	since, err := parseSince(o.since, time.Now())
	if err != nil {
		return err
	}
	daemons, err := logDaemons(g, args)
	if err != nil {
		return err
	}
	stream := ""
	switch {
	case o.out:
		stream = report.StreamOut
	case o.err:
		stream = report.StreamErr
	}
	var files []report.LogFile
	var flushedByAgent []string
	for _, d := range daemons {
		if o.flush && stream == "" {
			// The agent's log writer empties the files of a daemon it runs:
			// it reopens them in append mode, so no later line lands after a hole.
			if paths, err := agentFlush(c, g, d.Name); err == nil {
				flushedByAgent = append(flushedByAgent, paths...)
				continue
			} else if !errors.Is(err, reconcile.ErrAgentDown) && !errors.Is(err, agentapi.ErrUnknownDaemon) {
				return err
			}
			for _, s := range []string{report.StreamOut, report.StreamErr, report.StreamCombined} {
				files = append(files, report.LogFilesFor(d, s)...)
			}
			continue
		}
		files = append(files, report.LogFilesFor(d, stream)...)
	}
	if o.flush {
		for _, p := range flushedByAgent {
			fmt.Fprintf(c.OutOrStdout(), "flushed %s\n", p)
		}
		if len(flushedByAgent) > 0 && len(files) == 0 {
			return nil
		}
		return flushLogs(c, files)
	}
	p := newLogPrinter(c.OutOrStdout(), files, len(daemons) > 1, o.json, g.color(c.OutOrStdout()))
	follower := report.NewLogFollower(files)
	defer follower.Close()
	lines, untimed, err := follower.Tail(o.lines, since)
	if err != nil {
		return err
	}
	if !since.IsZero() {
		for _, f := range untimed {
			fmt.Fprintf(c.ErrOrStderr(), "note: %s has no timestamps (logs.timestamps = false): --since does not apply to it\n", f.Path)
		}
	}
	if err := p.print(lines); err != nil {
		return err
	}
	if !o.follow {
		return nil
	}
	return follower.Run(c.Context(), 0, p.print)
}

// logDaemons are the daemons whose logs to show: the named one or all, from the
// last apply first (what runs), then from beads.hcl.
func logDaemons(g *globals, args []string) ([]schema.Daemon, error) {
	cfg, applied, cfgErr := opsDaemons(g, opsDir(g))
	byName := map[string]schema.Daemon{}
	for _, d := range cfg {
		byName[d.Name] = d
	}
	for _, d := range applied {
		byName[d.Name] = d
	}
	if len(byName) == 0 {
		if cfgErr != nil {
			return nil, fmt.Errorf("no daemon applied, and %s does not load: %v", g.file, cfgErr)
		}
		return nil, fmt.Errorf("no daemon declared in %s", g.file)
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 1 {
		d, ok := byName[args[0]]
		if !ok {
			return nil, fmt.Errorf("no daemon %q (known: %s)", args[0], strings.Join(names, ", "))
		}
		return []schema.Daemon{d}, nil
	}
	out := make([]schema.Daemon, 0, len(names))
	for _, n := range names {
		out = append(out, byName[n])
	}
	return out, nil
}

// parseSince reads --since: a duration back from now, or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration (10m, 2h) or an RFC 3339 time", s)
}

func flushLogs(c *cobra.Command, files []report.LogFile) error {
	flushed, skipped, err := report.FlushLogs(files)
	out := c.OutOrStdout()
	for _, p := range flushed {
		fmt.Fprintf(out, "flushed %s\n", p)
	}
	for _, p := range skipped {
		fmt.Fprintf(c.ErrOrStderr(), "skipped %s: not a regular file\n", p)
	}
	if err == nil && len(flushed) == 0 && len(skipped) == 0 {
		fmt.Fprintln(out, "No log files to flush.")
	}
	return err
}

// logPrinter writes lines with a "name | " prefix when several daemons are
// shown, and marks stderr lines "err" when stdout is shown too.
type logPrinter struct {
	w         io.Writer
	json      bool
	pal       palette
	byName    bool
	markErr   bool
	prefixLen int
}

func newLogPrinter(w io.Writer, files []report.LogFile, several, asJSON, color bool) *logPrinter {
	p := &logPrinter{w: w, json: asJSON, pal: palette{on: color}, byName: several}
	streams := map[string]bool{}
	for _, f := range files {
		streams[f.Stream] = true
	}
	p.markErr = streams[report.StreamErr] && len(streams) > 1
	for _, f := range files {
		p.prefixLen = max(p.prefixLen, len(p.prefix(f.Daemon, f.Stream)))
	}
	return p
}

func (p *logPrinter) prefix(daemon, stream string) string {
	var parts []string
	if p.byName {
		parts = append(parts, daemon)
	}
	if p.markErr && stream == report.StreamErr {
		parts = append(parts, "err")
	}
	return strings.Join(parts, " ")
}

func (p *logPrinter) print(lines []report.LogLine) error {
	var b strings.Builder
	for _, l := range lines {
		if p.json {
			j, err := json.Marshal(l)
			if err != nil {
				return err
			}
			b.Write(j)
			b.WriteByte('\n')
			continue
		}
		if pre := p.prefix(l.Daemon, l.Stream); p.byName {
			b.WriteString(pre + strings.Repeat(" ", p.prefixLen-len(pre)) + " | ")
		} else if pre != "" {
			b.WriteString(pre + " | ")
		}
		if l.Stream == report.StreamErr {
			b.WriteString(p.pal.red(l.Text))
		} else {
			b.WriteString(l.Text)
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(p.w, b.String())
	return err
}

// agentFlush asks the agent of the project to flush a daemon's logs.
func agentFlush(c *cobra.Command, g *globals, name string) ([]string, error) {
	client := g.dial(filepath.Dir(g.file))
	defer client.Close()
	return client.FlushLogs(c.Context(), name)
}
