package export

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/nomad/api"

	"github.com/beadsctl/beadsctl/schema"
)

// wantFullJob is the job fullConfig gives in production, field by field.
func wantFullJob() *api.Job {
	return &api.Job{
		ID: new("beadsctl-project"), Name: new("beadsctl-project"), Type: new("service"),
		Datacenters: []string{"dc1"},
		TaskGroups: []*api.TaskGroup{{
			Name:  new("beads"),
			Count: new(1),
			RestartPolicy: &api.RestartPolicy{
				Attempts: new(10), Interval: new(165 * time.Second), Delay: new(5 * time.Second), Mode: new("fail"),
			},
			Tasks: []*api.Task{{
				Name:   "beads",
				Driver: "raw_exec",
				Config: map[string]any{
					"command":  "/usr/local/bin/bd",
					"args":     []any{"daemon", "--start", "--foreground", "--interval", "5s"},
					"work_dir": projectDir,
				},
				Env:         map[string]string{"BD_AUTO_START_DAEMON": "true", "NODE_ENV": "production"},
				KillSignal:  "SIGTERM",
				KillTimeout: new(5 * time.Second),
				Resources:   &api.Resources{MemoryMB: new(300)},
				LogConfig:   &api.LogConfig{MaxFiles: new(6), MaxFileSizeMB: new(10)},
			}},
		}},
	}
}

// TestNomadJSON decodes the JSON strictly into api.Job and checks every field.
func TestNomadJSON(t *testing.T) {
	tests := map[string]struct {
		cfg  *schema.Config
		want *api.Job
	}{
		"full": {cfg: fullConfig("production"), want: wantFullJob()},
		"root": {cfg: rootConfig("production"), want: func() *api.Job {
			j := wantFullJob()
			j.TaskGroups[0].Tasks[0].LogConfig = nil
			return j
		}()},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := Nomad(tt.cfg, NomadOptions{Options: Options{LookPath: fakeLookPath}, Format: "json"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Files[0].Name != "beadsctl-project.json" {
				t.Errorf("file name %q", r.Files[0].Name)
			}
			var got struct{ Job *api.Job }
			dec := json.NewDecoder(bytes.NewReader(r.Files[0].Data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("strict decode: %v\n%s", err, r.Files[0].Data)
			}
			if dec.More() {
				t.Error("more than one JSON value")
			}
			if diff := cmp.Diff(tt.want, got.Job); diff != "" {
				t.Errorf("job (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNomadOptions(t *testing.T) {
	tests := map[string]struct {
		opts    NomadOptions
		cfg     *schema.Config
		check   func(t *testing.T, j *api.Job)
		wantErr string
	}{
		"system": {
			opts: NomadOptions{Type: "system", Datacenters: []string{"a", "b"}, Job: "beads-fleet"},
			check: func(t *testing.T, j *api.Job) {
				if diff := cmp.Diff([]any{"beads-fleet", "system", []string{"a", "b"}, (*int)(nil)},
					[]any{*j.ID, *j.Type, j.Datacenters, j.TaskGroups[0].Count}); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			},
		},
		"never": {
			cfg: trickyConfig(),
			check: func(t *testing.T, j *api.Job) {
				want := &api.RestartPolicy{Attempts: new(0), Interval: new(5 * time.Second), Delay: new(time.Second), Mode: new("fail")}
				if diff := cmp.Diff(want, j.TaskGroups[1].RestartPolicy); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			},
		},
		"unlimited": {
			cfg: func() *schema.Config { c := rootConfig("production"); c.Daemons[0].Restart.MaxRestarts = 0; return c }(),
			check: func(t *testing.T, j *api.Job) {
				want := &api.RestartPolicy{Attempts: new(1), Interval: new(5 * time.Second), Delay: new(5 * time.Second), Mode: new("delay")}
				if diff := cmp.Diff(want, j.TaskGroups[0].RestartPolicy); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			},
		},
		"secrets": {
			cfg: trickyConfig(),
			check: func(t *testing.T, j *api.Job) {
				task := j.TaskGroups[0].Tasks[0]
				if diff := cmp.Diff(map[string]string{"PLAIN": "a b $HOME 50%"}, task.Env); diff != "" {
					t.Errorf("env (-want +got):\n%s", diff)
				}
				want := "{{ with nomadVar \"nomad/jobs/beadsctl-100-/web/web\" }}\nAPI_TOKEN={{ index . \"API_TOKEN\" | toJSON }}\nDB_PASSWORD={{ index . \"DB_PASSWORD\" | toJSON }}\n{{ end }}\n"
				if diff := cmp.Diff(want, *task.Templates[0].EmbeddedTmpl); diff != "" {
					t.Errorf("template (-want +got):\n%s", diff)
				}
			},
		},
		"bad type": {opts: NomadOptions{Type: "batch"}, wantErr: `--type "batch": use service or system`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg == nil {
				cfg = rootConfig("production")
			}
			tt.opts.LookPath = fakeLookPath
			j, _, err := NomadJob(cfg, tt.opts)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, j)
		})
	}
}

// The HCL jobspec, decoded back with hclparse + gohcl.
type hclJobFile struct {
	Job struct {
		ID          string     `hcl:"id,label"`
		Datacenters []string   `hcl:"datacenters"`
		Type        string     `hcl:"type"`
		Groups      []hclGroup `hcl:"group,block"`
	} `hcl:"job,block"`
}

type hclGroup struct {
	Name    string `hcl:"name,label"`
	Count   *int   `hcl:"count"`
	Restart *struct {
		Attempts int    `hcl:"attempts"`
		Interval string `hcl:"interval"`
		Delay    string `hcl:"delay"`
		Mode     string `hcl:"mode"`
	} `hcl:"restart,block"`
	Tasks []struct {
		Name   string `hcl:"name,label"`
		Driver string `hcl:"driver"`
		Config struct {
			Command string   `hcl:"command"`
			Args    []string `hcl:"args,optional"`
			WorkDir string   `hcl:"work_dir,optional"`
		} `hcl:"config,block"`
		Env *struct {
			Vars map[string]string `hcl:",remain"`
		} `hcl:"env,block"`
		Templates []struct {
			Data        string `hcl:"data"`
			Destination string `hcl:"destination"`
			Env         bool   `hcl:"env"`
			ChangeMode  string `hcl:"change_mode"`
		} `hcl:"template,block"`
		KillSignal  string `hcl:"kill_signal,optional"`
		KillTimeout string `hcl:"kill_timeout,optional"`
		Resources   *struct {
			Memory int `hcl:"memory"`
		} `hcl:"resources,block"`
		Logs *struct {
			MaxFiles    *int `hcl:"max_files"`
			MaxFileSize *int `hcl:"max_file_size"`
		} `hcl:"logs,block"`
	} `hcl:"task,block"`
}

// toAPI turns the decoded jobspec into api.Job, as `nomad job run` would.
func (f *hclJobFile) toAPI(t *testing.T) *api.Job {
	dur := func(s string) *time.Duration {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		return &d
	}
	j := &api.Job{ID: new(f.Job.ID), Name: new(f.Job.ID), Type: new(f.Job.Type), Datacenters: f.Job.Datacenters}
	for _, g := range f.Job.Groups {
		tg := &api.TaskGroup{Name: new(g.Name), Count: g.Count}
		if g.Restart != nil {
			tg.RestartPolicy = &api.RestartPolicy{Attempts: new(g.Restart.Attempts), Interval: dur(g.Restart.Interval), Delay: dur(g.Restart.Delay), Mode: new(g.Restart.Mode)}
		}
		for _, ht := range g.Tasks {
			task := &api.Task{Name: ht.Name, Driver: ht.Driver, KillSignal: ht.KillSignal, Config: map[string]any{"command": ht.Config.Command}}
			if ht.Config.Args != nil {
				task.Config["args"] = ht.Config.Args
			}
			if ht.Config.WorkDir != "" {
				task.Config["work_dir"] = ht.Config.WorkDir
			}
			if ht.Env != nil {
				task.Env = ht.Env.Vars
			}
			for _, tp := range ht.Templates {
				task.Templates = append(task.Templates, &api.Template{EmbeddedTmpl: new(tp.Data), DestPath: new(tp.Destination), Envvars: new(tp.Env), ChangeMode: new(tp.ChangeMode)})
			}
			if ht.KillTimeout != "" {
				task.KillTimeout = dur(ht.KillTimeout)
			}
			if ht.Resources != nil {
				task.Resources = &api.Resources{MemoryMB: new(ht.Resources.Memory)}
			}
			if ht.Logs != nil {
				task.LogConfig = &api.LogConfig{MaxFiles: ht.Logs.MaxFiles, MaxFileSizeMB: ht.Logs.MaxFileSize}
			}
			tg.Tasks = append(tg.Tasks, task)
		}
		j.TaskGroups = append(j.TaskGroups, tg)
	}
	return j
}

// TestNomadHCL parses the jobspec back and compares it with the job the JSON
// is built from, for the root file and the tricky one.
func TestNomadHCL(t *testing.T) {
	tests := map[string]*schema.Config{
		"development": rootConfig("development"),
		"production":  rootConfig("production"),
		"full":        fullConfig("production"),
		"tricky":      trickyConfig(),
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			opts := NomadOptions{Options: Options{LookPath: fakeLookPath}}
			r, err := Nomad(cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			f := r.Files[0]
			file, diags := hclparse.NewParser().ParseHCL(f.Data, f.Name)
			if diags.HasErrors() {
				t.Fatalf("parse: %v\n%s", diags, f.Data)
			}
			var spec hclJobFile
			if diags := gohcl.DecodeBody(file.Body, nil, &spec); diags.HasErrors() {
				t.Fatalf("decode: %v\n%s", diags, f.Data)
			}
			want, _, err := NomadJob(cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			// Config args are []string in the built job; the decoded ones too.
			if diff := cmp.Diff(want, spec.toAPI(t)); diff != "" {
				t.Errorf("HCL job (-want +got):\n%s", diff)
			}
		})
	}
}
