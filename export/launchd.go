package export

import (
	"bytes"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"howett.net/plist"

	"github.com/beadsctl/beadsctl/internal/boot"
	"github.com/beadsctl/beadsctl/schema"
)

// LaunchdOptions configure Launchd.
type LaunchdOptions struct {
	Options
	AgentOptions
}

// LaunchdJob is the property list of one launchd job (launchd.plist(5)); the
// fields beadsctl sets, in the order launchctl prints them.
type LaunchdJob struct {
	Label                string            `plist:"Label"`
	ProgramArguments     []string          `plist:"ProgramArguments"`
	WorkingDirectory     string            `plist:"WorkingDirectory,omitempty"`
	EnvironmentVariables map[string]string `plist:"EnvironmentVariables,omitempty"`
	RunAtLoad            bool              `plist:"RunAtLoad"`
	// KeepAlive is a bool, or a dict {SuccessfulExit: false} to restart only
	// after a failure.
	KeepAlive         any    `plist:"KeepAlive"`
	ThrottleInterval  int64  `plist:"ThrottleInterval,omitempty"`
	ExitTimeOut       int64  `plist:"ExitTimeOut,omitempty"`
	StandardOutPath   string `plist:"StandardOutPath,omitempty"`
	StandardErrorPath string `plist:"StandardErrorPath,omitempty"`
}

// LaunchdLabel is the launchd label of a daemon of the project in dir.
func LaunchdLabel(dir, daemon string) string {
	return fitName("com.beadsctl."+boot.ProjectID(dir)+"."+daemon, ".plist")
}

// Launchd renders one property list per daemon
// (com.beadsctl.<project>.<daemon>.plist, see ProjectID), or one for the
// agent with Agent. launchd has no environment file: sensitive values are
// written into the plist (mode 0600) under OutDir and never printed.
func Launchd(cfg *schema.Config, opts LaunchdOptions) (*Result, error) {
	if opts.Agent {
		return launchdAgent(cfg, opts)
	}
	ds, err := selectDaemons(cfg, opts.Daemon)
	if err != nil {
		return nil, err
	}
	r := &Result{}
	for i := range ds {
		d := &ds[i]
		label := LaunchdLabel(cfg.Dir, d.Name)
		argv := d.Argv()
		argv[0] = resolveCommand(r, d, opts.Options, "launchd runs it with its own PATH, /usr/bin:/bin:/usr/sbin:/sbin")
		job := LaunchdJob{
			Label:             label,
			ProgramArguments:  argv,
			WorkingDirectory:  d.Dir,
			RunAtLoad:         true,
			StandardOutPath:   d.Logs.Out,
			StandardErrorPath: d.Logs.Error,
			ExitTimeOut:       ceilSeconds(d.Stop.Timeout),
		}
		plain, secret := splitEnv(d)
		mode := fs.FileMode(0o644)
		job.EnvironmentVariables = map[string]string{"PATH": unitPath(opts.Options, argv[0])}
		for _, k := range plain {
			job.EnvironmentVariables[k] = d.Environment[k]
		}
		if len(secret) > 0 {
			if opts.OutDir != "" {
				for _, k := range secret {
					job.EnvironmentVariables[k] = d.Environment[k]
				}
				mode = 0o600
				r.note("daemon %q: sensitive values (%s) are in %s, written with mode 0600 (launchd has no environment file)", d.Name, strings.Join(secret, ", "), label+".plist")
			} else {
				r.warn(d.Name, "sensitive", "values of %s are not printed; run with -o DIR to write them into DIR/%s.plist (mode 0600)", strings.Join(secret, ", "), label)
			}
		}
		rs := d.Restart
		switch rs.Policy {
		case "never":
			job.KeepAlive = false
		case "on-failure", "once":
			job.KeepAlive = map[string]any{"SuccessfulExit": false}
		default:
			job.KeepAlive = true
		}
		if rs.Policy == "once" {
			r.warn(d.Name, "restart.policy", "\"once\" is mapped as on-failure (KeepAlive SuccessfulExit=false): launchd runs the job again at every load, it records no completion")
		}
		if len(d.DependsOn) > 0 {
			r.warn(d.Name, "depends_on", "not mapped: launchd has no start order between jobs; %s starts at once, whatever %s is doing (export launchd --agent keeps beadsctl's ordering)", d.Name, depNames(d))
		}
		if rs.Policy != "never" {
			job.ThrottleInterval = ceilSeconds(rs.Delay)
			if rs.Backoff == "exponential" {
				r.warn(d.Name, "restart.backoff", "\"exponential\" is not mapped: launchd waits a constant ThrottleInterval=%d seconds between starts", job.ThrottleInterval)
			}
			if rs.MaxRestarts > 0 {
				r.warn(d.Name, "restart.max_restarts", "not mapped (nor min_uptime %s): launchd restarts the job forever, at most once per ThrottleInterval, and never marks it errored", rs.MinUptime)
			}
		}
		if d.Limits.Memory > 0 {
			r.warn(d.Name, "limits.memory", "not mapped: launchd does not enforce a memory limit (macOS ignores ResidentSetSize); the daemon is never restarted for its memory use")
		}
		if d.Stop.Signal != "" && d.Stop.Signal != "SIGTERM" {
			r.warn(d.Name, "stop.signal", "%s is not mapped: launchd always stops a job with SIGTERM, then SIGKILL after ExitTimeOut", d.Stop.Signal)
		}
		warnLogs(r, d, "launchd", false)
		warnHealth(r, d, "launchd", "launchd restarts the daemon only when its process exits")

		data, err := plist.MarshalIndent(job, plist.XMLFormat, "\t")
		if err != nil {
			return nil, fmt.Errorf("daemon %q: %w", d.Name, err)
		}
		r.Files = append(r.Files, File{Name: label + ".plist", Mode: mode, Data: withPlistComment(data, cfg, label, "export launchd")})
	}
	return r, nil
}

// launchdAgent renders one property list running beadsctl's agent: started
// at load (login, for a LaunchAgent), started again after a failure.
func launchdAgent(cfg *schema.Config, opts LaunchdOptions) (*Result, error) {
	r := &Result{}
	label := boot.AgentLabel(cfg.Dir)
	argv := agentArgv(r, cfg, opts.AgentOptions)
	var longest time.Duration
	for _, d := range cfg.Daemons {
		longest = max(longest, d.Stop.Timeout)
	}
	logs := filepath.Join(cfg.Dir, ".beadsctl", "agent.launchd.log")
	job := LaunchdJob{
		Label:                label,
		ProgramArguments:     argv,
		WorkingDirectory:     cfg.Dir,
		EnvironmentVariables: map[string]string{"PATH": unitPath(opts.Options, agentCommands(argv[0], cfg, opts.Options)...)},
		RunAtLoad:            true,
		KeepAlive:            map[string]any{"SuccessfulExit": false},
		ThrottleInterval:     5,
		ExitTimeOut:          ceilSeconds(longest + 10*time.Second),
		StandardOutPath:      logs,
		StandardErrorPath:    logs,
	}
	data, err := plist.MarshalIndent(job, plist.XMLFormat, "\t")
	if err != nil {
		return nil, err
	}
	how := "export launchd --agent"
	if opts.Restore {
		how = "startup"
	}
	r.Files = append(r.Files, File{Name: label + ".plist", Mode: 0o644, Data: withPlistComment(data, cfg, label, how)})
	return r, nil
}

// withPlistComment puts the generated-by comment after the DOCTYPE line (an
// XML comment may not come before the XML declaration).
func withPlistComment(data []byte, cfg *schema.Config, label, how string) []byte {
	// "--" may not appear inside an XML comment.
	src := strings.ReplaceAll(cfg.Path, "--", "-\u2010")
	comment := fmt.Sprintf("<!-- %s.plist: generated by `beadsctl %s` from %s (%s). Do not edit: %s. -->\n", label, how, src, profileNote(cfg, how), regenerate(how))
	i := bytes.Index(data, []byte("<plist"))
	if i < 0 {
		return data
	}
	out := append([]byte{}, data[:i]...)
	out = append(out, comment...)
	out = append(out, data[i:]...)
	if !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	return out
}
