package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/plural"
	"github.com/beadsctl/beadsctl/reconcile"
)

// palette colours plan output on a terminal only.
type palette struct{ on bool }

func (p palette) wrap(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
func (p palette) green(s string) string  { return p.wrap("32", s) }
func (p palette) yellow(s string) string { return p.wrap("33", s) }
func (p palette) red(s string) string    { return p.wrap("31", s) }
func (p palette) bold(s string) string   { return p.wrap("1", s) }

// symbol is the plan symbol of a change and the verb of its headline.
func symbol(c *reconcile.Change, pal palette) (string, string) {
	switch {
	case c.Is(reconcile.ActionCreate):
		return pal.green("  +"), "started"
	case c.Is(reconcile.ActionUpdate):
		return pal.yellow("  ~"), "updated in place"
	case c.Replace():
		return pal.red("-") + "/" + pal.green("+"), "restarted"
	case c.Is(reconcile.ActionDelete):
		return pal.red("  -"), "stopped"
	}
	return "   ", "left alone"
}

// renderPlan writes p in the spirit of `terraform plan`.
func renderPlan(out io.Writer, p *reconcile.Plan, color bool) {
	// Buffered: a line a write made 20,000 write calls for a plan of 1,000
	// daemons (11 % of plan's CPU). Flushed before it returns, so what the
	// caller writes next (apply's prompt, its progress) comes after it.
	w := bufio.NewWriterSize(out, 64<<10)
	defer w.Flush()
	pal := palette{color}
	renderFindings(w, p.Drift, color, "Outside of beads.hcl:")
	if !p.HasChanges() {
		switch len(p.Targets) {
		case 0:
			fmt.Fprintln(w, pal.green("No changes.")+" The daemons match beads.hcl.")
		case 1:
			fmt.Fprintln(w, pal.green("No changes.")+" "+p.Targets[0]+" matches beads.hcl.")
		default:
			fmt.Fprintln(w, pal.green("No changes.")+" "+strings.Join(p.Targets, ", ")+" match beads.hcl.")
		}
		return
	}
	var legend []string
	seen := map[string]bool{}
	for i := range p.Changes {
		c := &p.Changes[i]
		for _, l := range []struct {
			ok   bool
			text string
		}{
			{c.Is(reconcile.ActionCreate), pal.green("+") + " start"},
			{c.Is(reconcile.ActionUpdate), pal.yellow("~") + " update in place"},
			{c.Replace(), pal.red("-") + "/" + pal.green("+") + " restart"},
			{c.Is(reconcile.ActionDelete), pal.red("-") + " stop"},
		} {
			if l.ok && !seen[l.text] {
				seen[l.text] = true
				legend = append(legend, l.text)
			}
		}
	}
	if restart := pal.red("-") + "/" + pal.green("+") + " restart"; p.Agent != nil && !seen[restart] {
		legend = append(legend, restart)
	}
	fmt.Fprintln(w, "beadsctl will perform the following actions"+envSuffix(p.Env)+". Symbols:")
	for _, l := range legend {
		fmt.Fprintln(w, "  "+l)
	}
	renderOrder(w, p.Graph)
	if a := p.Agent; a != nil {
		fmt.Fprintf(w, "\n  %s\n", pal.bold("# the agent will be replaced"))
		fmt.Fprintf(w, "  # it runs beadsctl %s (control API %d); this is beadsctl %s (API %d)\n", a.Version, a.API, a.WantVersion, a.WantAPI)
		what := "it runs no daemon"
		if len(a.Daemons) > 0 {
			what = fmt.Sprintf("its %s stop gracefully with it and start again under the new agent: %s", plural.Count(len(a.Daemons), "daemon"), strings.Join(a.Daemons, ", "))
			if len(a.Daemons) == 1 {
				what = "its daemon stops gracefully with it and starts again under the new agent: " + a.Daemons[0]
			}
		}
		fmt.Fprintf(w, "%s agent (pid %d): %s\n", pal.red("-")+"/"+pal.green("+"), a.Pid, what)
	}
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Is(reconcile.ActionNoop) {
			continue
		}
		sym, verb := symbol(c, pal)
		fmt.Fprintf(w, "\n  %s\n", pal.bold("# "+c.Address+" will be "+verb))
		if c.Reason != "" {
			fmt.Fprintf(w, "  # %s\n", c.Reason)
		}
		if waits := waitsFor(p.Graph, c.Name); waits != "" && !c.Is(reconcile.ActionDelete) {
			fmt.Fprintf(w, "  # waits for %s\n", waits)
		}
		if len(c.Dependents) > 0 {
			var ds []string
			for _, d := range c.Dependents {
				ds = append(ds, fmt.Sprintf("%s %s (on_restart = %q)", d.Daemon, d.Effect, d.OnRestart))
			}
			fmt.Fprintf(w, "  # its dependents: %s\n", strings.Join(ds, "; "))
		}
		fmt.Fprintf(w, "%s daemon %q {\n", sym, c.Name)
		attrs := c.Attributes
		if c.Is(reconcile.ActionCreate) && len(attrs) == 0 && c.After != nil && c.Before == nil {
			attrs = reconcile.Attributes(c.After, false)
		}
		for _, a := range attrs {
			fmt.Fprintln(w, "      "+attrLine(a, pal))
		}
		fmt.Fprintln(w, "    }")
	}
	for _, e := range p.Edits {
		fmt.Fprintf(w, "\n  %s\n", pal.bold("# "+e.Path+" will be edited"))
		fmt.Fprintf(w, "  # %s\n", e.Reason)
		fmt.Fprintf(w, "  %s %s = %s -> %s\n", pal.yellow("~"), e.Key, e.Before, e.After)
	}
	for _, a := range p.Alerts {
		sym, verb := pal.green("+"), "added"
		switch a.Action {
		case reconcile.AlertUpdate:
			sym, verb = pal.yellow("~"), "updated"
		case reconcile.AlertRemove:
			sym, verb = pal.red("-"), "removed"
		}
		fmt.Fprintf(w, "\n  %s\n", pal.bold("# alert."+a.Name+" will be "+verb+" (no daemon restarts)"))
		spec := a.After
		if spec == nil {
			spec = a.Before
		}
		fmt.Fprintf(w, "%s alert %q { on = %s, command = %s }\n", sym, a.Name, hclList(spec.On), hclList(spec.Command))
		if a.Before != nil && a.After != nil {
			for _, d := range alertDiff(*a.Before, *a.After) {
				fmt.Fprintf(w, "    %s %s = %s -> %s\n", pal.yellow("~"), d[0], d[1], d[2])
			}
		}
	}
	start, upd, restart, stop := p.Summary()
	fmt.Fprintf(w, "\n%s %d to start, %d to update, %d to restart, %d to stop", pal.bold("Plan:"), start, upd, restart, stop)
	if len(p.Edits) > 0 {
		fmt.Fprintf(w, ", %s of bd to edit", plural.Count(len(p.Edits), "file"))
	}
	if len(p.Alerts) > 0 {
		fmt.Fprintf(w, ", %s to hand to the agent", plural.Count(len(p.Alerts), "alert"))
	}
	if p.Agent != nil {
		fmt.Fprint(w, ", and the agent to replace")
	}
	fmt.Fprintln(w, ".")
}

// alertDiff is what an alert's update changes: attribute, before, after.
func alertDiff(before, after agentapi.AlertSpec) [][3]string {
	var out [][3]string
	add := func(name, b, a string) {
		if b != a {
			out = append(out, [3]string{name, b, a})
		}
	}
	add("on", hclList(before.On), hclList(after.On))
	add("command", hclList(before.Command), hclList(after.Command))
	add("daemons", hclList(before.Daemons), hclList(after.Daemons))
	add("timeout", strconv.Quote(before.Timeout.String()), strconv.Quote(after.Timeout.String()))
	add("unhealthy_for", strconv.Quote(before.UnhealthyFor.String()), strconv.Quote(after.UnhealthyFor.String()))
	add("window", strconv.Quote(before.Window.String()), strconv.Quote(after.Window.String()))
	add("dir", strconv.Quote(before.Dir), strconv.Quote(after.Dir))
	return out
}

// renderOrder writes the start order when any daemon depends on another.
func renderOrder(w io.Writer, g reconcile.Graph) {
	if len(g.Edges) == 0 {
		return
	}
	fmt.Fprintln(w, "Start order (each daemon starts once its dependencies meet their condition; stop and destroy go in reverse):")
	for i, level := range g.Order {
		var names []string
		for _, n := range level {
			if waits := waitsFor(g, n); waits != "" {
				n += " (waits for " + waits + ")"
			}
			names = append(names, n)
		}
		fmt.Fprintf(w, "  %d. %s\n", i+1, strings.Join(names, ", "))
	}
}

// waitsFor lists what name waits for: "db (healthy), init (completed_successfully)".
func waitsFor(g reconcile.Graph, name string) string {
	var out []string
	for _, e := range g.Edges {
		if e.Daemon == name {
			out = append(out, e.DependsOn+" ("+e.Condition+")")
		}
	}
	return strings.Join(out, ", ")
}

func attrLine(a reconcile.Attribute, pal palette) string {
	var s string
	switch {
	case a.Before == nil:
		s = pal.green("+") + " " + a.Path + " = " + *a.After
	case a.After == nil:
		s = pal.red("-") + " " + a.Path + " = " + *a.Before + " -> null"
	default:
		s = pal.yellow("~") + " " + a.Path + " = " + *a.Before + " -> " + *a.After
	}
	if a.From != "" {
		s += " # from " + a.From
	}
	if a.ForcesRestart {
		s += " " + pal.red("# forces restart")
	}
	return s
}

func envSuffix(env string) string {
	if env == "" {
		return ""
	}
	return " (env " + env + ")"
}

// renderFindings writes drift findings under a title; nothing when there are none.
func renderFindings(w io.Writer, fs []reconcile.Finding, color bool, title string) {
	if len(fs) == 0 {
		return
	}
	pal := palette{color}
	fmt.Fprintln(w, pal.bold(title))
	for _, f := range fs {
		mark := pal.red("!")
		if f.Info {
			mark = "i"
		}
		who := ""
		if f.Daemon != "" {
			who = "daemon." + f.Daemon + ": "
		}
		fmt.Fprintf(w, "  %s %s%s: %s (expected %s)\n", mark, who, f.Kind, f.Actual, f.Expected)
	}
	fmt.Fprintln(w)
}

// progressPrinter shows the steps of an apply or a verb, one line each, and the
// reason, exit code and last log lines of a failure.
func progressPrinter(w io.Writer, color bool) func(reconcile.Progress) {
	pal := palette{color}
	began := map[string]time.Time{}
	return func(p reconcile.Progress) {
		name := "daemon." + p.Daemon
		if p.Daemon == "" {
			name = "agent"
		}
		switch p.Step {
		case "online":
			d := ""
			if t, ok := began[p.Daemon]; ok {
				d = fmt.Sprintf(" after %s", time.Since(t).Round(time.Millisecond))
			}
			fmt.Fprintf(w, "%s: %s (pid %d)%s\n", name, pal.green("online"), p.Status.Pid, d)
		case "failed":
			fmt.Fprintf(w, "%s: %s: %v\n", name, pal.red("failed"), p.Err)
			s := p.Status
			if s.Reason != "" {
				fmt.Fprintf(w, "  reason: %s\n", s.Reason)
			}
			if s.LastExit != nil {
				fmt.Fprintf(w, "  exit code: %d", s.LastExit.Code)
				if s.LastExit.Signal != "" {
					fmt.Fprintf(w, " (%s)", s.LastExit.Signal)
				}
				fmt.Fprintln(w)
				if len(s.LastExit.LogTail) > 0 {
					fmt.Fprintln(w, "  last log lines:")
					for _, l := range s.LastExit.LogTail {
						fmt.Fprintln(w, "    "+l)
					}
				}
			}
		case "agent-starting":
			fmt.Fprintln(w, "agent: starting")
		case "agent-stopping":
			fmt.Fprintln(w, "agent: stopping")
		case "agent-replacing":
			fmt.Fprintf(w, "agent: replacing (%s), its daemons stopping...\n", p.Detail)
		case "stopped":
			fmt.Fprintf(w, "%s: %s\n", name, pal.red("stopped"))
		case "removed":
			fmt.Fprintf(w, "removed %s\n", p.Detail)
		case "edited":
			fmt.Fprintf(w, "edited %s\n", p.Detail)
		case "flushed":
			fmt.Fprintf(w, "%s: %s\n", name, p.Detail)
		default:
			began[p.Daemon] = time.Now()
			line := name + ": " + strings.ReplaceAll(p.Step, "-", " ")
			if p.Detail != "" {
				line += " (" + p.Detail + ")"
			}
			fmt.Fprintln(w, line+"...")
		}
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table lays out columns by the width a terminal shows: text/tabwriter counts
// the bytes of colour codes, so a coloured cell pushed its column out of line
// with the header.
type table struct{ rows [][]string }

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

// write pads every cell but the last of a row to its column's widest visible
// text, with two spaces between columns.
func (t *table) write(w io.Writer) {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], visibleWidth(c))
		}
	}
	for _, r := range t.rows {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-visibleWidth(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " ")) // an empty last cell leaves no padding
	}
}

// visibleWidth is the number of characters s shows: runes, less the ANSI
// escape sequences (ESC [ ... final byte) the palette writes.
func visibleWidth(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == '\x1b' && i+1 < len(s) && s[i+1] == '[' {
			i += 2
			for i < len(s) && (s[i] < 0x40 || s[i] > 0x7e) {
				i++
			}
			i++ // the final byte
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return n
}

// hclList writes a list of strings as beads.hcl does.
func hclList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
