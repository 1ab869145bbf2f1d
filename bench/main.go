//go:build linux

// Command bench measures beadsctl against PM2, side by side in one run, on the
// same machine and the same workloads, and prints one table (and writes it to
// BENCHMARKS.md). `make bench` runs it; `make bench-quick` runs it with -quick
// (one repetition, short durations) as a CI smoke test that fails only when a
// scenario produced no number.
//
//	bench run [-quick] [-root DIR] [-out FILE] [-only a,b] [-keep]
//	bench child KIND [flags]   (the purpose-built children; see child.go)
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() { os.Exit(Main(os.Args[1:])) }

// Main dispatches the subcommands and returns the exit code.
func Main(args []string) int {
	if len(args) > 0 && args[0] == "child" {
		return childMain(args[1:])
	}
	if len(args) > 0 && args[0] == "run" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "one repetition and short durations (CI smoke)")
	root := fs.String("root", ".", "the beadsctl checkout (holds go.mod and bench/)")
	out := fs.String("out", "", "also write the report as Markdown to this file (BENCHMARKS.md)")
	only := fs.String("only", "", "comma-separated scenario groups to run (default all): "+strings.Join(groupNames(), ","))
	toolsFlag := fs.String("tools", "pm2,beadsctl", "which tools to measure")
	keep := fs.Bool("keep", false, "keep the work folder")
	gobench := fs.Bool("gobench", true, "also run the Go benchmarks of the hot paths (full mode only)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	e, err := setup(ctx, abs(*root), *quick)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if !*keep {
		defer os.RemoveAll(e.work)
	}
	e.tools = strings.Split(*toolsFlag, ",")
	start := time.Now()
	results := e.runAll(ctx, *only)
	if k := killOurs(e.work); len(k) > 0 {
		e.logf("killed leftovers of this run: %v", k)
	}
	if *gobench && !*quick && ctx.Err() == nil {
		e.goBench = e.runGoBench(ctx)
	}
	took := time.Since(start)

	e.info.Load += " -> " + loadavg()
	table := renderTable(results)
	fmt.Println()
	fmt.Print(table)
	fmt.Printf("\n(%s mode, %s)\n", e.mode(), took.Round(time.Second))
	if *out != "" {
		if err := os.WriteFile(*out, []byte(e.markdown(results, table, took)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		fmt.Printf("wrote %s\n", *out)
	}
	if missing := missingNumbers(results); missing > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d measurements produced no number (see the table)\n", missing)
		return 1
	}
	return 0
}

// missingNumbers counts the outcomes that should have a number and have
// none: a row skipped (-only, -tools) or without an equivalent command for
// the tool ("–") is not missing.
func missingNumbers(results []Result) int {
	missing := 0
	for _, r := range results {
		for _, o := range []Outcome{r.PM2, r.Beadsctl} {
			if o.Err == errNoEquivalent || o.Err == errSkipped {
				continue
			}
			if o.Err != nil || len(o.Vals) == 0 {
				missing++
			}
		}
	}
	return missing
}

// Env is one benchmark run: where things are and how long to run them.
type Env struct {
	root, work  string
	self        string // this binary; the children are its subcommands
	pm2Bin      string
	beadsctlBin string
	binDir      string // holds bd (the simulator) for beadsctl's PATH
	dolt        string // a real dolt for the dolt_server rows
	doltErr     error  // no dolt: those rows say why
	quick       bool
	buildErr    error // beadsctl or bd did not build
	tools       []string
	n           int
	info        Machine
	goBench     string // output of the Go benchmarks
	// pev is the kernel's process events (procconn.go); nil when they
	// cannot be had (no CAP_NET_ADMIN): the rows that use them poll /proc.
	pev *procEvents
}

// Machine describes where the run happened.
type Machine struct {
	Nproc                                int
	CPU, Kernel, Go, Node, PM2, Beadsctl string
	Dolt                                 string
	Date                                 string
	// Load is /proc/loadavg at the start and the end of the run.
	Load string
}

func (e *Env) mode() string {
	if e.quick {
		return "quick"
	}
	return "full"
}

func (e *Env) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// reps picks the repetition count for the mode.
func (e *Env) reps(quick, full int) int {
	if e.quick {
		return quick
	}
	return full
}

func (e *Env) dur(quick, full time.Duration) time.Duration {
	if e.quick {
		return quick
	}
	return full
}

// child is the argv of one of this binary's child subcommands.
func (e *Env) child(kind string, args ...string) []string {
	return append([]string{e.self, "child", kind}, args...)
}

// newTool returns a fresh instance of the named tool in its own folder.
func (e *Env) newTool(name string) Tool {
	e.n++
	dir := filepath.Join(e.work, fmt.Sprintf("%s-%d", strings.ToLower(name), e.n))
	if name == "PM2" {
		return newPM2(e.pm2Bin, dir)
	}
	return newBeadsctl(e.beadsctlBin, e.binDir, dir)
}

// instanceDir is where a tool keeps its files (for the apps' pid and log files).
func instanceDir(t Tool) string {
	switch t := t.(type) {
	case *pm2Tool:
		return t.dir
	case *beadsctlTool:
		return t.dir
	}
	return os.TempDir()
}

// down stops a tool instance and kills whatever it left behind.
func (e *Env) down(t Tool) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := t.Down(ctx); err != nil {
		e.logf("%s: down: %v", t.Name(), firstLine(err))
	}
	if bt, ok := t.(*beadsctlTool); ok && bt.agentPid > 0 && alive(bt.agentPid) {
		syscall.Kill(bt.agentPid, syscall.SIGKILL) //nolint:errcheck // ours, checked alive
	}
	if k := killOurs(instanceDir(t)); len(k) > 0 {
		e.logf("%s: killed %d leftover processes after down: %s", t.Name(), len(k), strings.Join(k, "; "))
	}
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func setup(ctx context.Context, root string, quick bool) (*Env, error) {
	if !fileExists(filepath.Join(root, "go.mod")) {
		return nil, fmt.Errorf("%s: no go.mod (use -root)", root)
	}
	work, err := os.MkdirTemp("", "beadsctl-bench-")
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	e := &Env{root: root, work: work, self: self, quick: quick, binDir: mustMkdir(filepath.Join(work, "bin"))}
	e.beadsctlBin = filepath.Join(e.binDir, "beadsctl")
	e.logf("work folder %s", work)
	for _, b := range [][2]string{{"beadsctl", "./cmd/beadsctl"}, {"beadsctl-agent", "./cmd/beadsctl-agent"}, {"bd", "./cmd/bdsim"}} {
		// As `make build` does: static (no libc mapped), stripped (stripping does
		// not change the resident memory: checked).
		bin := filepath.Join(e.binDir, b[0])
		c := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin+".link", b[1])
		c.Dir = root
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		_, err := run(ctx, c)
		if err == nil {
			err = copyExecutable(bin+".link", bin)
		}
		if err != nil {
			// The PM2 side still runs; every beadsctl row says why it has no number.
			e.logf("build %s failed: %v", b[0], err)
			e.buildErr = fmt.Errorf("build %s: %s", b[0], firstLine(err))
			break
		}
	}
	e.pm2Bin = filepath.Join(root, "bench", "node_modules", ".bin", "pm2")
	if !fileExists(e.pm2Bin) {
		e.logf("installing PM2 into bench/node_modules (npm ci)")
		c := exec.Command("npm", "ci", "--prefix", filepath.Join(root, "bench"), "--no-audit", "--no-fund")
		if _, err := run(ctx, c); err != nil {
			os.RemoveAll(work)
			return nil, fmt.Errorf("install PM2: %w", err)
		}
	}
	e.dolt, e.doltErr = findDolt(root)
	if e.pev, err = listenProcEvents(ctx); err != nil {
		e.logf("no kernel process events (%v): restarts are timed by polling /proc every %s", err, pollEvery)
	}
	quietMySQL()
	e.info = machine(ctx, e)
	return e, nil
}

func machine(ctx context.Context, e *Env) Machine {
	m := Machine{Nproc: runtime.NumCPU(), Go: runtime.Version(), Date: time.Now().UTC().Format("2006-01-02 15:04 UTC")}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	m.Load = loadavg()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := run(ctx, exec.Command("node", "--version")); err == nil {
		m.Node = strings.TrimSpace(string(out))
	}
	var pkg struct{ Version string }
	if b, err := os.ReadFile(filepath.Join(e.root, "bench", "node_modules", "pm2", "package.json")); err == nil {
		json.Unmarshal(b, &pkg) //nolint:errcheck // empty version shows
		m.PM2 = pkg.Version
	}
	if out, err := run(ctx, exec.Command(e.beadsctlBin, "version")); err == nil {
		m.Beadsctl = strings.TrimSpace(string(out))
	}
	if e.doltErr == nil {
		if out, err := run(ctx, exec.Command(e.dolt, "version")); err == nil {
			m.Dolt = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
		}
	}
	return m
}

// loadavg is the first three fields of /proc/loadavg.
func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// Outcome is what one tool produced for one row: the values of every run.
type Outcome struct {
	Vals []float64 // one per run; the median is shown
	Aux  []float64 // a second figure per run where the row has one (RSS/limit, lines lost)
	// More are further figures per run, by name, shown in "Every run".
	More map[string][]float64
	Note string // shown under the table
	Err  error  // no number: why
}

func (o *Outcome) add(v float64)    { o.Vals = append(o.Vals, v) }
func (o *Outcome) addAux(v float64) { o.Aux = append(o.Aux, v) }
func (o *Outcome) addMore(name string, v float64) {
	if o.More == nil {
		o.More = map[string][]float64{}
	}
	o.More[name] = append(o.More[name], v)
}

// Row is one line of the table.
type Row struct {
	Key, Title, Target string
	// Format shows an outcome's median (and aux) in the row's unit.
	Format func(o Outcome) string
	// Judge gives the ratio (PM2 over beadsctl, "how many times better") and
	// whether the target is met, from the beadsctl outcome (and PM2's).
	Judge func(pm2, bc Outcome) (ratio string, met bool)
}

// Group runs once per tool and fills one or more rows.
type Group struct {
	Name string
	Rows []Row
	Run  func(ctx context.Context, e *Env, toolName string) map[string]Outcome
}

// Result is one row with both outcomes.
type Result struct {
	Row
	PM2, Beadsctl Outcome
}

func groupNames() []string {
	var n []string
	for _, g := range groups() {
		n = append(n, g.Name)
	}
	return n
}

func (e *Env) runAll(ctx context.Context, only string) []Result {
	var sel []string
	if only != "" {
		sel = strings.Split(only, ",")
	}
	byKey := map[string]*Result{}
	var order []string
	for _, g := range groups() {
		for _, r := range g.Rows {
			byKey[r.Key] = &Result{Row: r}
			order = append(order, r.Key)
		}
		if sel != nil && !slices.Contains(sel, g.Name) {
			for _, r := range g.Rows {
				byKey[r.Key].PM2.Err = errSkipped
				byKey[r.Key].Beadsctl.Err = errSkipped
			}
			continue
		}
		for _, tool := range []string{"PM2", "beadsctl"} {
			if !slices.Contains(e.tools, strings.ToLower(tool)) {
				for _, r := range g.Rows {
					*pick(byKey[r.Key], tool) = Outcome{Err: errSkipped}
				}
				continue
			}
			if ctx.Err() != nil {
				break
			}
			if tool == "beadsctl" && e.buildErr != nil {
				for _, r := range g.Rows {
					*pick(byKey[r.Key], tool) = Outcome{Err: e.buildErr}
				}
				continue
			}
			e.logf("%s: %s ...", g.Name, tool)
			t0 := time.Now()
			outs := g.Run(ctx, e, tool)
			for _, r := range g.Rows {
				o, ok := outs[r.Key]
				if !ok {
					o = Outcome{Err: fmt.Errorf("not measured")}
				}
				*pick(byKey[r.Key], tool) = o
				e.logf("  %-12s %-8s %s", r.Key, tool, cell(r, o))
			}
			e.logf("%s: %s done in %s", g.Name, tool, time.Since(t0).Round(100*time.Millisecond))
		}
	}
	var res []Result
	for _, k := range order {
		res = append(res, *byKey[k])
	}
	return res
}

var errSkipped = fmt.Errorf("skipped")

// errNoEquivalent is a tool's outcome on a row it has no command for (PM2
// has no validate or plan): shown "–", not a missing number.
var errNoEquivalent = fmt.Errorf("no equivalent command")

func pick(r *Result, tool string) *Outcome {
	if tool == "PM2" {
		return &r.PM2
	}
	return &r.Beadsctl
}

func cell(r Row, o Outcome) string {
	if o.Err != nil {
		if o.Err == errSkipped {
			return "skipped"
		}
		if o.Err == errNoEquivalent {
			return "–"
		}
		return "no number: " + firstLine(o.Err)
	}
	if len(o.Vals) == 0 {
		return "no number"
	}
	return r.Format(o)
}

func renderTable(results []Result) string {
	var b strings.Builder
	b.WriteString("| scenario | PM2 median | beadsctl median | ratio | target | met? |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range results {
		ratio, met := "-", "no"
		ok := r.Beadsctl.Err == nil && len(r.Beadsctl.Vals) > 0
		if ok {
			ratio, ok = r.Judge(r.PM2, r.Beadsctl)
			if ok {
				met = "yes"
			}
		} else {
			met = "n/a"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.Title, esc(cell(r.Row, r.PM2)), esc(cell(r.Row, r.Beadsctl)), ratio, r.Target, met)
	}
	return b.String()
}

func esc(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

//go:embed NOTES.md
var notes string

func (e *Env) markdown(results []Result, table string, took time.Duration) string {
	var b strings.Builder
	m := e.info
	b.WriteString("# Benchmarks: beadsctl against PM2\n\n")
	b.WriteString("Generated by `make bench` (`go run ./bench`): both tools measured in the same run, on the same machine, on the same workloads. Do not edit by hand; the prose comes from `bench/NOTES.md`.\n\n")
	b.WriteString("## Machine\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n| date | %s |\n| nproc | %d |\n| CPU | %s |\n| kernel | %s |\n| Go | %s |\n| Node.js | %s |\n| PM2 | %s |\n| beadsctl | %s |\n| dolt | %s |\n| mode | %s, %s |\n| load average (1 5 15 min), start -> end | %s |\n\n",
		m.Date, m.Nproc, m.CPU, m.Kernel, m.Go, m.Node, m.PM2, m.Beadsctl, m.Dolt, e.mode(), took.Round(time.Second), m.Load)
	b.WriteString("## Results\n\n")
	b.WriteString(table)
	b.WriteString("\nRatio: how many times better beadsctl is than PM2 on that row (PM2 / beadsctl for times and sizes, beadsctl / PM2 for throughput).\n\n")
	b.WriteString("### Every run\n\n")
	for _, r := range results {
		fmt.Fprintf(&b, "- **%s**: PM2 %s; beadsctl %s\n", r.Title, rawRuns(r.PM2), rawRuns(r.Beadsctl))
	}
	b.WriteString("\n")
	if e.goBench != "" {
		b.WriteString("## Go benchmarks of the hot paths\n\n")
		fmt.Fprintf(&b, "`go test -run '^$' -bench . -benchmem -benchtime %s %s`, in the same run:\n\n```\n%s```\n\n", goBenchTime, strings.Join(goBenchPkgs, " "), e.goBench)
	}
	b.WriteString(notes)
	return b.String()
}

var (
	goBenchPkgs = []string{"./schema", "./reconcile", "./supervisor"}
	goBenchTime = "300ms"
)

// runGoBench runs the packages' Go benchmarks and keeps their result lines.
func (e *Env) runGoBench(ctx context.Context) string {
	e.logf("go benchmarks ...")
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", goBenchTime}, goBenchPkgs...)
	c := exec.Command("go", args...)
	c.Dir = e.root
	out, err := run(ctx, c)
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Benchmark") || strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "FAIL") {
			keep = append(keep, l)
		}
	}
	if err != nil {
		keep = append(keep, "error: "+firstLine(err))
	}
	res := strings.Join(keep, "\n") + "\n"
	fmt.Print("\n" + res)
	return res
}

func rawRuns(o Outcome) string {
	if o.Err != nil {
		return "(" + firstLine(o.Err) + ")"
	}
	s := nums(o.Vals)
	if len(o.Aux) > 0 {
		s += " aux " + nums(o.Aux)
	}
	for _, k := range slices.Sorted(maps.Keys(o.More)) {
		s += " " + k + " " + nums(o.More[k])
	}
	if o.Note != "" {
		s += " — " + o.Note
	}
	return s
}

// nums shows run values compactly: whole numbers from 100 up, 4 significant digits below.
func nums(v []float64) string {
	out := make([]string, len(v))
	for i, x := range v {
		if math.Abs(x) >= 100 {
			out[i] = strconv.FormatFloat(math.Round(x), 'f', -1, 64)
		} else {
			out[i] = strconv.FormatFloat(x, 'g', 4, 64)
		}
	}
	return "[" + strings.Join(out, " ") + "]"
}

// spread is "median (min–max)" of v, in v's unit.
func spread(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	return fmt.Sprintf("%s (%s–%s)", short(median(v)), short(slices.Min(v)), short(slices.Max(v)))
}

// short shows x with 3 significant digits (whole numbers from 100 up).
func short(x float64) string {
	if math.Abs(x) >= 100 {
		return strconv.FormatFloat(math.Round(x), 'f', -1, 64)
	}
	return strconv.FormatFloat(x, 'g', 3, 64)
}

// median of v (v is not modified).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

var _ io.Writer = (*strings.Builder)(nil)

// copyExecutable copies the binary the linker wrote to where the rows run
// it, as an install or a download writes it. While the page cache holds the
// pages the linker wrote (through a memory mapping), every exec of that very
// file took 0.2-0.4 ms more than an exec of the same bytes written by
// write(2), or of the linked file once dropped from the cache and read back
// from disk, as after a reboot (measured 2026-12-06, 40 runs each,
// interleaved; likely the size of the cached pages, which the kernel maps one
// by one at each fault). A user never runs the just-linked file.
func copyExecutable(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		return err
	}
	return os.Remove(src)
}
