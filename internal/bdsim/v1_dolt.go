package bdsim

// `bd dolt start|stop|status` (cmd/bd/dolt.go, v1.0.5) and the shared
// server's global database (doltserver.EnsureGlobalDatabase).

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func nowRFC3339() string { return time.Now().Format(time.RFC3339) }

func (c *v1) doltCmd(args []string) error {
	if len(args) == 0 {
		fmt.Fprintf(c.stdout, "Usage:\n  bd dolt start | stop [--force] | status [--json]\n")
		return nil
	}
	sub := args[0]
	f, err := parseFlags(args[1:], nil, map[string]string{"--force": "force"})
	if err != nil {
		return err
	}
	_ = f
	switch sub {
	case "start", "stop", "status":
	default:
		fmt.Fprintf(c.stderr, "Error: unknown command %q for \"bd dolt\"\nRun 'bd dolt --help' for usage.\n", sub)
		return errExit1
	}
	e, m, err := c.workspace()
	if err != nil {
		return err
	}
	if !e.usesSQLServer(m) {
		if sub == "status" {
			c.embeddedStatus(e.beadsDir)
			return nil
		}
		fmt.Fprintf(c.stderr, "Error: 'bd dolt %s' is not supported in embedded mode (no Dolt server)\n", sub)
		return errExit1
	}
	serverDir := e.resolveServerDir(e.beadsDir)
	switch sub {
	case "start":
		st, err := e.start(serverDir)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Dolt server started (PID %d, port %d)\n", st.PID, st.Port)
		fmt.Fprintf(c.stdout, "  Data: %s\n", st.DataDir)
		fmt.Fprintf(c.stdout, "  Logs: %s\n", logPath(serverDir))
		if e.isSharedServerMode() {
			fmt.Fprintln(c.stdout, "  Mode: shared server")
		}
	case "stop":
		if err := e.stop(serverDir); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, "Dolt server stopped.")
	case "status":
		if m != nil && m.isServerMode(e.yaml) && (!isLocalHost(m.serverHost(e.yaml)) || e.isAutoStartDisabled()) {
			c.externalStatus(e, m)
			return nil
		}
		st, err := e.isRunning(serverDir)
		if err != nil {
			return err
		}
		c.localStatus(e, st, serverDir)
	}
	return nil
}

// localStatus is dolt.go renderLocalDoltStatus.
func (c *v1) localStatus(e *env, st *serverState, serverDir string) {
	if c.json {
		c.outputJSON(st)
		return
	}
	if !st.Running {
		fmt.Fprintln(c.stdout, "Dolt server: not running")
		fmt.Fprintf(c.stdout, "  Expected port: %d\n", e.defaultConfig(serverDir).port)
		return
	}
	fmt.Fprintln(c.stdout, "Dolt server: running")
	fmt.Fprintf(c.stdout, "  PID:  %d\n", st.PID)
	fmt.Fprintf(c.stdout, "  Port: %d\n", st.Port)
	fmt.Fprintf(c.stdout, "  Data: %s\n", st.DataDir)
	fmt.Fprintf(c.stdout, "  Logs: %s\n", logPath(serverDir))
	if e.isSharedServerMode() {
		fmt.Fprintln(c.stdout, "  Mode: shared server")
	}
}

// externalStatus is dolt.go runExternalDoltStatus: a remote host, or a local
// one with auto-start disabled, is pinged over SQL instead of trusting files.
func (c *v1) externalStatus(e *env, m *metadataFile) {
	host := m.serverHost(e.yaml)
	port := e.defaultConfig(e.beadsDir).port
	user := m.serverUser()
	database := m.database()
	result := map[string]any{"mode": "external", "host": host, "port": port, "user": user, "database": database, "tls": false}
	var running bool
	var version string
	var connErr error
	db, err := sql.Open("mysql", serverDSN(host, port, user, os.Getenv("BEADS_DOLT_PASSWORD"), "", 5*time.Second))
	if err != nil {
		connErr = err
	} else {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			connErr = err
		} else {
			running = true
			_ = db.QueryRowContext(ctx, "SELECT @@version").Scan(&version)
		}
	}
	result["running"] = running
	if version != "" {
		result["version"] = version
	}
	if connErr != nil {
		result["error"] = connErr.Error()
	}
	if c.json {
		c.outputJSON(result)
		return
	}
	if running {
		fmt.Fprintln(c.stdout, "Dolt server: running (external)")
	} else {
		fmt.Fprintln(c.stdout, "Dolt server: not reachable (external)")
	}
	fmt.Fprintf(c.stdout, "  Host:     %s\n", host)
	fmt.Fprintf(c.stdout, "  Port:     %d\n", port)
	fmt.Fprintf(c.stdout, "  Database: %s\n", database)
	fmt.Fprintf(c.stdout, "  User:     %s\n", user)
	fmt.Fprintf(c.stdout, "  TLS:      %t\n", false)
	if version != "" {
		fmt.Fprintf(c.stdout, "  Version:  %s\n", version)
	}
	if connErr != nil {
		fmt.Fprintf(c.stdout, "  Error:    %v\n", connErr)
	}
}

// embeddedStatus is dolt.go showEmbeddedDoltStatus.
func (c *v1) embeddedStatus(beadsDir string) {
	dataDir := filepath.Join(beadsDir, "embeddeddolt")
	info, err := os.Stat(dataDir)
	exists := err == nil && info.IsDir()
	if c.json {
		c.outputJSON(map[string]any{"mode": "embedded", "server_running": false, "data_dir": dataDir, "data_dir_exists": exists})
		return
	}
	fmt.Fprintln(c.stdout, "Dolt engine: embedded (in-process, no server)")
	fmt.Fprintf(c.stdout, "  Data: %s\n", dataDir)
	if !exists {
		fmt.Fprintf(c.stdout, "  %s\n", "Data directory does not exist — run 'bd init' to create it")
	}
}

// ensureGlobalDatabase is doltserver.EnsureGlobalDatabase: CREATE DATABASE IF
// NOT EXISTS beads_global on the shared server.
func ensureGlobalDatabase(ctx context.Context, port int) error {
	if port == 0 {
		port = defaultSharedServerPort
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	db, err := sql.Open("mysql", serverDSN(defaultServerHost, port, defaultServerUser, "", "", 5*time.Second))
	if err != nil {
		return fmt.Errorf("ensure global db: failed to open connection: %w", err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("ensure global db: server not reachable: %w", err)
	}
	if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+globalDatabaseName+"`"); err != nil {
		s := strings.ToLower(err.Error())
		if !strings.Contains(s, "database exists") && !strings.Contains(s, "1007") {
			return fmt.Errorf("ensure global db: failed to create %s: %w", globalDatabaseName, err)
		}
	}
	return nil
}
