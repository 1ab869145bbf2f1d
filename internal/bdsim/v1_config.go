package bdsim

// The bd 1.x workspace files: .beads/metadata.json (bd's configfile.Config),
// .beads/config.yaml (read through viper by bd; here through a small reader of
// the YAML subset bd writes) and the environment switches of server mode.
//
// References are to steveyegge/beads at v1.0.5.

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// beadsDirPerm is config.BeadsDirPerm: .beads/ and the dolt data dirs are 0700.
const beadsDirPerm = 0o700

// metadataFile is internal/configfile/configfile.go's Config: the field order
// and json tags are bd's, so metadata.json is byte-for-byte what bd writes.
type metadataFile struct {
	Database               string `json:"database"`
	Backend                string `json:"backend,omitempty"`
	DeletionsRetentionDays int    `json:"deletions_retention_days,omitempty"`
	DoltMode               string `json:"dolt_mode,omitempty"`
	DoltServerHost         string `json:"dolt_server_host,omitempty"`
	DoltServerPort         int    `json:"dolt_server_port,omitempty"`
	DoltServerSocket       string `json:"dolt_server_socket,omitempty"`
	DoltServerUser         string `json:"dolt_server_user,omitempty"`
	DoltDatabase           string `json:"dolt_database,omitempty"`
	DoltServerTLS          bool   `json:"dolt_server_tls,omitempty"`
	DoltDataDir            string `json:"dolt_data_dir,omitempty"`
	DoltRemotesAPIPort     int    `json:"dolt_remotesapi_port,omitempty"`
	ProjectID              string `json:"project_id,omitempty"`
	GlobalDoltDatabase     string `json:"global_dolt_database,omitempty"`
	GlobalProjectID        string `json:"global_project_id,omitempty"`
	StaleClosedIssuesDays  int    `json:"stale_closed_issues_days,omitempty"`
	LastBdVersion          string `json:"last_bd_version,omitempty"`
}

const (
	doltModeEmbedded  = "embedded"
	doltModeServer    = "server"
	defaultDoltDBName = "beads" // configfile.DefaultDoltDatabase
	defaultServerHost = "127.0.0.1"
	defaultServerUser = "root"
)

// loadMetadata is configfile.Load without the legacy config.json migration:
// (nil, nil) when metadata.json does not exist.
func loadMetadata(beadsDir string) (*metadataFile, error) {
	data, err := os.ReadFile(filepath.Join(beadsDir, "metadata.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	var m metadataFile
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parsing config: %w", err)
	}
	return &m, nil
}

// save is configfile.Config.Save: two-space indent, no trailing newline, 0600.
func (m *metadataFile) save(beadsDir string) error {
	saved := *m
	if filepath.IsAbs(saved.DoltDataDir) {
		saved.DoltDataDir = ""
	}
	data, err := json.MarshalIndent(&saved, "", "  ")
	if err != nil {
		return fmt.Errorf("marshaling config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(beadsDir, "metadata.json"), data, 0o600); err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	return nil
}

// isServerMode is Config.IsDoltServerMode (configfile.go).
func (m *metadataFile) isServerMode(c *yamlConfig) bool {
	if os.Getenv("BEADS_DOLT_SERVER_MODE") == "1" {
		return true
	}
	if v := os.Getenv("BEADS_DOLT_SHARED_SERVER"); v == "1" || strings.EqualFold(v, "true") {
		return true
	}
	if m != nil && m.DoltMode != "" {
		return strings.EqualFold(m.DoltMode, doltModeServer)
	}
	return strings.EqualFold(c.get("dolt.mode"), "server")
}

// serverHost is Config.GetDoltServerHost.
func (m *metadataFile) serverHost(c *yamlConfig) string {
	if h := os.Getenv("BEADS_DOLT_SERVER_HOST"); h != "" {
		return h
	}
	if m != nil && m.DoltServerHost != "" {
		return m.DoltServerHost
	}
	if h := c.get("dolt.host"); h != "" {
		return h
	}
	return defaultServerHost
}

// serverUser is Config.GetDoltServerUser.
func (m *metadataFile) serverUser() string {
	if u := os.Getenv("BEADS_DOLT_SERVER_USER"); u != "" {
		return u
	}
	if m != nil && m.DoltServerUser != "" {
		return m.DoltServerUser
	}
	return defaultServerUser
}

// database is Config.GetDoltDatabase.
func (m *metadataFile) database() string {
	if d := os.Getenv("BEADS_DOLT_SERVER_DATABASE"); d != "" {
		return d
	}
	if m != nil && m.DoltDatabase != "" {
		return m.DoltDatabase
	}
	return defaultDoltDBName
}

// generateProjectID is configfile.GenerateProjectID: a random version-4 UUID.
func generateProjectID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// yamlConfig is what bd's viper instance sees (internal/config/config.go
// Initialize): ~/.beads/config.yaml < ~/.config/bd/config.yaml < the
// project's .beads/config.yaml < $BEADS_DIR/config.yaml, and above them all
// the BD_ environment variables ("dolt.auto-start" -> BD_DOLT_AUTO_START).
type yamlConfig struct {
	values map[string]string
}

func loadYAMLConfig(beadsDir string) *yamlConfig {
	c := &yamlConfig{values: map[string]string{}}
	var paths []string
	if home, err := os.UserHomeDir(); err == nil {
		paths = append(paths, filepath.Join(home, ".beads", "config.yaml"))
		if dir, err := os.UserConfigDir(); err == nil && dir != filepath.Join(home, ".config") {
			paths = append(paths, filepath.Join(dir, "bd", "config.yaml"))
		}
		paths = append(paths, filepath.Join(home, ".config", "bd", "config.yaml"))
	}
	if beadsDir != "" {
		paths = append(paths, filepath.Join(beadsDir, "config.yaml"))
	}
	for _, p := range paths {
		for k, v := range readYAMLFile(p) {
			c.values[k] = v
		}
	}
	return c
}

// get returns a key in dotted form ("dolt.auto-start"), "" when unset.
func (c *yamlConfig) get(key string) string {
	env := "BD_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
	if v, ok := os.LookupEnv(env); ok {
		return v
	}
	if c == nil {
		return ""
	}
	return c.values[key]
}

// getBool is viper's GetBool (cast.ToBool): "1", "t", "true"... are true.
func (c *yamlConfig) getBool(key string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(c.get(key)))
	return err == nil && b
}

// readYAMLFile reads the YAML subset found in bd's config.yaml: comments,
// "key: value" lines, flat dotted keys as bd's SetYamlConfig writes them
// ("dolt.shared-server: true") and nested maps by indentation ("dolt:" then
// "  auto-start: false"). Lists and multi-line values are skipped. A missing
// or unreadable file reads as empty, as viper ignores a config it cannot find.
func readYAMLFile(path string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	type level struct {
		indent int
		key    string
	}
	var stack []level
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, "-") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " \t"))
		key, val, ok := strings.Cut(trimmed, ":")
		if !ok {
			continue
		}
		key = unquoteYAML(strings.TrimSpace(key))
		val = unquoteYAML(stripYAMLComment(strings.TrimSpace(val)))
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		full := key
		if len(stack) > 0 {
			full = stack[len(stack)-1].key + "." + key
		}
		if val == "" {
			stack = append(stack, level{indent: indent, key: full})
			continue
		}
		out[strings.ToLower(full)] = val
	}
	return out
}

func stripYAMLComment(v string) string {
	if v != "" && (v[0] == '"' || v[0] == '\'') {
		if end := strings.LastIndexByte(v, v[0]); end > 0 {
			return v[:end+1]
		}
		return v
	}
	if i := strings.Index(v, " #"); i >= 0 {
		return strings.TrimSpace(v[:i])
	}
	return v
}

func unquoteYAML(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"') {
		if s, err := strconv.Unquote(v); err == nil {
			return s
		}
	}
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'")
	}
	return v
}

// setYAMLKey is config.SetYamlConfig's updateYamlKey (yaml_config.go): replace
// the line of key (commented or not) or append "key: value" at the end.
func setYAMLKey(path, key, value string) error {
	content, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("failed to read config.yaml: %w", err)
	}
	newLine := key + ": " + value
	var result []string
	found := false
	for _, line := range strings.Split(strings.TrimSuffix(string(content), "\n"), "\n") {
		t := strings.TrimLeft(line, " \t")
		indent := line[:len(line)-len(t)]
		t = strings.TrimLeft(strings.TrimPrefix(t, "#"), " \t")
		if strings.HasPrefix(t, key) && strings.HasPrefix(strings.TrimLeft(t[len(key):], " \t"), ":") {
			result = append(result, indent+newLine)
			found = true
			continue
		}
		result = append(result, line)
	}
	if !found {
		if len(result) > 0 && result[len(result)-1] != "" {
			result = append(result, "")
		}
		result = append(result, newLine)
	}
	if err := os.WriteFile(path, []byte(strings.Join(result, "\n")), 0o600); err != nil {
		return fmt.Errorf("failed to write config.yaml: %w", err)
	}
	return nil
}

// findBeadsDir is beads.FindBeadsDir, reduced: $BEADS_DIR, else the first
// .beads/ holding metadata.json or config.yaml walking up from the working
// directory. "" when there is none.
func findBeadsDir() string {
	if d := os.Getenv("BEADS_DIR"); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			return abs
		}
		return d
	}
	cwd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for dir := cwd; ; dir = filepath.Dir(dir) {
		cand := filepath.Join(dir, ".beads")
		for _, f := range []string{"metadata.json", "config.yaml"} {
			if _, err := os.Stat(filepath.Join(cand, f)); err == nil {
				return cand
			}
		}
		if filepath.Dir(dir) == dir {
			return ""
		}
	}
}

// isFalsyBool is doltserver.isFalsyBool: strconv.ParseBool's false values or "off".
func isFalsyBool(s string) bool {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") {
		return true
	}
	b, err := strconv.ParseBool(s)
	return err == nil && !b
}
