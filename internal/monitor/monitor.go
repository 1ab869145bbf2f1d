// Package monitor is the bubbletea model of `beadsctl monitor`: a live table of
// the daemons with CPU and memory history, the selected daemon's latest log
// lines, and keys to restart, stop and start. Update and View are plain
// functions of the model, so it is tested without a terminal. It imports
// reconcile and supervisor for their data types and formatting only; all I/O
// goes through the Source it is given.
package monitor

import (
	"fmt"
	"math"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/beadsctl/beadsctl/report"
)

// Source is what the model reads and acts through. The functions run inside
// tea commands, off the UI goroutine.
type Source struct {
	// Status returns the current report; it reports an agent that is down in
	// the report itself rather than failing.
	Status func() report.StatusReport
	// Logs returns the last n lines of a daemon's output.
	Logs func(name string, n int) []string
	// Act runs "restart", "stop" or "start" on a daemon.
	Act func(verb, name string) error
	// Events returns the last n events, one line each, oldest first (nil:
	// no events pane).
	Events func(n int) []string
}

// Options tune the model.
type Options struct {
	// Interval between refreshes (default 1s).
	Interval time.Duration
	// Color enables ANSI styling.
	Color bool
	// History is how many samples the graphs keep (default 120).
	History int
	// Now is the clock of the header (default time.Now).
	Now func() time.Time
}

// Model is the monitor's state.
type Model struct {
	src    Source
	opts   Options
	report report.StatusReport
	loaded bool
	hist   map[string]*history
	sel    string // selected daemon's name
	logs   []string
	logsOf string
	events []string
	width  int
	height int
	msg    string
	busy   bool
	// manualTicks leaves ticking to the caller (tests send TickMsg themselves).
	manualTicks bool
}

type history struct {
	cpu []float64
	mem []uint64
}

// New returns a model reading from src.
func New(src Source, opts Options) Model {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.History <= 0 {
		opts.History = 120
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return Model{src: src, opts: opts, hist: map[string]*history{}, width: 80, height: 24}
}

// Messages.
type (
	// TickMsg asks for a refresh.
	TickMsg struct{}
	// StatusMsg carries a refresh: the report and the selected daemon's log lines.
	StatusMsg struct {
		Report report.StatusReport
		LogsOf string
		Logs   []string
		Events []string
	}
	// ActionMsg reports the end of a restart, stop or start.
	ActionMsg struct {
		Verb, Name string
		Err        error
	}
)

// logLines is how many log lines a refresh fetches (the pane shows what fits).
const logLines = 200

// eventLines is how many events a refresh fetches and the events pane shows
// at most (fewer when the terminal is short: the logs keep half the room).
const eventLines = 6

// Init starts the first refresh.
func (m Model) Init() tea.Cmd { return m.refresh() }

func (m Model) refresh() tea.Cmd {
	src, sel := m.src, m.sel
	return func() tea.Msg {
		r := src.Status()
		name := sel
		if !hasRow(r, name) && len(r.Daemons) > 0 {
			name = r.Daemons[0].Name
		}
		var logs []string
		if name != "" && src.Logs != nil {
			logs = src.Logs(name, logLines)
		}
		var evs []string
		if src.Events != nil {
			evs = src.Events(eventLines)
		}
		return StatusMsg{Report: r, LogsOf: name, Logs: logs, Events: evs}
	}
}

func (m Model) tick() tea.Cmd {
	if m.manualTicks {
		return nil
	}
	return tea.Tick(m.opts.Interval, func(time.Time) tea.Msg { return TickMsg{} })
}

func hasRow(r report.StatusReport, name string) bool {
	for _, d := range r.Daemons {
		if d.Name == name {
			return true
		}
	}
	return false
}

// Update applies a message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, nil
	case TickMsg:
		return m, m.refresh()
	case StatusMsg:
		m.loaded = true
		m.report = msg.Report
		if !hasRow(m.report, m.sel) {
			m.sel = ""
			if len(m.report.Daemons) > 0 {
				m.sel = m.report.Daemons[0].Name
			}
		}
		if msg.LogsOf == m.sel {
			m.logs, m.logsOf = msg.Logs, msg.LogsOf
		}
		m.events = msg.Events
		m.record()
		return m, m.tick()
	case ActionMsg:
		m.busy = false
		if msg.Err != nil {
			m.msg = fmt.Sprintf("%s %s: %v", msg.Verb, msg.Name, msg.Err)
		} else {
			m.msg = fmt.Sprintf("%s %s: done", msg.Verb, msg.Name)
		}
		return m, m.refresh()
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m *Model) record() {
	if !m.report.Agent.Running {
		return // no live numbers to graph
	}
	for _, d := range m.report.Daemons {
		h := m.hist[d.Name]
		if h == nil {
			h = &history{}
			m.hist[d.Name] = h
		}
		h.cpu = appendCap(h.cpu, d.CPUPercent, m.opts.History)
		h.mem = appendCap(h.mem, d.MemoryBytes, m.opts.History)
	}
}

func appendCap[T any](s []T, v T, n int) []T {
	s = append(s, v)
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

func (m Model) key(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch k.String() {
	case "q", "ctrl+c", "esc":
		return m, tea.Quit
	case "down", "j", "tab":
		m.move(1)
		return m, m.refresh()
	case "up", "k", "shift+tab":
		m.move(-1)
		return m, m.refresh()
	case "r", "s", "t":
		verb := map[string]string{"r": "restart", "s": "stop", "t": "start"}[k.String()]
		if m.sel == "" || m.src.Act == nil {
			return m, nil
		}
		if m.report.Agent.NotAnswering {
			m.msg = "the agent does not answer (stopped? overloaded?)"
			return m, nil
		}
		if !m.report.Agent.Running {
			m.msg = "agent not running: run beadsctl apply"
			return m, nil
		}
		if m.busy {
			return m, nil
		}
		m.busy = true
		m.msg = verb + " " + m.sel + "..."
		act, name := m.src.Act, m.sel
		return m, func() tea.Msg { return ActionMsg{Verb: verb, Name: name, Err: act(verb, name)} }
	}
	return m, nil
}

func (m *Model) move(delta int) {
	n := len(m.report.Daemons)
	if n == 0 {
		return
	}
	i := 0
	for j, d := range m.report.Daemons {
		if d.Name == m.sel {
			i = j
		}
	}
	i = (i + delta + n) % n
	m.sel = m.report.Daemons[i].Name
	if m.logsOf != m.sel {
		m.logs, m.logsOf = nil, m.sel
	}
}

// Selected is the selected daemon's name.
func (m Model) Selected() string { return m.sel }

// View renders the screen in the alternate screen buffer.
func (m Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	return v
}

// Render is the screen as text, the content of View: every line fits the
// width, and the whole fits the height.
func (m Model) Render() string {
	w, h := max(m.width, 20), max(m.height, 5)
	var top []string
	title := "beadsctl monitor"
	a := m.report.Agent
	switch {
	case !m.loaded:
		title += " · loading"
	case a.Running:
		title += fmt.Sprintf(" · agent pid %d", a.Pid)
	case a.NotAnswering:
		title += fmt.Sprintf(" · AGENT PID %d DOES NOT ANSWER (stopped? overloaded?; last known state)", a.Pid)
	default:
		title += " · AGENT NOT RUNNING (last known state; run beadsctl apply)"
	}
	if m.report.Env != "" {
		title += " · env " + m.report.Env
	}
	title += " · " + m.opts.Now().Format("15:04:05")
	top = append(top, m.style("1", fit(title, w)))

	// The table.
	cols := []string{"NAME", "STATUS", "PID", "UPTIME", "RESTARTS", "CPU", "MEMORY", "HEALTH"}
	rows := [][]string{cols}
	for _, d := range m.report.Daemons {
		rows = append(rows, rowCells(d))
	}
	widths := colWidths(rows)
	for i, r := range rows {
		line := "  " + joinCells(r, widths)
		switch {
		case i == 0:
			line = m.style("2", fit(line, w))
		case m.report.Daemons[i-1].Name == m.sel:
			line = m.style("7", fit("▸ "+joinCells(r, widths), w))
		default:
			line = m.statusStyle(m.report.Daemons[i-1].Status, fit(line, w))
		}
		top = append(top, line)
	}
	if len(m.report.Daemons) == 0 && m.loaded {
		top = append(top, fit("  no daemons: run beadsctl apply", w))
	}

	// The selected daemon's graphs.
	if d, ok := m.selected(); ok {
		top = append(top, rule(d.Name, w))
		top = append(top, m.graphs(d, w)...)
		if d.Reason != "" {
			top = append(top, fit("reason: "+d.Reason, w))
		}
	}
	footer := fit("r restart · s stop · t start · ↑/↓ select · q quit", w)
	if m.msg != "" {
		footer = fit(footer+"   "+m.msg, w)
	}

	// The recent events, above the footer: up to eventLines, at most half
	// of what the table and graphs leave.
	var evPane []string
	if m.src.Events != nil && m.loaded {
		left := h - len(top) - 1
		n := min(len(m.events), eventLines, max(0, left/2-1))
		if n == 0 && left >= 4 {
			n = 1
		}
		if n > 0 {
			evPane = append(evPane, rule("events", w))
			lines := m.events[len(m.events)-min(n, len(m.events)):]
			if len(lines) == 0 {
				lines = []string{"no events recorded yet"}
			}
			for _, l := range lines {
				evPane = append(evPane, m.eventStyle(l, fit(expandTabs(l), w)))
			}
		}
	}

	// The logs pane takes what is left.
	var logPane []string
	if m.sel != "" {
		logPane = append(logPane, rule("logs: "+m.sel, w))
		room := h - len(top) - len(evPane) - 1 - 1
		lines := m.logs
		if room < 0 {
			room = 0
		}
		if len(lines) > room {
			lines = lines[len(lines)-room:]
		}
		for _, l := range lines {
			logPane = append(logPane, fit(expandTabs(l), w))
		}
	}
	out := append(top, logPane...)
	if len(out)+len(evPane) > h-1 {
		out = out[:max(0, h-1-len(evPane))]
	}
	for len(out)+len(evPane) < h-1 {
		out = append(out, "")
	}
	out = append(out, evPane...)
	if len(out) > h-1 {
		out = out[:h-1]
	}
	out = append(out, m.style("2", footer))
	return strings.Join(out, "\n")
}

func (m Model) selected() (report.DaemonRow, bool) {
	for _, d := range m.report.Daemons {
		if d.Name == m.sel {
			return d, true
		}
	}
	return report.DaemonRow{}, false
}

// graphHeight is the number of rows of the memory graph.
const graphHeight = 3

func (m Model) graphs(d report.DaemonRow, w int) []string {
	h := m.hist[d.Name]
	if h == nil {
		h = &history{}
	}
	const label = 5 // "CPU  "
	width := max(w-label-24, 10)
	cpu := h.cpu
	if len(cpu) > width {
		cpu = cpu[len(cpu)-width:]
	}
	peak := 100.0
	for _, v := range cpu {
		peak = max(peak, v)
	}
	var cpuLine strings.Builder
	for _, v := range cpu {
		cpuLine.WriteRune(spark(v / peak))
	}
	cpuNow := "    -"
	if d.Pid > 0 {
		cpuNow = fmt.Sprintf("%5.1f%%", d.CPUPercent)
	}
	lines := []string{fit(fmt.Sprintf("CPU  %-*s %s", width, cpuLine.String(), cpuNow), w)}

	mem := h.mem
	if len(mem) > width {
		mem = mem[len(mem)-width:]
	}
	limit := d.MemoryLimitBytes
	top := limit
	for _, v := range mem {
		top = max(top, v)
	}
	if top == 0 {
		top = 1
	}
	// The row in which the limit falls is drawn with a dashed line where the
	// graph is empty, and labelled.
	limitRow := -1
	if limit > 0 {
		limitRow = min(graphHeight-1, int(math.Ceil(float64(limit)/float64(top)*graphHeight))-1)
	}
	for r := graphHeight - 1; r >= 0; r-- {
		var b strings.Builder
		for _, v := range mem {
			level := float64(v) / float64(top) * graphHeight
			switch {
			case level >= float64(r+1):
				b.WriteRune('█')
			case level > float64(r):
				b.WriteRune(spark(level - float64(r)))
			case r == limitRow:
				b.WriteRune('╌')
			default:
				b.WriteRune(' ')
			}
		}
		for i := len(mem); i < width; i++ {
			if r == limitRow {
				b.WriteRune('╌')
			} else {
				b.WriteRune(' ')
			}
		}
		head := "     "
		if r == graphHeight-1 {
			head = "MEM  "
		}
		tail := ""
		switch {
		case r == limitRow:
			tail = " limit " + report.FormatBytes(limit)
		case r == 0:
			tail = " " + report.FormatBytes(d.MemoryBytes)
		}
		if r == 0 && r == limitRow {
			tail = " " + report.FormatBytes(d.MemoryBytes) + " / limit " + report.FormatBytes(limit)
		}
		line := fit(head+b.String()+tail, w)
		if limit > 0 && d.MemoryBytes > limit {
			line = m.style("31", line)
		}
		lines = append(lines, line)
	}
	return lines
}

var blocks = []rune("▁▂▃▄▅▆▇█")

// spark maps 0..1 to a block; 0 is a blank.
func spark(f float64) rune {
	if f <= 0 {
		return ' '
	}
	i := int(math.Ceil(f*float64(len(blocks)))) - 1
	return blocks[max(0, min(i, len(blocks)-1))]
}

func rowCells(d report.DaemonRow) []string {
	dash := func(ok bool, s string) string {
		if !ok {
			return "-"
		}
		return s
	}
	mem := dash(d.Pid > 0, report.FormatBytes(d.MemoryBytes))
	if d.MemoryLimitBytes > 0 {
		mem += "/" + report.FormatBytes(d.MemoryLimitBytes)
	}
	return []string{
		d.Name,
		d.Status,
		dash(d.Pid > 0, fmt.Sprint(d.Pid)),
		dash(d.Pid > 0, report.FormatDuration(time.Duration(d.UptimeSeconds*float64(time.Second)))),
		fmt.Sprintf("%d (%d)", d.Restarts, d.UnstableRestarts),
		dash(d.Pid > 0, fmt.Sprintf("%.1f%%", d.CPUPercent)),
		mem,
		d.Health,
	}
}

func colWidths(rows [][]string) []int {
	var w []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(w) {
				w = append(w, 0)
			}
			w[i] = max(w[i], len([]rune(c)))
		}
	}
	return w
}

func joinCells(r []string, widths []int) string {
	var b strings.Builder
	for i, c := range r {
		if i > 0 {
			b.WriteString("  ")
		}
		if i == len(r)-1 {
			b.WriteString(c)
			break
		}
		b.WriteString(c + strings.Repeat(" ", widths[i]-len([]rune(c))))
	}
	return b.String()
}

func rule(title string, w int) string {
	s := "── " + title + " "
	return fit(s+strings.Repeat("─", max(0, w-len([]rune(s)))), w)
}

// fit cuts s to w runes (the model only draws single-width runes).
func fit(s string, w int) string {
	r := []rune(s)
	if len(r) <= w {
		return s
	}
	if w <= 1 {
		return string(r[:w])
	}
	return string(r[:w-1]) + "…"
}

// expandTabs makes a log line safe to draw: tabs become spaces, and control
// characters (a daemon's own colour codes among them) are dropped.
func expandTabs(s string) string {
	s = strings.ReplaceAll(s, "\t", "    ")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// eventStyle colours an event line by its kind: trouble red, alerts yellow.
func (m Model) eventStyle(raw, s string) string {
	for _, k := range []string{" errored ", " alert-failed ", " memory ", " dropped "} {
		if strings.Contains(raw, k) {
			return m.style("31", s)
		}
	}
	if strings.Contains(raw, " alerted ") {
		return m.style("33", s)
	}
	return s
}

func (m Model) style(code, s string) string {
	if !m.opts.Color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (m Model) statusStyle(status, s string) string {
	switch status {
	case "online":
		return s
	case "errored", "missing":
		return m.style("31", s)
	default:
		return m.style("33", s)
	}
}
