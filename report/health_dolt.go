package report

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/plural"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
)

// DoltHealth is the health report's part for a bd 1.x Dolt server: what the
// SQL check saw, and whether bd can find the server (its pid and port files).
type DoltHealth struct {
	Healthy bool `json:"healthy"`
	// Status is the SQL check's: healthy, unhealthy, unknown.
	Status          string   `json:"status"`
	Error           string   `json:"error,omitempty"`
	DoltVersion     string   `json:"dolt_version,omitempty"`
	InstalledDolt   string   `json:"installed_dolt_version,omitempty"`
	Port            int      `json:"port"`
	DataDir         string   `json:"data_dir"`
	ServerDir       string   `json:"server_dir"`
	Databases       []string `json:"databases,omitempty"`
	OpenConnections int      `json:"open_connections"`
	ProjectID       string   `json:"project_id,omitempty"`
	QueryMS         float64  `json:"query_ms"`
	// PidFile and PortFile are what dolt-server.pid/.port say; FilesMatch is
	// true when they name the supervised server (so bd adopts it).
	PidFile     int             `json:"pid_file"`
	PortFile    int             `json:"port_file"`
	FilesMatch  bool            `json:"files_match"`
	BdAutoStart bool            `json:"bd_auto_start"`
	LastFlush   *agentapi.Flush `json:"last_flush,omitempty"`
}

// doltHealth fills the Dolt part of a daemon's health and its checks.
func doltHealth(ctx context.Context, d schema.Daemon, s agentapi.Status, known bool, checks *[]HealthCheck) *DoltHealth {
	ds := d.Dolt
	h := &DoltHealth{Status: "unknown", Port: ds.Port, DataDir: ds.DataDir, ServerDir: ds.ServerDir}
	for _, p := range ds.Workspaces {
		h.BdAutoStart = h.BdAutoStart || p.BdAutoStart
	}
	if path, err := exec.LookPath(d.Command); err == nil {
		h.InstalledDolt, _ = reconcile.DoltVersion(ctx, path)
	}
	h.PidFile, h.PortFile = bd.ServerFiles{Dir: ds.ServerDir}.Read()
	running := known && s.State == agentapi.StateOnline && s.Pid > 0
	if known {
		if s.Dolt != nil {
			h.Port, h.LastFlush = s.Dolt.Port, s.Dolt.LastFlush
		}
		if s.Health.Status != "" {
			h.Status, h.Error = s.Health.Status, s.Health.Message
		}
		if r := s.Health.SQL; r != nil {
			h.DoltVersion, h.Databases, h.OpenConnections, h.ProjectID, h.QueryMS = r.DoltVersion, r.Databases, r.Connections, r.ProjectID, r.QueryMS
		}
	}
	h.FilesMatch = running && h.PidFile == s.Pid && h.PortFile == h.Port
	h.Healthy = running && h.Status == "healthy" && h.FilesMatch
	files := bd.ServerFiles{Dir: ds.ServerDir}
	switch {
	case !running:
	case h.FilesMatch:
		*checks = append(*checks, HealthCheck{Name: "bd-files", OK: true,
			Detail: fmt.Sprintf("bd finds it: %s = %d, %s = %d", files.PidPath(), h.PidFile, files.PortPath(), h.PortFile)})
	default:
		*checks = append(*checks, HealthCheck{Name: "bd-files",
			Detail: fmt.Sprintf("bd cannot find the server: %s says %d and %s says %d, the server is pid %d on port %d; bd commands may start a rival", files.PidPath(), h.PidFile, files.PortPath(), h.PortFile, s.Pid, h.Port)})
	}
	if running && h.DoltVersion != "" {
		c := HealthCheck{Name: "dolt", OK: true, Detail: fmt.Sprintf("dolt %s on port %d serves %s (%s)", h.DoltVersion, h.Port, strings.Join(h.Databases, ", "), plural.Count(h.OpenConnections, "connection"))}
		if h.InstalledDolt != "" && h.InstalledDolt != h.DoltVersion {
			c.Warning, c.OK = true, false
			c.Detail += fmt.Sprintf("; dolt %s is installed: apply restarts the server on it", h.InstalledDolt)
		}
		*checks = append(*checks, c)
	}
	if f := h.LastFlush; f != nil && f.Error != "" {
		*checks = append(*checks, HealthCheck{Name: "flush", Warning: true, Detail: "the last flush before a stop failed: " + f.Error})
	}
	if h.BdAutoStart {
		*checks = append(*checks, HealthCheck{Name: "bd-auto-start", Warning: true,
			Detail: "bd may start its own server while ours is down (dolt.auto-start is not false): set disable_bd_auto_start = true in the dolt_server block"})
	}
	return h
}
