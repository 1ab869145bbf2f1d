//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// pm2Tool drives PM2 installed in bench/node_modules with its own PM2_HOME.
type pm2Tool struct {
	bin  string // bench/node_modules/.bin/pm2
	dir  string // this instance's folder; PM2_HOME is dir/home
	home string
	n    int
}

var _ Tool = (*pm2Tool)(nil)

func newPM2(bin, dir string) *pm2Tool {
	return &pm2Tool{bin: bin, dir: mustMkdir(dir), home: mustMkdir(filepath.Join(dir, "home"))}
}

func (p *pm2Tool) Name() string { return "PM2" }

func (p *pm2Tool) cmd(args ...string) *exec.Cmd {
	c := exec.Command(p.bin, args...)
	c.Dir = p.dir
	c.Env = append(os.Environ(), "PM2_HOME="+p.home, "PM2_DISCRETE_MODE=true")
	return c
}

// pm2App is one entry of a PM2 process file (JSON form of ecosystem.config.js).
func pm2App(a App) map[string]any {
	m := map[string]any{
		"name":          a.Name,
		"script":        a.Argv[0],
		"args":          a.Argv[1:],
		"interpreter":   "none",
		"exec_mode":     "fork",
		"cwd":           a.Dir,
		"autorestart":   a.Autorestart,
		"restart_delay": a.RestartDelay.Milliseconds(),
		"max_restarts":  a.MaxRestarts,
		"min_uptime":    a.MinUptime.Milliseconds(),
		"kill_timeout":  a.KillTimeout.Milliseconds(),
		"merge_logs":    true,
		"out_file":      orDevNull(a.Out),
		"error_file":    orDevNull(a.Err),
		"env":           a.Env,
	}
	if a.MemoryLimit > 0 {
		m["max_memory_restart"] = strconv.FormatUint(a.MemoryLimit/1024, 10) + "K"
	}
	if a.Timestamps {
		m["log_date_format"] = DateFormat
	}
	return m
}

func orDevNull(p string) string {
	if p == "" {
		return "/dev/null"
	}
	return p
}

func (p *pm2Tool) Start(ctx context.Context, apps ...App) error {
	var list []map[string]any
	for _, a := range apps {
		list = append(list, pm2App(a))
	}
	b, err := json.MarshalIndent(map[string]any{"apps": list}, "", "  ")
	if err != nil {
		return err
	}
	p.n++
	file := filepath.Join(p.dir, fmt.Sprintf("apps-%d.json", p.n))
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return err
	}
	_, err = run(ctx, p.cmd("start", file))
	return err
}

func (p *pm2Tool) Remove(ctx context.Context, name string) error {
	_, err := run(ctx, p.cmd("delete", name))
	return err
}

func (p *pm2Tool) Stop(ctx context.Context, name string) error {
	_, err := run(ctx, p.cmd("stop", name))
	return err
}

func (p *pm2Tool) SupervisorPid(context.Context) (int, error) {
	b, err := os.ReadFile(filepath.Join(p.home, "pm2.pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func (p *pm2Tool) Status(ctx context.Context) ([]AppState, error) {
	out, err := run(ctx, p.cmd("jlist"))
	if err != nil {
		return nil, err
	}
	i := bytes.IndexByte(out, '[')
	if i < 0 {
		return nil, fmt.Errorf("pm2 jlist: no JSON in %q", tail(string(out), 300))
	}
	var list []struct {
		Name   string `json:"name"`
		Pid    int    `json:"pid"`
		Pm2Env struct {
			Status      string `json:"status"`
			RestartTime int    `json:"restart_time"`
		} `json:"pm2_env"`
	}
	if err := json.NewDecoder(bytes.NewReader(out[i:])).Decode(&list); err != nil {
		return nil, fmt.Errorf("pm2 jlist: %w", err)
	}
	var st []AppState
	for _, a := range list {
		st = append(st, AppState{Name: a.Name, Pid: a.Pid, State: a.Pm2Env.Status, Restarts: a.Pm2Env.RestartTime})
	}
	return st, nil
}

func (p *pm2Tool) StatusCommand() *exec.Cmd { return p.cmd("jlist") }

func (p *pm2Tool) Down(ctx context.Context) error {
	ctx, cancel := withTimeout(ctx, 30*time.Second)
	defer cancel()
	god, _ := p.SupervisorPid(ctx)
	if god == 0 || !alive(god) {
		return nil
	}
	_, err := run(ctx, p.cmd("kill"))
	if werr := waitGone(ctx, god, 10*time.Second); err == nil {
		err = werr
	}
	return err
}
