package schema

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

var rootSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "daemon", LabelNames: []string{"name"}},
	{Type: "env", LabelNames: []string{"name"}},
	{Type: "metrics"},
	{Type: "alert", LabelNames: []string{"name"}},
}}

var profileSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "daemon", LabelNames: []string{"name"}},
}}

// validName reports whether name is what daemon and profile names may look
// like (^[A-Za-z0-9][A-Za-z0-9_.-]*$): they name log files and appear on
// command lines. Written out, not a package-level regexp compiled when every
// command starts.
func validName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return name != ""
}

// Load reads the beads.hcl at path and resolves it under profile ("" for the
// base file alone). environ is what env("NAME") reads (cmd passes os.Environ()).
// It returns the files parsed (for rendering diagnostics with source) and every
// diagnostic found; the Config is nil when the diagnostics hold an error.
//
// Load checks the structure of every profile, so a misspelt attribute anywhere
// fails every command, but evaluates only the selected profile's expressions.
func Load(path, profile string, environ []string) (*Config, map[string]*hcl.File, hcl.Diagnostics) {
	cfg, _, files, diags := loadFile(path, profile, environ)
	return cfg, files, diags
}

// ValidateAll loads path on its own and under every profile it declares and
// returns the diagnostics of all these loads, each once. A warning that a
// sensitive key is not in the environment is kept only when no profile sets it.
func ValidateAll(path string, environ []string) (map[string]*hcl.File, hcl.Diagnostics) {
	_, files, diags := Validate(path, environ)
	return files, diags
}

// Validate is ValidateAll, and the profiles the file declares. The file is
// read and parsed once, then resolved under each profile (it was parsed once
// per profile, and once more for the profile list: 1,000 daemons took 240 ms).
func Validate(path string, environ []string) ([]string, map[string]*hcl.File, hcl.Diagnostics) {
	src, abs, diags := readFile(path)
	if diags.HasErrors() {
		return nil, map[string]*hcl.File{}, diags
	}
	profiles, files, diags, _ := validate(src, path, abs, environ, nil)
	return profiles, files, diags
}

// validate is Validate on source already read, and the Config of each
// resolution (the base blocks first, then each profile; nil ones with errors).
func validate(src []byte, path, abs string, environ []string, in *inputs) ([]string, map[string]*hcl.File, hcl.Diagnostics, []*Config) {
	file, files, diags, chunked := parseSource(src, path)
	if file == nil {
		return nil, files, diags, nil
	}
	profiles, out, cfgs := validateFile(file, files, diags, abs, environ, in)
	if chunked && len(out) > 0 {
		// Every diagnostic shown comes from a whole parse (chunks.go).
		if file, files, diags = parseWhole(src, path); file == nil {
			return nil, files, diags, nil
		}
		profiles, out, cfgs = validateFile(file, files, diags, abs, environ, in)
	}
	return profiles, files, out, cfgs
}

// validateFile resolves a parsed file (with the parse's diagnostics) under
// no profile and each declared one.
func validateFile(file *hcl.File, files map[string]*hcl.File, diags hcl.Diagnostics, abs string, environ []string, in *inputs) ([]string, hcl.Diagnostics, []*Config) {
	cfg, profiles, more := resolveFile(file, files, abs, "", environ, in, nil)
	first := append(diags, more...)
	sortDiags(first)
	runs := []hcl.Diagnostics{first}
	cfgs := []*Config{cfg}
	for _, p := range profiles {
		cfg, _, more := resolveFile(file, files, abs, p, environ, in, nil)
		runs = append(runs, more)
		cfgs = append(cfgs, cfg)
	}
	return profiles, dedup(runs), cfgs
}

func dedup(runs []hcl.Diagnostics) hcl.Diagnostics {
	key := func(d *hcl.Diagnostic) string {
		var s string
		if d.Subject != nil {
			s = d.Subject.String()
		}
		return fmt.Sprintf("%d\x00%s\x00%s\x00%s", d.Severity, d.Summary, d.Detail, s)
	}
	count := map[string]int{}
	var out hcl.Diagnostics
	for _, run := range runs {
		seenInRun := map[string]bool{}
		for _, d := range run {
			k := key(d)
			if seenInRun[k] {
				continue
			}
			seenInRun[k] = true
			if count[k] == 0 {
				out = append(out, d)
			}
			count[k]++
		}
	}
	kept := out[:0]
	for _, d := range out {
		if _, ok := d.Extra.(sensitiveUnset); ok && count[key(d)] < len(runs) {
			continue
		}
		kept = append(kept, d)
	}
	sortDiags(kept)
	return kept
}

func loadFile(path, profile string, environ []string) (*Config, []string, map[string]*hcl.File, hcl.Diagnostics) {
	src, abs, diags := readFile(path)
	if diags.HasErrors() {
		return nil, nil, map[string]*hcl.File{}, diags
	}
	return load(src, path, abs, profile, environ, nil)
}

// readFile reads the configuration at path, and its absolute path.
func readFile(path string) ([]byte, string, hcl.Diagnostics) {
	src, err := readConfig(path)
	if err != nil {
		detail := err.Error()
		if os.IsNotExist(err) {
			detail = fmt.Sprintf("There is no %s. Create it, or name another file with -f.", path)
		}
		return nil, "", hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Cannot read configuration", Detail: detail,
		}}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return src, abs, nil
}

// load is Load on source already read: filename names it in diagnostics and
// abs is its absolute path. in, when not nil, records what was read besides
// the file (cache.go).
func load(src []byte, filename, abs, profile string, environ []string, in *inputs) (*Config, []string, map[string]*hcl.File, hcl.Diagnostics) {
	file, files, diags, chunked := parseSource(src, filename)
	if file == nil {
		return nil, nil, files, diags
	}
	cfg, profiles, more := resolveFile(file, files, abs, profile, environ, in, nil)
	if chunked && len(more) > 0 {
		// Every diagnostic shown comes from a whole parse (chunks.go).
		file, files, diags = parseWhole(src, filename)
		if file == nil {
			return nil, nil, files, diags
		}
		cfg, profiles, more = resolveFile(file, files, abs, profile, environ, in, nil)
	}
	diags = append(diags, more...)
	sortDiags(diags)
	if diags.HasErrors() {
		cfg = nil
	}
	return cfg, profiles, files, diags
}

// fileName is the name file was parsed under (its key in files).
func fileName(file *hcl.File, files map[string]*hcl.File) string {
	for name, f := range files {
		if f == file {
			return name
		}
	}
	return ""
}

// parseWhole parses src, whose limits were checked, in one piece; the file
// is nil when it cannot be resolved (the diagnostics say why).
func parseWhole(src []byte, filename string) (*hcl.File, map[string]*hcl.File, hcl.Diagnostics) {
	parser := hclparse.NewParser()
	var file *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(filename, ".json") {
		file, diags = parser.ParseJSON(src, filename)
	} else {
		file, diags = parser.ParseHCL(src, filename)
	}
	files := parser.Files()
	if diags.HasErrors() || file == nil {
		sortDiags(diags)
		return nil, files, diags
	}
	return file, files, diags
}

// resolveFile resolves a parsed file under profile: the Config (nil with an
// error), the profiles declared and the diagnostics of the resolution (not
// those of the parse). The file's AST is only read, so one parse serves
// every profile. in, when not nil, records whether env() was called.
//
// prior are daemons an earlier resolution made of blocks that are not in
// file (incremental.go: the same bytes, profile and every other input):
// they are taken as they are, in place of a block decoded, resolved and
// hashed, and checked with the others as a whole (names, profiles, log
// paths, dependencies, alerts).
func resolveFile(file *hcl.File, files map[string]*hcl.File, abs, profile string, environ []string, in *inputs, prior []*Daemon) (*Config, []string, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	filename := fileName(file, files)
	content, more := file.Body.Content(rootSchema)
	diags = append(diags, more...)

	root := filepath.Dir(abs)
	var read *atomic.Bool
	if in != nil {
		read = &in.env
	}
	ctx := &hcl.EvalContext{Functions: functions(environ, read)}

	type decl struct {
		block *hcl.Block
		def   hcl.Range
		base  *layer
		over  *layer
		prior *Daemon
	}
	daemons := map[string]*decl{}
	var names []string
	profiles := map[string]*hcl.Block{}
	var envBlocks, metricsBlocks, alertBlocks []*hcl.Block
	// The daemon blocks are decoded first, in parallel; what follows takes
	// their results in the file's order, so the diagnostics are the same.
	var daemonBlocks []*hcl.Block
	for _, blk := range content.Blocks {
		if blk.Type != "env" && blk.Type != "metrics" && blk.Type != "alert" {
			daemonBlocks = append(daemonBlocks, blk)
		}
	}
	decoded := make([]*layer, len(daemonBlocks))
	decodeDiags := make([]hcl.Diagnostics, len(daemonBlocks))
	parallel(len(daemonBlocks), func(i int) {
		decoded[i] = newLayer()
		decodeDiags[i] = decodeBody(daemonBlocks[i].Body, daemonSpec, "", ctx, decoded[i])
	})
	nextDaemon := 0
	for _, blk := range content.Blocks {
		if blk.Type == "env" {
			envBlocks = append(envBlocks, blk)
			continue
		}
		if blk.Type == "metrics" {
			metricsBlocks = append(metricsBlocks, blk)
			continue
		}
		if blk.Type == "alert" {
			alertBlocks = append(alertBlocks, blk)
			continue
		}
		name := blk.Labels[0]
		l := decoded[nextDaemon]
		diags = append(diags, decodeDiags[nextDaemon]...)
		nextDaemon++
		if d := checkName("daemon", name, blk.LabelRanges[0]); d != nil {
			diags = append(diags, d)
			continue
		}
		if first, dup := daemons[name]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate daemon",
				Detail:   fmt.Sprintf("A daemon named %q is already declared at %s; daemon names must be unique.", name, pos(first.def)),
				Subject:  blk.LabelRanges[0].Ptr(),
			})
			continue
		}
		daemons[name] = &decl{block: blk, def: blk.DefRange, base: l}
		names = append(names, name)
	}
	for _, d := range prior {
		if first, dup := daemons[d.Name]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate daemon",
				Detail:   fmt.Sprintf("A daemon named %q is already declared at %s; daemon names must be unique.", d.Name, pos(first.def)),
				Subject:  d.DeclRange.Ptr(),
			})
			continue
		}
		daemons[d.Name] = &decl{def: d.DeclRange, prior: d}
		names = append(names, d.Name)
	}

	for _, blk := range envBlocks {
		name := blk.Labels[0]
		if d := checkName("env profile", name, blk.LabelRanges[0]); d != nil {
			diags = append(diags, d)
			continue
		}
		if first, dup := profiles[name]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate env profile",
				Detail:   fmt.Sprintf("A profile named %q is already declared at %s; merge the two blocks.", name, pos(first.DefRange)),
				Subject:  blk.LabelRanges[0].Ptr(),
			})
			continue
		}
		profiles[name] = blk
		selected := name == profile
		pc, more := blk.Body.Content(profileSchema)
		diags = append(diags, more...)
		inProfile := map[string]*hcl.Block{}
		for _, db := range pc.Blocks {
			dn := db.Labels[0]
			var l *layer
			if selected {
				l = newLayer()
			}
			diags = append(diags, decodeBody(db.Body, daemonSpec, "", ctx, l)...)
			if first, dup := inProfile[dn]; dup {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate daemon in profile",
					Detail:   fmt.Sprintf("Profile %q already changes daemon %q at %s; merge the two blocks.", name, dn, pos(first.DefRange)),
					Subject:  db.LabelRanges[0].Ptr(),
				})
				continue
			}
			inProfile[dn] = db
			d, ok := daemons[dn]
			if !ok {
				detail := fmt.Sprintf("Profile %q changes daemon %q, but no daemon %q is declared.", name, dn, dn)
				if s := didYouMean(dn, names); s != "" {
					detail += s
				} else if len(names) > 0 {
					sorted := append([]string(nil), names...)
					sort.Strings(sorted)
					detail += " Declared daemons: " + quoteList(sorted) + "."
				}
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Unknown daemon in profile", Detail: detail,
					Subject: db.LabelRanges[0].Ptr(),
				})
				continue
			}
			if selected {
				d.over = l
			}
		}
	}
	known := slices.AppendSeq([]string{}, maps.Keys(profiles)) // [] rather than null in JSON
	slices.Sort(known)

	if profile != "" && profiles[profile] == nil {
		detail := fmt.Sprintf("%s declares no profile %q.", filename, profile)
		if len(known) == 0 {
			detail += ` It declares no profiles at all: add env "` + profile + `" { ... } or leave out --env and BEADSCTL_ENV.`
		} else {
			detail += " Known profiles: " + strings.Join(known, ", ") + "." + didYouMean(profile, known)
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown profile", Detail: detail})
		sortDiags(diags)
		return nil, known, diags
	}

	cfg := &Config{Path: abs, Dir: root, Env: profile, Profiles: known, Daemons: []Daemon{}}
	metrics, more := decodeMetrics(metricsBlocks, ctx)
	diags = append(diags, more...)
	cfg.Metrics = metrics
	sort.Strings(names)
	alerts, onAt, more := decodeAlerts(alertBlocks, ctx, names)
	diags = append(diags, more...)
	cfg.Alerts = alerts
	// Each daemon resolves on its own, in parallel; its diagnostics are taken
	// in name order as before.
	cfg.Daemons = make([]Daemon, len(names))
	ranges := make([]map[string]hcl.Range, len(names))
	resolved := make([]hcl.Diagnostics, len(names))
	home := envHome(environ)
	parallel(len(names), func(i int) {
		dcl := daemons[names[i]]
		if dcl.prior != nil {
			cfg.Daemons[i] = *dcl.prior
			return
		}
		merged := merge(dcl.base, dcl.over)
		cfg.Daemons[i], resolved[i] = resolve(names[i], merged, dcl.block.DefRange, root, home)
		rr := (&resolver{l: merged, decl: dcl.block.DefRange})
		ranges[i] = map[string]hcl.Range{
			"out": rr.at("logs.out"), "error": rr.at("logs.error"), "combined": rr.at("logs.combined"),
		}
	})
	for _, more := range resolved {
		diags = append(diags, more...)
	}
	diags = append(diags, logCollisions(cfg.Daemons, ranges)...)
	diags = append(diags, checkDependencies(cfg.Daemons, names)...)
	diags = append(diags, checkAlertTriggers(cfg.Alerts, cfg.Daemons, onAt)...)
	parallel(len(cfg.Daemons), func(i int) {
		if daemons[names[i]].prior == nil {
			cfg.Daemons[i].Hash = HashDaemon(&cfg.Daemons[i])
		}
	})
	sortDiags(diags)
	if diags.HasErrors() {
		return nil, known, diags
	}
	return cfg, known, diags
}

// logCollisions reports a log file used by two daemons, at the later one.
func logCollisions(ds []Daemon, ranges []map[string]hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	type owner struct{ daemon, which string }
	owners := make(map[string]owner, 2*len(ds))
	for i, d := range ds {
		var mine [3]string // a map each was a tenth of a load after an edit's allocations
		for k, p := range [...]struct{ which, path string }{{"out", d.Logs.Out}, {"error", d.Logs.Error}, {"combined", d.Logs.Combined}} {
			if p.path == "" || slices.Contains(mine[:k], p.path) {
				continue
			}
			mine[k] = p.path
			if o, taken := owners[p.path]; taken {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Log files collide",
					Detail:   fmt.Sprintf("Daemon %q writes its %s log to %s, which daemon %q uses for its %s log. Give each daemon its own files.", d.Name, p.which, p.path, o.daemon, o.which),
					Subject:  ranges[i][p.which].Ptr(),
				})
				continue
			}
			owners[p.path] = owner{d.Name, p.which}
		}
	}
	return diags
}

func badName(what, name string, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid " + what + " name",
		Detail:   fmt.Sprintf("%q is not a valid %s name: use letters, digits, '_', '.' and '-', starting with a letter or digit.", name, what),
		Subject:  rng.Ptr(),
	}
}

// sortDiags orders diagnostics by file and position; those without a
// position come first.
func sortDiags(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
}
