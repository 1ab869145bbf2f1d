package bdsim

// The bd 1.x mode (BDSIM_VERSION >= 0.50.0): the commands of bd v1.0.5 that
// matter to a supervisor of its Dolt SQL server, with bd's output and exit
// codes (cmd/bd/version.go, init.go, create.go, list.go, show.go, close.go,
// dolt.go; FatalError prints "Error: ..." and exits 1).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
)

// v1 is one invocation's output streams and global flags.
type v1 struct {
	version string
	stdout  io.Writer
	stderr  io.Writer
	json    bool
}

// errExit1 means the message was printed; exit 1.
var errExit1 = errors.New("exit 1")

func runV1(args []string, version string, stdout, stderr io.Writer) int {
	c := &v1{version: version, stdout: stdout, stderr: stderr}
	var rest []string
	for _, a := range args {
		if a == "--json" {
			c.json = true
			continue
		}
		rest = append(rest, a)
	}
	if len(rest) == 0 {
		c.help()
		return 0
	}
	ctx := context.Background()
	var err error
	switch cmd, cmdArgs := rest[0], rest[1:]; cmd {
	case "--version", "-v", "version":
		err = c.versionCmd()
	case "help", "--help", "-h":
		c.help()
	case "init":
		err = c.initCmd(ctx, cmdArgs)
	case "create":
		err = c.createCmd(ctx, cmdArgs)
	case "list":
		err = c.listCmd(ctx, cmdArgs)
	case "show":
		err = c.showCmd(ctx, cmdArgs)
	case "close":
		err = c.closeCmd(ctx, cmdArgs)
	case "dolt":
		err = c.doltCmd(cmdArgs)
	default:
		// bd 1.x has no daemon command (removed in v0.50); cobra's answer.
		fmt.Fprintf(stderr, "Error: unknown command %q for \"bd\"\nRun 'bd --help' for usage.\n", cmd)
		return 1
	}
	if err == nil {
		return 0
	}
	if !errors.Is(err, errExit1) {
		c.fatal("%v", err)
	}
	return 1
}

func (c *v1) help() {
	fmt.Fprintf(c.stdout, `bd - Dependency-aware issue tracker (bdsim, a simulator of bd v%s in server mode)

Usage:
  bd version [--json]
  bd init [--server] [--shared-server] [--prefix P] [--database NAME] [-q]
  bd create "title" [-p N] [-t TYPE] [-d TEXT] [--silent] [--json]
  bd list [--all] [--json]
  bd show ID [--json]
  bd close ID [--reason TEXT] [--json]
  bd dolt start | stop [--force] | status [--json]

Only these commands are simulated.
`, c.version)
}

// fatal is FatalError: "Error: <msg>" on stderr (JSON on stderr under --json).
func (c *v1) fatal(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if c.json {
		b, _ := json.MarshalIndent(map[string]any{"error": msg}, "", "  ")
		fmt.Fprintf(c.stderr, "%s\n", b)
		return
	}
	fmt.Fprintf(c.stderr, "Error: %s\n", msg)
}

// outputJSON is cmd/bd/output.go outputJSON in legacy mode: objects gain
// "schema_version": 1, arrays pass through; two-space indent.
func (c *v1) outputJSON(v any) {
	out := v
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		if data, err := json.Marshal(v); err == nil {
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				m["schema_version"] = 1
				out = m
			}
		}
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

func (c *v1) versionCmd() error {
	if c.json {
		c.outputJSON(map[string]any{"version": c.version, "build": "dev"})
		return nil
	}
	fmt.Fprintf(c.stdout, "bd version %s (dev)\n", c.version)
	return nil
}

// flags is a small flag reader: "--name value", "--name=value", "-x value"
// and booleans; positional arguments in order.
type flags struct {
	values map[string]string
	bools  map[string]bool
	args   []string
}

func parseFlags(args []string, valued, boolean map[string]string) (*flags, error) {
	f := &flags{values: map[string]string{}, bools: map[string]bool{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			f.args = append(f.args, a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		if canon, ok := valued[name]; ok {
			if !hasVal {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("flag needs an argument: %s", name)
				}
				i++
				val = args[i]
			}
			f.values[canon] = val
			continue
		}
		if canon, ok := boolean[name]; ok {
			f.bools[canon] = !hasVal || val == "true" || val == "1"
			continue
		}
		return nil, fmt.Errorf("unknown flag: %s", name)
	}
	return f, nil
}

// workspace finds the active .beads/ and its metadata, and refuses embedded
// mode: the simulator does not implement bd's embedded Dolt engine.
func (c *v1) workspace() (*env, *metadataFile, error) {
	if !v1Supported {
		return nil, nil, errors.New("bdsim simulates bd 1.x server mode on unix only")
	}
	beadsDir := findBeadsDir()
	if beadsDir == "" {
		fmt.Fprintf(c.stderr, "Error: no beads database found\n")
		fmt.Fprintf(c.stderr, "Hint: run 'bd init' to create a database in the current directory\n")
		fmt.Fprintf(c.stderr, "      or set BEADS_DIR to point to your .beads directory\n")
		return nil, nil, errExit1
	}
	e := newEnv(beadsDir, c.stderr)
	m, err := loadMetadata(beadsDir)
	if err != nil {
		fmt.Fprintf(c.stderr, "warning: failed to load beads config from %s: %v\n", beadsDir, err)
	}
	return e, m, nil
}

func (e *env) usesSQLServer(m *metadataFile) bool {
	return m.isServerMode(e.yaml) || e.isSharedServerMode()
}

func embeddedNotSimulated(beadsDir string) error {
	return fmt.Errorf("bdsim simulates bd 1.x in server mode only: %s is in embedded mode "+
		"(dolt_mode %q in metadata.json); re-create it with: bd init --server", beadsDir, doltModeEmbedded)
}

// openCLIStore is the store a normal command opens (main.go PersistentPreRun:
// port from defaultConfig, auto-start from ApplyCLIAutoStart).
func (c *v1) openCLIStore(ctx context.Context) (*store, error) {
	e, m, err := c.workspace()
	if err != nil {
		return nil, err
	}
	if !e.usesSQLServer(m) {
		return nil, embeddedNotSimulated(e.beadsDir)
	}
	s, err := e.openStore(ctx, m, storeOptions{autoStart: e.resolveAutoStart()})
	if err != nil {
		return nil, fmt.Errorf("failed to open database: %w", err)
	}
	return s, nil
}

// resolveAutoStart is storage/dolt/open.go resolveAutoStart as
// ApplyCLIAutoStart calls it: off under BEADS_TEST_MODE=1,
// BEADS_DOLT_AUTO_START=0, an external server (explicit metadata port,
// shared server, BEADS_DOLT_SERVER_MODE=1) or config.yaml
// dolt.auto-start false/0/off; on otherwise.
func (e *env) resolveAutoStart() bool {
	if os.Getenv("BEADS_TEST_MODE") == "1" || os.Getenv("BEADS_DOLT_AUTO_START") == "0" {
		return false
	}
	if e.resolveServerMode(e.beadsDir) == modeExternal {
		return false
	}
	v := e.yaml.get("dolt.auto-start")
	return !(strings.EqualFold(v, "false") || v == "0" || strings.EqualFold(v, "off"))
}

func actorName() string {
	for _, k := range []string{"BEADS_ACTOR", "BD_ACTOR", "USER"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "unknown"
}

func (c *v1) createCmd(ctx context.Context, args []string) error {
	f, err := parseFlags(args,
		map[string]string{"-p": "priority", "--priority": "priority", "-t": "type", "--type": "type",
			"-d": "description", "--description": "description", "--title": "title"},
		map[string]string{"--silent": "silent"})
	if err != nil {
		return err
	}
	title := f.values["title"]
	if title == "" && len(f.args) > 0 {
		title = f.args[0]
	}
	if title == "" {
		return errors.New("title required (or use --file to create from markdown)")
	}
	is := &issue{Title: title, Description: f.values["description"], Status: "open", Priority: 2, IssueType: "task"}
	if p, ok := f.values["priority"]; ok {
		n, err := strconv.Atoi(strings.TrimPrefix(strings.ToUpper(p), "P"))
		if err != nil || n < 0 || n > 4 {
			return fmt.Errorf("invalid priority %q (expected 0-4 or P0-P4)", p)
		}
		is.Priority = n
	}
	if t := f.values["type"]; t != "" {
		is.IssueType = t
	}
	s, err := c.openCLIStore(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.createIssue(ctx, is, actorName()); err != nil {
		return err
	}
	switch {
	case c.json:
		c.outputJSON(is)
	case f.bools["silent"]:
		fmt.Fprintln(c.stdout, is.ID)
	default:
		fmt.Fprintf(c.stdout, "✓ Created issue: %s — %s\n", is.ID, is.Title)
		fmt.Fprintf(c.stdout, "  Priority: P%d\n", is.Priority)
		fmt.Fprintf(c.stdout, "  Status: %s\n", is.Status)
	}
	return nil
}

func (c *v1) listCmd(ctx context.Context, args []string) error {
	f, err := parseFlags(args, nil, map[string]string{"--all": "all", "-a": "all"})
	if err != nil {
		return err
	}
	s, err := c.openCLIStore(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	issues, err := s.listIssues(ctx, f.bools["all"])
	if err != nil {
		return err
	}
	if c.json {
		c.outputJSON(issues)
		return nil
	}
	if len(issues) == 0 {
		fmt.Fprintln(c.stdout, "No issues found.")
		return nil
	}
	for _, is := range issues {
		fmt.Fprintln(c.stdout, compactLine(is))
	}
	return nil
}

// compactLine is list_format.go formatIssueCompact without colour.
func compactLine(is *issue) string {
	icon := map[string]string{"open": "○", "in_progress": "◐", "blocked": "●", "closed": "✓", "deferred": "❄", "pinned": "📌"}[is.Status]
	if icon == "" {
		icon = "◇"
	}
	if is.Status == "closed" {
		return fmt.Sprintf("%s %s [P%d] [%s] - %s", icon, is.ID, is.Priority, is.IssueType, is.Title)
	}
	return fmt.Sprintf("%s %s [● P%d] [%s] - %s", icon, is.ID, is.Priority, is.IssueType, is.Title)
}

func (c *v1) showCmd(ctx context.Context, args []string) error {
	f, err := parseFlags(args, nil, nil)
	if err != nil {
		return err
	}
	if len(f.args) == 0 {
		return errors.New("no issue ID provided and no last touched issue")
	}
	s, err := c.openCLIStore(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	var found []*issue
	for _, id := range f.args {
		is, err := s.getIssue(ctx, id)
		if err != nil {
			if errors.Is(err, errIssueNotFound) {
				fmt.Fprintf(c.stderr, "Error resolving %s: no issue found matching %q\n", id, id)
				continue
			}
			return err
		}
		found = append(found, is)
	}
	if len(found) == 0 {
		return errExit1
	}
	if c.json {
		c.outputJSON(found)
		return nil
	}
	for i, is := range found {
		if i > 0 {
			fmt.Fprintln(c.stdout)
		}
		fmt.Fprintf(c.stdout, "%s %s · %s   [● P%d · %s]\n", compactIcon(is.Status), is.ID, is.Title, is.Priority, strings.ToUpper(is.Status))
		fmt.Fprintf(c.stdout, "Owner: %s · Type: %s\n", is.CreatedBy, is.IssueType)
		fmt.Fprintf(c.stdout, "Created: %s · Updated: %s\n", is.CreatedAt.Format("2006-01-02"), is.UpdatedAt.Format("2006-01-02"))
		if is.Description != "" {
			fmt.Fprintf(c.stdout, "\nDESCRIPTION\n%s\n", is.Description)
		}
		if is.CloseReason != "" {
			fmt.Fprintf(c.stdout, "\nClose reason: %s\n", is.CloseReason)
		}
	}
	return nil
}

func compactIcon(status string) string {
	return strings.Fields(compactLine(&issue{Status: status}))[0]
}

func (c *v1) closeCmd(ctx context.Context, args []string) error {
	f, err := parseFlags(args, map[string]string{"--reason": "reason", "-r": "reason"}, nil)
	if err != nil {
		return err
	}
	if len(f.args) == 0 {
		return errors.New("no issue ID provided and no last touched issue")
	}
	reason := f.values["reason"]
	if reason == "" {
		reason = "Closed"
	}
	s, err := c.openCLIStore(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	var closed []*issue
	failed := false
	for _, id := range f.args {
		is, err := s.getIssue(ctx, id)
		if err == nil {
			err = s.closeIssue(ctx, id, reason, actorName())
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "Error closing %s: %v\n", id, err)
			failed = true
			continue
		}
		if c.json {
			if is, err = s.getIssue(ctx, id); err == nil {
				closed = append(closed, is)
			}
			continue
		}
		fmt.Fprintf(c.stdout, "✓ Closed %s — %s: %s\n", id, is.Title, reason)
	}
	if c.json {
		c.outputJSON(closed)
	}
	if failed {
		return errExit1
	}
	return nil
}

func (c *v1) initCmd(ctx context.Context, args []string) error {
	if !v1Supported {
		return errors.New("bdsim simulates bd 1.x server mode on unix only")
	}
	f, err := parseFlags(args,
		map[string]string{"--prefix": "prefix", "-p": "prefix", "--database": "database"},
		map[string]string{"--server": "server", "--shared-server": "shared", "--quiet": "quiet", "-q": "quiet",
			"--non-interactive": "non-interactive", "--skip-hooks": "skip-hooks", "--skip-agents": "skip-agents"})
	if err != nil {
		return err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("failed to get current directory: %v", err)
	}
	beadsDir := filepath.Join(cwd, ".beads")
	if d := os.Getenv("BEADS_DIR"); d != "" {
		if beadsDir, err = filepath.Abs(d); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(beadsDir, beadsDirPerm); err != nil {
		return fmt.Errorf("failed to create .beads directory: %v", err)
	}
	_ = os.Chmod(beadsDir, beadsDirPerm) // config.FixBeadsDirPermissions
	e := newEnv(beadsDir, c.stderr)
	quiet := f.bools["quiet"]
	shared := f.bools["shared"] || e.isSharedServerMode()
	serverMode := f.bools["server"] || shared

	prefix := initPrefix(f.values["prefix"], e.yaml.get("issue-prefix"), cwd)
	existing, _ := loadMetadata(beadsDir)
	dbName := strings.ReplaceAll(prefix, "-", "_")
	if existing != nil && existing.DoltDatabase != "" {
		dbName = existing.DoltDatabase
	}
	if prefix == "" {
		dbName = defaultDoltDBName
	}
	if d := f.values["database"]; d != "" {
		dbName = d
	}
	if !validDatabaseName(dbName) {
		fmt.Fprintf(c.stderr, "Error: directory name %q produces an invalid database name %q.\n", filepath.Base(cwd), dbName)
		fmt.Fprintf(c.stderr, "Re-run with a valid prefix: bd init --prefix <name>\n")
		fmt.Fprintf(c.stderr, "(Database names must start with a letter or underscore and contain only letters, digits, underscores, or hyphens.)\n")
		return errExit1
	}

	m := existing
	if m == nil {
		m = &metadataFile{Database: "beads.db"}
	}
	if m.ProjectID == "" {
		m.ProjectID = generateProjectID()
	}
	m.Backend = "dolt"
	if m.Database == "" || m.Database == "beads.db" {
		m.Database = "dolt"
	}
	if f.values["database"] != "" {
		m.DoltDatabase = f.values["database"]
	} else if m.DoltDatabase == "" && prefix != "" {
		m.DoltDatabase = strings.ReplaceAll(prefix, "-", "_")
	}
	if shared {
		m.GlobalDoltDatabase = globalDatabaseName
		m.GlobalProjectID = "00000000-0000-0000-0000-000000000000"
	}
	m.DoltMode = doltModeEmbedded
	if serverMode {
		m.DoltMode = doltModeServer
	}

	if !serverMode {
		// Embedded mode: bd runs Dolt in-process under .beads/embeddeddolt/.
		// The simulator writes bd's files but not the embedded database.
		if err := c.writeInitFiles(e, m, false); err != nil {
			return err
		}
		if !quiet {
			fmt.Fprintf(c.stdout, "\n✓ bd initialized successfully!\n\n  Backend: dolt\n  Mode: embedded\n  Database: %s\n  Issue prefix: %s\n", dbName, prefix)
			fmt.Fprintf(c.stdout, "  Issues will be named: %s-<hash> (e.g., %s-a3f2dd)\n\n", prefix, prefix)
			fmt.Fprintf(c.stderr, "Note: bdsim does not simulate embedded storage; use bd init --server for a Dolt SQL server.\n")
		}
		return nil
	}

	if err := os.MkdirAll(e.resolveDoltDir(beadsDir), beadsDirPerm); err != nil {
		return fmt.Errorf("failed to create storage directory %s: %v", e.resolveDoltDir(beadsDir), err)
	}
	// Port for init: project-local sources only (GH#2336).
	initPort := envPort()
	if initPort == 0 {
		initPort = readPortFile(beadsDir)
	}
	if initPort == 0 && shared {
		initPort = defaultSharedServerPort
	}
	if shared {
		dir, err := sharedServerDir()
		if err != nil {
			return err
		}
		if st, _ := e.isRunning(dir); st == nil || !st.Running {
			if _, err := e.start(dir); err != nil {
				fmt.Fprintf(c.stderr, "Error: failed to start shared Dolt server: %v\n", err)
				return errExit1
			}
			if !quiet {
				fmt.Fprintf(c.stdout, "  ✓ Shared Dolt server started\n")
			}
		}
		if err := ensureGlobalDatabase(ctx, initPort); err != nil {
			fmt.Fprintf(c.stderr, "Warning: failed to create global database: %v\n", err)
		} else if !quiet {
			fmt.Fprintf(c.stdout, "  ✓ Global database %s available\n", globalDatabaseName)
		}
	}
	probe := *m
	probe.DoltDatabase = dbName
	s, err := e.openStore(ctx, &probe, storeOptions{
		port:            initPort,
		autoStart:       os.Getenv("BEADS_DOLT_AUTO_START") != "0",
		createIfMissing: true,
	})
	if err != nil {
		fmt.Fprintf(c.stderr, "Error: failed to open Dolt store: %v\n", err)
		return errExit1
	}
	defer s.close()
	if cur, _ := s.getKV(ctx, "config", "issue_prefix"); cur == "" {
		if err := s.setKV(ctx, "config", "issue_prefix", strings.ReplaceAll(prefix, ".", "_")); err != nil {
			return fmt.Errorf("failed to set issue prefix: %v", err)
		}
	}
	if err := c.writeInitFiles(e, m, shared); err != nil {
		return err
	}
	if err := s.setKV(ctx, "metadata", "_project_id", m.ProjectID); err != nil {
		fmt.Fprintf(c.stderr, "Warning: failed to write project ID to database: %v\n", err)
	}
	if shared && !quiet {
		fmt.Fprintf(c.stdout, "  ✓ Shared server mode enabled\n")
	}
	if err := s.setKV(ctx, "metadata", "last_import_time", nowRFC3339()); err != nil {
		fmt.Fprintf(c.stderr, "Warning: failed to initialize last_import_time: %v\n", err)
	}
	if err := s.commit(ctx, "bd init"); err != nil {
		fmt.Fprintf(c.stderr, "Warning: failed to commit initial state: %v\n", err)
	}
	if quiet {
		return nil
	}
	port := e.defaultConfig(beadsDir).port
	fmt.Fprintf(c.stdout, "\n✓ bd initialized successfully!\n\n")
	fmt.Fprintf(c.stdout, "  Backend: dolt\n")
	fmt.Fprintf(c.stdout, "  Mode: server\n")
	fmt.Fprintf(c.stdout, "  Server: %s@%s:%d\n", m.serverUser(), defaultServerHost, port)
	if os.Getenv("BEADS_DOLT_SERVER_HOST") == "" {
		fmt.Fprintf(c.stderr, "\n  ⚠ Server host defaulted to %s.\n", defaultServerHost)
		fmt.Fprintf(c.stderr, "    If your Dolt server is remote, set BEADS_DOLT_SERVER_HOST or pass --server-host.\n")
	}
	fmt.Fprintf(c.stdout, "  Database: %s\n", dbName)
	fmt.Fprintf(c.stdout, "  Issue prefix: %s\n", prefix)
	fmt.Fprintf(c.stdout, "  Issues will be named: %s-<hash> (e.g., %s-a3f2dd)\n\n", prefix, prefix)
	fmt.Fprintf(c.stdout, "Run bd quickstart to get started.\n\n")
	return nil
}

// writeInitFiles saves metadata.json, creates config.yaml from bd's template
// when absent and, in shared mode, persists dolt.shared-server: true.
func (c *v1) writeInitFiles(e *env, m *metadataFile, shared bool) error {
	if err := m.save(e.beadsDir); err != nil {
		fmt.Fprintf(c.stderr, "Warning: failed to create metadata.json: %v\n", err)
	}
	cfgPath := filepath.Join(e.beadsDir, "config.yaml")
	if _, err := os.Stat(cfgPath); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(cfgPath, []byte(initConfigYAML), 0o600); err != nil {
			fmt.Fprintf(c.stderr, "Warning: failed to create config.yaml: %v\n", err)
		}
	}
	if shared {
		if err := setYAMLKey(cfgPath, "dolt.shared-server", "true"); err != nil {
			fmt.Fprintf(c.stderr, "Warning: failed to enable shared server mode: %v\n", err)
		}
	}
	return nil
}

// initPrefix is init.go's prefix: flag > config issue-prefix > directory
// name, normalised (leading dots, trailing hyphens, dots -> underscores, a
// leading non-letter gets "bd_").
func initPrefix(flag, configured, cwd string) string {
	prefix := flag
	if prefix == "" {
		prefix = configured
	}
	if prefix == "" {
		prefix = filepath.Base(cwd)
	}
	prefix = strings.TrimLeft(prefix, ".")
	prefix = strings.TrimRight(prefix, "-")
	prefix = strings.ReplaceAll(prefix, ".", "_")
	if len(prefix) > 0 && !(prefix[0] >= 'a' && prefix[0] <= 'z' || prefix[0] >= 'A' && prefix[0] <= 'Z' || prefix[0] == '_') {
		prefix = "bd_" + prefix
	}
	return prefix
}

// validDatabaseName is dolt.ValidateDatabaseName's rule.
func validDatabaseName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '-'):
		default:
			return false
		}
	}
	return true
}

// initConfigYAML is init_templates.go renderInitConfigYAML("", false).
const initConfigYAML = `# Beads Configuration File
# This file configures default behavior for all bd commands in this repository
# All settings can also be set via environment variables (BD_* prefix)
# or overridden with command-line flags

# Issue prefix for this repository (used by bd init)
# If not set, bd init will auto-detect from directory name
# Example: issue-prefix: "myproject" creates issues like "myproject-1", "myproject-2", etc.
# issue-prefix: ""

# Use no-db mode: JSONL-only, no Dolt database
# When true, .beads/issues.jsonl is the only local store
# no-db: false

# Enable JSON output by default
# json: false

# Feedback title formatting for mutating commands (create/update/close/dep/edit)
# 0 = hide titles, N > 0 = truncate to N characters
# output:
#   title-length: 255

# Default actor for audit trails (overridden by BEADS_ACTOR or --actor)
# actor: ""

# Export events (audit trail) to .beads/events.jsonl on each flush/sync
# When enabled, new events are appended incrementally using a high-water mark.
# Use 'bd export --events' to trigger manually regardless of this setting.
# events-export: false

# Multi-repo configuration (experimental - bd-307)
# Allows hydrating from multiple repositories and routing writes to the correct database
# repos:
#   primary: "."  # Primary repo (where this database lives)
#   additional:   # Additional repos to hydrate from (read-only)
#     - ~/beads-planning  # Personal planning repo
#     - ~/work-planning   # Work planning repo

# Dolt-native backup (periodic backup for off-machine recovery)
# This is full database backup only. Cross-machine sync uses Dolt remotes.
# backup:
#   enabled: false     # Disable auto-backup entirely
#   interval: 15m      # Minimum time between auto-backups
#   git-push: false    # Disable git push (backup locally only)
#   git-repo: ""       # Separate git repo for backups (default: project repo)

# Optional JSONL auto-export for viewers, interchange, and issue-level migration.
# Disabled by default; enable only when an integration needs fresh .beads/issues.jsonl.
# Use relative paths under .beads/ for JSONL import/export filenames.
# export:
#   auto: false
#   path: issues.jsonl
#   interval: 60s
#   git-add: false
# import:
#   path: issues.jsonl

# Integration settings (access with 'bd config get/set')
# Non-secret keys (stored in the database):
# - jira.url, jira.project
# - linear.team_id
# - github.org, github.repo
#
# Secret keys (stored in this file but prefer env vars to avoid git exposure):
# - linear.api_key  → use LINEAR_API_KEY env var instead
# - github.token    → use GITHUB_TOKEN env var instead
`
