package bd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file reads a bd 1.x workspace the way bd v1.0.5 does
// (internal/configfile/configfile.go, internal/doltserver/doltserver.go):
// .beads/metadata.json and .beads/config.yaml, and where its Dolt server's
// files live.

// Names of the files bd keeps for its Dolt server, in the server folder
// (the workspace's .beads/, or ~/.beads/shared-server/ in shared mode).
const (
	ServerPidFile  = "dolt-server.pid"
	ServerPortFile = "dolt-server.port"
	ServerLockFile = "dolt-server.lock"
	ServerLogFile  = "dolt-server.log"
)

// Defaults of bd v1.0.5.
const (
	DefaultDoltHost       = "127.0.0.1"
	DefaultDoltDatabase   = "beads"
	DefaultDoltUser       = "root"
	DefaultSharedPort     = 3308
	DoltLogLevel          = "warning"
	metadataFile          = "metadata.json"
	configFile            = "config.yaml"
	sharedServerSubfolder = ".beads/shared-server"
)

// Metadata is the part of .beads/metadata.json that says how bd reaches its data.
type Metadata struct {
	Database       string `json:"database"`
	DoltMode       string `json:"dolt_mode,omitempty"`
	DoltServerHost string `json:"dolt_server_host,omitempty"`
	DoltServerPort int    `json:"dolt_server_port,omitempty"`
	DoltServerUser string `json:"dolt_server_user,omitempty"`
	DoltDatabase   string `json:"dolt_database,omitempty"`
	DoltDataDir    string `json:"dolt_data_dir,omitempty"`
	ProjectID      string `json:"project_id,omitempty"`
}

// Workspace is what bd would derive about the Dolt server of one workspace.
type Workspace struct {
	// Dir is the folder holding .beads/; BeadsDir is Dir/.beads.
	Dir, BeadsDir string
	// Mode is "server" or "embedded" (bd's default).
	Mode string
	// Shared is bd's shared server mode (dolt.shared-server: true in config.yaml).
	Shared bool
	// ServerDir holds dolt-server.{pid,port,lock,log}: BeadsDir, or the shared folder.
	ServerDir string
	// DataDir is the server's working directory: .beads/dolt, dolt_data_dir, or the shared one.
	DataDir string
	// Host, Database, User and ProjectID as bd resolves them.
	Host, Database, User, ProjectID string
	// Port and PortSource: the port bd's settings name and which setting named it
	// ("config.yaml", "metadata.json"), or 0 and "" when bd would choose one.
	Port       int
	PortSource string
	// AutoStart is false when config.yaml says dolt.auto-start: false (or off).
	AutoStart bool
	// Metadata is metadata.json as read.
	Metadata Metadata
}

// ErrNotWorkspace means the folder has no .beads/ (or no metadata.json in it).
var ErrNotWorkspace = errors.New("not a Beads workspace")

// ReadWorkspace reads dir/.beads/metadata.json and config.yaml. home is the
// user's home folder (for the shared server's files). It fails with
// ErrNotWorkspace when dir holds no Beads workspace, and with a message naming
// the file for one that cannot be read.
func ReadWorkspace(dir, home string) (Workspace, error) {
	w := Workspace{Dir: dir, BeadsDir: filepath.Join(dir, ".beads"), AutoStart: true}
	if st, err := os.Stat(w.BeadsDir); err != nil || !st.IsDir() {
		return w, fmt.Errorf("%w: %s has no .beads folder", ErrNotWorkspace, dir)
	}
	mpath := filepath.Join(w.BeadsDir, metadataFile)
	raw, err := os.ReadFile(mpath)
	if errors.Is(err, fs.ErrNotExist) {
		return w, fmt.Errorf("%w: %s is missing", ErrNotWorkspace, mpath)
	}
	if err != nil {
		return w, fmt.Errorf("read %s: %w", mpath, err)
	}
	if err := json.Unmarshal(raw, &w.Metadata); err != nil {
		return w, fmt.Errorf("%s is not valid JSON: %w", mpath, err)
	}
	cfg, err := ReadConfigYAML(w.BeadsDir)
	if err != nil {
		return w, err
	}
	m := w.Metadata
	w.Mode = strings.ToLower(m.DoltMode)
	if w.Mode == "" {
		w.Mode = "embedded"
		if strings.EqualFold(cfg["dolt.mode"], "server") {
			w.Mode = "server"
		}
	}
	w.Shared = isTrue(cfg["dolt.shared-server"])
	w.AutoStart = !isFalsy(cfg["dolt.auto-start"])
	w.Host = firstNonEmpty(m.DoltServerHost, cfg["dolt.host"], DefaultDoltHost)
	w.Database = firstNonEmpty(m.DoltDatabase, DefaultDoltDatabase)
	w.User = firstNonEmpty(m.DoltServerUser, DefaultDoltUser)
	w.ProjectID = m.ProjectID
	w.ServerDir, w.DataDir = w.BeadsDir, filepath.Join(w.BeadsDir, "dolt")
	if m.DoltDataDir != "" {
		w.DataDir = m.DoltDataDir
		if !filepath.IsAbs(w.DataDir) {
			w.DataDir = filepath.Join(w.BeadsDir, w.DataDir)
		}
	}
	if p, err := strconv.Atoi(strings.TrimSpace(cfg["dolt.port"])); err == nil && p > 0 {
		w.Port, w.PortSource = p, "config.yaml dolt.port"
	} else if m.DoltServerPort > 0 {
		w.Port, w.PortSource = m.DoltServerPort, "metadata.json dolt_server_port"
	}
	if w.Shared {
		w.ServerDir = SharedServerDir(home)
		w.DataDir = filepath.Join(w.ServerDir, "dolt")
		if w.Port == 0 {
			w.Port, w.PortSource = DefaultSharedPort, "shared server default"
		}
	}
	return w, nil
}

// SharedServerDir is bd's folder for the shared server's files (~/.beads/shared-server).
func SharedServerDir(home string) string { return filepath.Join(home, sharedServerSubfolder) }

// ReadConfigYAML reads beadsDir/config.yaml as flat dotted keys ("dolt.auto-start").
// A missing file is an empty map.
func ReadConfigYAML(beadsDir string) (map[string]string, error) {
	path := filepath.Join(beadsDir, configFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s is not valid YAML: %w", path, err)
	}
	out := map[string]string{}
	if len(doc.Content) > 0 {
		flatten(doc.Content[0], "", out)
	}
	return out, nil
}

func flatten(n *yaml.Node, prefix string, out map[string]string) {
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && prefix != "" {
			out[prefix] = n.Value
		}
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		if prefix != "" {
			key = prefix + "." + key
		}
		flatten(n.Content[i+1], key, out)
	}
}

// SetAutoStartOff writes dolt.auto-start: false into beadsDir/config.yaml,
// keeping every other line, comment and key as it was (bd reads both the
// nested `dolt: {auto-start: ...}` and the flat "dolt.auto-start" forms; an
// existing key of either form is changed in place, else a flat key is added).
// It reports whether the file changed.
func SetAutoStartOff(beadsDir string, write func(path string, data []byte, perm os.FileMode) error) (bool, error) {
	path := filepath.Join(beadsDir, configFile)
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	var doc yaml.Node
	if len(strings.TrimSpace(string(raw))) > 0 {
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return false, fmt.Errorf("%s is not valid YAML: %w", path, err)
		}
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return false, fmt.Errorf("%s: the top level is not a mapping", path)
	}
	set := func(v *yaml.Node) bool {
		if isFalsy(v.Value) {
			return false
		}
		v.Kind, v.Tag, v.Value, v.Style = yaml.ScalarNode, "!!bool", "false", 0
		return true
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch {
		case k.Value == "dolt.auto-start":
			if !set(v) {
				return false, nil
			}
			return true, writeYAML(path, &doc, write)
		case k.Value == "dolt" && v.Kind == yaml.MappingNode:
			for j := 0; j+1 < len(v.Content); j += 2 {
				if v.Content[j].Value == "auto-start" {
					if !set(v.Content[j+1]) {
						return false, nil
					}
					return true, writeYAML(path, &doc, write)
				}
			}
			v.Content = append(v.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "auto-start"},
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false"})
			return true, writeYAML(path, &doc, write)
		}
	}
	root.Content = append(root.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "dolt.auto-start", HeadComment: "# set by beadsctl: it supervises this workspace's Dolt server; bd must not start or kill one"},
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false"})
	return true, writeYAML(path, &doc, write)
}

func writeYAML(path string, doc *yaml.Node, write func(string, []byte, os.FileMode) error) error {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	perm := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		perm = st.Mode().Perm()
	}
	return write(path, []byte(b.String()), perm)
}

// isFalsy is bd's isFalsyBool: strconv.ParseBool's false values, or "off".
func isFalsy(s string) bool {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") {
		return true
	}
	b, err := strconv.ParseBool(s)
	return err == nil && !b
}

func isTrue(s string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	return err == nil && b
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// ServerArgs is the argv after "dolt" with which bd v1.0.5 starts a server
// (buildDoltServerArgs): the same flags, so that bd and every tool that looks
// for "dolt sql-server" recognise it.
func ServerArgs(host string, port int) []string {
	return []string{"sql-server", "-H", host, "-P", strconv.Itoa(port), "--loglevel=" + DoltLogLevel}
}
