package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/hashicorp/nomad/api"
	"github.com/zclconf/go-cty/cty"

	"github.com/beadsctl/beadsctl/schema"
)

// NomadOptions configure Nomad.
type NomadOptions struct {
	Options
	// Format is "hcl" (a jobspec for `nomad job run`) or "json" (the API
	// form {"Job": ...} for `nomad job run -json` and PUT /v1/jobs).
	Format string
	// Datacenters default to ["dc1"].
	Datacenters []string
	// Type is "service" (one allocation per daemon) or "system" (one per node).
	Type string
	// Job is the job ID; default "beadsctl-" + the base name of the project folder.
	Job string
}

// nomadMinInterval is Nomad's lower bound for restart.interval.
const nomadMinInterval = 5 * time.Second

// NomadJob builds the job: one group per daemon, each with one raw_exec task.
func NomadJob(cfg *schema.Config, opts NomadOptions) (*api.Job, *Result, error) {
	ds, err := selectDaemons(cfg, opts.Daemon)
	if err != nil {
		return nil, nil, err
	}
	typ := opts.Type
	switch typ {
	case "":
		typ = api.JobTypeService
	case api.JobTypeService, api.JobTypeSystem:
	default:
		return nil, nil, fmt.Errorf("--type %q: use service or system", typ)
	}
	dcs := opts.Datacenters
	if len(dcs) == 0 {
		dcs = []string{"dc1"}
	}
	id := opts.Job
	if id == "" {
		id = "beadsctl-" + nomadName(filepath.Base(cfg.Dir))
	}
	r := &Result{}
	job := &api.Job{ID: new(id), Name: new(id), Type: new(typ), Datacenters: dcs}
	for i := range ds {
		d := &ds[i]
		name := nomadName(d.Name)
		tg := &api.TaskGroup{Name: new(name), RestartPolicy: nomadRestart(d, r)}
		if typ == api.JobTypeService {
			tg.Count = new(1)
		}
		argv := d.Argv()
		config := map[string]any{
			"command": resolveCommand(r, d, opts.Options, "Nomad's raw_exec needs an absolute path for a binary on the host"),
		}
		if len(argv) > 1 {
			config["args"] = argv[1:]
		}
		if d.Dir != "" {
			config["work_dir"] = d.Dir
		}
		task := &api.Task{Name: name, Driver: "raw_exec", Config: config, KillSignal: d.Stop.Signal}
		if d.Stop.Timeout > 0 {
			task.KillTimeout = new(d.Stop.Timeout)
		}
		plain, secret := splitEnv(d)
		if len(plain) > 0 {
			task.Env = map[string]string{}
			for _, k := range plain {
				task.Env[k] = d.Environment[k]
			}
		}
		if len(secret) > 0 {
			path := "nomad/jobs/" + id + "/" + name + "/" + name
			task.Templates = []*api.Template{nomadSecretTemplate(path, secret)}
			r.note("daemon %q: sensitive values (%s) are read from the Nomad variable %s: nomad var put %s %s", d.Name, strings.Join(secret, ", "), path, path, strings.Join(secret, "=... ")+"=...")
		}
		if d.Limits.Memory > 0 {
			task.Resources = &api.Resources{MemoryMB: new(int(ceilDiv(d.Limits.Memory, 1<<20)))}
			r.warn(d.Name, "limits.memory", "mapped to resources.memory = %d (MB): Nomad reserves it and, where cgroups allow, the kernel OOM-kills the task over it (no graceful stop) instead of beadsctl's graceful restart checked every %s", *task.Resources.MemoryMB, d.Limits.CheckInterval)
		}
		if rot := d.Logs.Rotate; rot.MaxSize > 0 || rot.Keep > 0 {
			lc := &api.LogConfig{}
			if rot.Keep > 0 {
				lc.MaxFiles = new(rot.Keep + 1) // beadsctl keeps Keep rotated files plus the live one
			}
			if rot.MaxSize > 0 {
				lc.MaxFileSizeMB = new(int(max(1, ceilDiv(rot.MaxSize, 1<<20))))
			}
			task.LogConfig = lc
		}
		if d.Logs.Out != "" || d.Logs.Error != "" {
			r.warn(d.Name, "logs.out", "the paths %s are not mapped: Nomad keeps the task's stdout and stderr in the allocation's alloc/logs folder (nomad alloc logs)", strings.Join(nonEmpty(d.Logs.Out, d.Logs.Error), " and "))
		}
		warnLogs(r, d, "Nomad", true)
		warnHealth(r, d, "Nomad", "Nomad restarts the task only when its process exits (a tcp or script check needs a service block with a provider)")
		tg.Tasks = []*api.Task{task}
		job.TaskGroups = append(job.TaskGroups, tg)
	}
	return job, r, nil
}

// Nomad renders the job in opts.Format ("hcl" by default) as one file, JOB.nomad.hcl or JOB.json.
func Nomad(cfg *schema.Config, opts NomadOptions) (*Result, error) {
	job, r, err := NomadJob(cfg, opts)
	if err != nil {
		return nil, err
	}
	var f File
	switch opts.Format {
	case "", "hcl":
		data, err := nomadHCL(job, cfg)
		if err != nil {
			return nil, err
		}
		f = File{Name: *job.ID + ".nomad.hcl", Mode: 0o644, Data: data}
	case "json":
		data, err := nomadJSON(job)
		if err != nil {
			return nil, err
		}
		f = File{Name: *job.ID + ".json", Mode: 0o644, Data: data}
	default:
		return nil, fmt.Errorf("--format %q: use hcl or json", opts.Format)
	}
	r.Files = []File{f}
	return r, nil
}

func nomadRestart(d *schema.Daemon, r *Result) *api.RestartPolicy {
	rs := d.Restart
	delay := rs.Delay
	if rs.Policy == "never" {
		return &api.RestartPolicy{Attempts: new(0), Interval: new(nomadMinInterval), Delay: new(delay), Mode: new(api.RestartPolicyModeFail)}
	}
	switch rs.Policy {
	case "on-failure":
		r.warn(d.Name, "restart.policy", "\"on-failure\" is not mapped: in service and system jobs Nomad restarts a task after any exit, a successful one too")
	case "once":
		r.warn(d.Name, "restart.policy", "\"once\" is not mapped: in service and system jobs Nomad restarts a task after any exit, a successful one too (a one-shot is a prestart lifecycle task or a batch job there)")
	}
	if len(d.DependsOn) > 0 {
		r.warn(d.Name, "depends_on", "not mapped: the tasks of this job start in no order (%s); Nomad orders tasks only inside one group with lifecycle hooks", depNames(d))
	}
	if rs.Backoff == "exponential" {
		r.warn(d.Name, "restart.backoff", "\"exponential\" is not mapped: Nomad waits a constant restart.delay = %s (with jitter)", delay)
	}
	if rs.MaxRestarts <= 0 {
		// No limit: mode "delay" waits out the interval and goes on restarting.
		return &api.RestartPolicy{Attempts: new(1), Interval: new(max(nomadMinInterval, delay)), Delay: new(delay), Mode: new(api.RestartPolicyModeDelay)}
	}
	win := max(nomadMinInterval, restartWindow(rs))
	r.warn(d.Name, "restart.min_uptime", "not mapped as such: Nomad fails the task after %d restarts within restart.interval = %s, derived as (max_restarts + 1) x (min_uptime %s + delay %s), not only after runs shorter than %s", rs.MaxRestarts, win, rs.MinUptime, delay, rs.MinUptime)
	return &api.RestartPolicy{Attempts: new(rs.MaxRestarts), Interval: new(win), Delay: new(delay), Mode: new(api.RestartPolicyModeFail)}
}

// nomadSecretTemplate reads the sensitive keys from a Nomad variable into the
// task's environment, so their values never appear in the job.
func nomadSecretTemplate(path string, keys []string) *api.Template {
	var b strings.Builder
	fmt.Fprintf(&b, "{{ with nomadVar %q }}\n", path)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s={{ index . %q | toJSON }}\n", k, k)
	}
	b.WriteString("{{ end }}\n")
	return &api.Template{
		EmbeddedTmpl: new(b.String()),
		DestPath:     new("secrets/beadsctl.env"),
		Envvars:      new(true),
		ChangeMode:   new("restart"),
	}
}

// nomadName keeps the characters Nomad accepts in job, group and task names
// that are safe in a variable path too.
func nomadName(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "beadsctl"
	}
	return b.String()
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// nomadJSON is {"Job": job} in the API's JSON form, without the null fields
// the api structs carry (they have no omitempty tags).
func nomadJSON(job *api.Job) ([]byte, error) {
	raw, err := json.Marshal(map[string]any{"Job": job})
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(prune(v), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// prune drops nulls and empty collections, which Nomad reads as "unset";
// zeros stay (restart.attempts = 0 means something).
func prune(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e = prune(e); isEmpty(e) {
				delete(t, k)
			} else {
				t[k] = e
			}
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = prune(e)
		}
		return t
	}
	return v
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

func nomadHCL(job *api.Job, cfg *schema.Config) ([]byte, error) {
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	profile := "no env profile"
	if cfg.Env != "" {
		profile = fmt.Sprintf("env %q", cfg.Env)
	}
	root.AppendUnstructuredTokens(hclwrite.Tokens{
		{Type: hclsyntax.TokenComment, Bytes: fmt.Appendf(nil, "# Generated by `beadsctl export nomad` from %s (%s).\n", cfg.Path, profile)},
		{Type: hclsyntax.TokenComment, Bytes: []byte("# Do not edit: change beads.hcl and export again. Needs raw_exec enabled on the clients (work_dir: Nomad 1.9 or later).\n")},
	})
	jb := root.AppendNewBlock("job", []string{*job.ID}).Body()
	jb.SetAttributeValue("datacenters", stringList(job.Datacenters))
	jb.SetAttributeValue("type", cty.StringVal(*job.Type))
	for _, tg := range job.TaskGroups {
		jb.AppendNewline()
		gb := jb.AppendNewBlock("group", []string{*tg.Name}).Body()
		if tg.Count != nil {
			gb.SetAttributeValue("count", cty.NumberIntVal(int64(*tg.Count)))
			gb.AppendNewline()
		}
		if rp := tg.RestartPolicy; rp != nil {
			rb := gb.AppendNewBlock("restart", nil).Body()
			rb.SetAttributeValue("attempts", cty.NumberIntVal(int64(*rp.Attempts)))
			rb.SetAttributeValue("interval", cty.StringVal(rp.Interval.String()))
			rb.SetAttributeValue("delay", cty.StringVal(rp.Delay.String()))
			rb.SetAttributeValue("mode", cty.StringVal(*rp.Mode))
			gb.AppendNewline()
		}
		for _, t := range tg.Tasks {
			if err := nomadTaskHCL(gb.AppendNewBlock("task", []string{t.Name}).Body(), t); err != nil {
				return nil, err
			}
		}
	}
	return hclwrite.Format(f.Bytes()), nil
}

func nomadTaskHCL(tb *hclwrite.Body, t *api.Task) error {
	tb.SetAttributeValue("driver", cty.StringVal(t.Driver))
	tb.AppendNewline()
	cb := tb.AppendNewBlock("config", nil).Body()
	cb.SetAttributeValue("command", cty.StringVal(t.Config["command"].(string)))
	if args, ok := t.Config["args"].([]string); ok {
		cb.SetAttributeValue("args", stringList(args))
	}
	if wd, ok := t.Config["work_dir"].(string); ok {
		cb.SetAttributeValue("work_dir", cty.StringVal(wd))
	}
	if len(t.Env) > 0 {
		tb.AppendNewline()
		eb := tb.AppendNewBlock("env", nil).Body()
		for _, k := range slices.Sorted(maps.Keys(t.Env)) {
			if !hclsyntax.ValidIdentifier(k) {
				return fmt.Errorf("task %q: environment key %q cannot be an HCL attribute name; use --format json", t.Name, k)
			}
			eb.SetAttributeValue(k, cty.StringVal(t.Env[k]))
		}
	}
	for _, tp := range t.Templates {
		tb.AppendNewline()
		pb := tb.AppendNewBlock("template", nil).Body()
		pb.SetAttributeValue("data", cty.StringVal(*tp.EmbeddedTmpl))
		pb.SetAttributeValue("destination", cty.StringVal(*tp.DestPath))
		pb.SetAttributeValue("env", cty.BoolVal(*tp.Envvars))
		pb.SetAttributeValue("change_mode", cty.StringVal(*tp.ChangeMode))
	}
	tb.AppendNewline()
	if t.KillSignal != "" {
		tb.SetAttributeValue("kill_signal", cty.StringVal(t.KillSignal))
	}
	if t.KillTimeout != nil {
		tb.SetAttributeValue("kill_timeout", cty.StringVal(t.KillTimeout.String()))
	}
	if t.Resources != nil && t.Resources.MemoryMB != nil {
		tb.AppendNewline()
		tb.AppendNewBlock("resources", nil).Body().SetAttributeValue("memory", cty.NumberIntVal(int64(*t.Resources.MemoryMB)))
	}
	if lc := t.LogConfig; lc != nil {
		tb.AppendNewline()
		lb := tb.AppendNewBlock("logs", nil).Body()
		if lc.MaxFiles != nil {
			lb.SetAttributeValue("max_files", cty.NumberIntVal(int64(*lc.MaxFiles)))
		}
		if lc.MaxFileSizeMB != nil {
			lb.SetAttributeValue("max_file_size", cty.NumberIntVal(int64(*lc.MaxFileSizeMB)))
		}
	}
	return nil
}

func stringList(ss []string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(ss))
	for i, s := range ss {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}
