package bdsim

// The bd 1.x store in server mode, after internal/storage/dolt (store.go
// New/newServerMode/openServerConnection/verifyProjectIdentity, issues.go,
// config.go) at v1.0.5: every read and write is real SQL over the MySQL
// protocol (go-sql-driver/mysql, as bd) against the dolt sql-server.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// schema: bd's migrations 0001 (issues), 0005 (events), 0006 (config) and
// 0007 (metadata) from internal/storage/schema/migrations, verbatim. bd has
// more tables (dependencies, labels, comments, ...) that the simulated
// commands do not touch.
var schemaDDL = []string{
	`CREATE TABLE IF NOT EXISTS issues (
    id VARCHAR(255) PRIMARY KEY,
    content_hash VARCHAR(64),
    title VARCHAR(500) NOT NULL,
    description TEXT NOT NULL,
    design TEXT NOT NULL,
    acceptance_criteria TEXT NOT NULL,
    notes TEXT NOT NULL,
    status VARCHAR(32) NOT NULL DEFAULT 'open',
    priority INT NOT NULL DEFAULT 2,
    issue_type VARCHAR(32) NOT NULL DEFAULT 'task',
    assignee VARCHAR(255),
    estimated_minutes INT,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by VARCHAR(255) DEFAULT '',
    owner VARCHAR(255) DEFAULT '',
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    closed_at DATETIME,
    closed_by_session VARCHAR(255) DEFAULT '',
    external_ref VARCHAR(255),
    spec_id VARCHAR(1024),
    compaction_level INT DEFAULT 0,
    compacted_at DATETIME,
    compacted_at_commit VARCHAR(64),
    original_size INT,
    sender VARCHAR(255) DEFAULT '',
    ephemeral TINYINT(1) DEFAULT 0,
    wisp_type VARCHAR(32) DEFAULT '',
    pinned TINYINT(1) DEFAULT 0,
    is_template TINYINT(1) DEFAULT 0,
    mol_type VARCHAR(32) DEFAULT '',
    work_type VARCHAR(32) DEFAULT 'mutex',
    source_system VARCHAR(255) DEFAULT '',
    metadata JSON DEFAULT (JSON_OBJECT()),
    source_repo VARCHAR(512) DEFAULT '',
    close_reason TEXT DEFAULT '',
    event_kind VARCHAR(32) DEFAULT '',
    actor VARCHAR(255) DEFAULT '',
    target VARCHAR(255) DEFAULT '',
    payload TEXT DEFAULT '',
    await_type VARCHAR(32) DEFAULT '',
    await_id VARCHAR(255) DEFAULT '',
    timeout_ns BIGINT DEFAULT 0,
    waiters TEXT DEFAULT '',
    hook_bead VARCHAR(255) DEFAULT '',
    role_bead VARCHAR(255) DEFAULT '',
    agent_state VARCHAR(32) DEFAULT '',
    last_activity DATETIME,
    role_type VARCHAR(32) DEFAULT '',
    rig VARCHAR(255) DEFAULT '',
    due_at DATETIME,
    defer_until DATETIME,
    INDEX idx_issues_status (status),
    INDEX idx_issues_priority (priority),
    INDEX idx_issues_issue_type (issue_type),
    INDEX idx_issues_assignee (assignee),
    INDEX idx_issues_created_at (created_at),
    INDEX idx_issues_spec_id (spec_id),
    INDEX idx_issues_external_ref (external_ref)
)`,
	`CREATE TABLE IF NOT EXISTS events (
    id CHAR(36) NOT NULL PRIMARY KEY DEFAULT (UUID()),
    issue_id VARCHAR(255) NOT NULL,
    event_type VARCHAR(32) NOT NULL,
    actor VARCHAR(255) NOT NULL,
    old_value TEXT,
    new_value TEXT,
    comment TEXT,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    INDEX idx_events_issue (issue_id),
    INDEX idx_events_created_at (created_at),
    CONSTRAINT fk_events_issue FOREIGN KEY (issue_id) REFERENCES issues(id) ON DELETE CASCADE
)`,
	"CREATE TABLE IF NOT EXISTS config (\n    `key` VARCHAR(255) PRIMARY KEY,\n    value TEXT NOT NULL\n)",
	"CREATE TABLE IF NOT EXISTS metadata (\n    `key` VARCHAR(255) PRIMARY KEY,\n    value TEXT NOT NULL\n)",
}

// storeOptions are the parts of dolt.Config the simulated commands set.
type storeOptions struct {
	port            int  // bd init's project-local port; 0: defaultConfig's (0 there lets auto-start allocate one)
	autoStart       bool // cfg.AutoStart
	createIfMissing bool // only bd init
}

type store struct {
	db       *sql.DB
	database string
	host     string
	port     int
}

// openStore is dolt.New in server mode (store.go newServerMode): dial the
// port (500 ms); when nothing answers, auto-start a server (ensureRunning) if
// allowed, else fail with bd's "Dolt server unreachable" error; connect over
// SQL, check the database exists (or create it for bd init), create the
// schema, verify the project identity and keep the port file current.
func (e *env) openStore(ctx context.Context, m *metadataFile, o storeOptions) (*store, error) {
	host := m.serverHost(e.yaml)
	port := o.port
	if p := envPort(); p > 0 {
		port = p
	} else if port == 0 {
		port = e.defaultConfig(e.beadsDir).port
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	conn, dialErr := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if dialErr != nil {
		if o.autoStart && isLocalHost(host) {
			p, err := e.ensureRunning(e.beadsDir)
			if err != nil {
				//lint:ignore ST1005 bd v1.0.5's own message, verbatim (the simulator must print what bd prints)
				return nil, fmt.Errorf("Dolt server unreachable at %s and auto-start failed: %w\n\n"+
					"To start manually: bd dolt start\n"+
					"To disable auto-start: set dolt.auto-start: false in .beads/config.yaml", addr, err)
			}
			if p != port {
				if port > 0 {
					fmt.Fprintf(e.stderr, "Warning: Dolt server endpoint changed: port %d → %d (auto-start)\n", port, p)
					fmt.Fprintf(e.stderr, "  Previous port was unreachable. If other tools expect port %d, they may see stale data.\n", port)
					fmt.Fprintf(e.stderr, "  To pin a port: set dolt.port in .beads/config.yaml\n")
				}
				port = p
				addr = net.JoinHostPort(host, strconv.Itoa(port))
			}
			conn, dialErr = net.DialTimeout("tcp", addr, 2*time.Second)
			if dialErr != nil {
				//lint:ignore ST1005 bd v1.0.5's own message, verbatim (the simulator must print what bd prints)
				return nil, fmt.Errorf("Dolt server auto-started but still unreachable at %s: %w\n\nCheck logs: %s",
					addr, dialErr, logPath(e.beadsDir))
			}
		} else {
			hint := "The Dolt server may not be running. Try:\n  bd dolt start"
			if !o.autoStart && e.isAutoStartDisabled() {
				hint = "Dolt server auto-start is disabled (dolt.auto-start: false).\nStart the server manually:\n  bd dolt start"
			}
			//lint:ignore ST1005 bd v1.0.5's own message, verbatim (the simulator must print what bd prints)
			return nil, fmt.Errorf("Dolt server unreachable at %s: %w\n\n%s", addr, dialErr, hint)
		}
	}
	_ = conn.Close()

	database := m.database()
	password := os.Getenv("BEADS_DOLT_PASSWORD")
	user := m.serverUser()
	db, err := sql.Open("mysql", serverDSN(host, port, user, password, database, 5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("failed to open Dolt server connection: %w", err)
	}
	initDB, err := sql.Open("mysql", serverDSN(host, port, user, password, "", 5*time.Second))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("failed to open init connection: %w", err)
	}
	defer initDB.Close()
	exists, err := databaseExists(ctx, initDB, database)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("failed to check if database %q exists on server %s:%d: %w", database, host, port, err)
	}
	if !exists {
		if !o.createIfMissing {
			db.Close()
			return nil, databaseNotFoundError(database, host, port)
		}
		if _, err := initDB.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+database+"`"); err != nil {
			s := strings.ToLower(err.Error())
			if !strings.Contains(s, "database exists") && !strings.Contains(s, "1007") {
				db.Close()
				return nil, fmt.Errorf("failed to create database: %w", err)
			}
		}
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("failed to ping Dolt database: %w", err)
	}
	s := &store{db: db, database: database, host: host, port: port}
	for _, ddl := range schemaDDL {
		if _, err := db.ExecContext(ctx, ddl); err != nil {
			db.Close()
			return nil, fmt.Errorf("failed to initialize schema: %w", err)
		}
	}
	if !o.createIfMissing {
		if err := s.verifyProjectIdentity(ctx, m); err != nil {
			db.Close()
			return nil, err
		}
	}
	if isLocalHost(host) && envPort() == 0 {
		_ = e.ensurePortFile(e.beadsDir, port)
	}
	return s, nil
}

// envPort is BEADS_DOLT_SERVER_PORT, or the legacy BEADS_DOLT_PORT.
func envPort() int {
	v := os.Getenv("BEADS_DOLT_SERVER_PORT")
	if v == "" {
		v = os.Getenv("BEADS_DOLT_PORT")
	}
	p, err := strconv.Atoi(v)
	if err != nil || p <= 0 {
		return 0
	}
	return p
}

func isLocalHost(host string) bool {
	switch strings.ToLower(strings.TrimSpace(host)) {
	case "", "localhost", "127.0.0.1", "::1", "0.0.0.0":
		return true
	}
	return false
}

// showDatabases lists the server's databases (SHOW DATABASES).
func showDatabases(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SHOW DATABASES")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// databaseExists is databaseExistsOnServer: an exact match in SHOW DATABASES.
func databaseExists(ctx context.Context, db *sql.DB, name string) (bool, error) {
	names, err := showDatabases(ctx, db)
	return slices.Contains(names, name), err
}

// databaseNotFoundError is internal/storage/dolt/errors.go databaseNotFoundError.
func databaseNotFoundError(database, host string, port int) error {
	return fmt.Errorf("database %q not found on Dolt server at %s:%d\n\n"+
		"Common causes:\n"+
		"  - Switched git branches (the Dolt database is runtime state, not in git)\n"+
		"  - The server is serving a different data directory than expected\n"+
		"  - The server was restarted and is using a different port\n"+
		"  - Another project's Dolt server is running on this port\n\n"+
		"To diagnose:\n"+
		"  bd doctor                  # Check server and database health\n"+
		"  bd dolt status             # Show which data directory the server is using", database, host, port)
}

// verifyProjectIdentity is DoltStore.verifyProjectIdentity (GH#2372).
func (s *store) verifyProjectIdentity(ctx context.Context, m *metadataFile) error {
	if m == nil || m.ProjectID == "" {
		return nil
	}
	dbID, err := s.getMetadata(ctx, "_project_id")
	if err != nil || dbID == "" {
		return nil
	}
	if dbID != m.ProjectID {
		//lint:ignore ST1005 bd v1.0.5's own message, verbatim (the simulator must print what bd prints)
		return fmt.Errorf("PROJECT IDENTITY MISMATCH — refusing to connect\n\n"+
			"  Local project ID (metadata.json):  %s\n"+
			"  Database project ID:               %s\n\n"+
			"This means the Dolt server is serving a DIFFERENT project's database.\n"+
			"This can happen when:\n"+
			"  - Another project's server is running on the same port\n"+
			"  - The server restarted with a different data directory\n\n"+
			"To diagnose: bd dolt status\n"+
			"Do NOT run 'bd init' — your data likely exists, just on a different server.",
			m.ProjectID, dbID)
	}
	return nil
}

func (s *store) close() { _ = s.db.Close() }

// getKV reads key from bd's two key/value tables, metadata and config.
func (s *store) getKV(ctx context.Context, table, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM "+table+" WHERE `key` = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func (s *store) setKV(ctx context.Context, table, key, value string) error {
	_, err := s.db.ExecContext(ctx, "REPLACE INTO "+table+" (`key`, value) VALUES (?, ?)", key, value)
	return err
}

func (s *store) getMetadata(ctx context.Context, key string) (string, error) {
	return s.getKV(ctx, "metadata", key)
}

// commitAuthor is DoltStore.commitAuthorString with bd's defaults.
func commitAuthor() string {
	name, email := os.Getenv("GIT_AUTHOR_NAME"), os.Getenv("GIT_AUTHOR_EMAIL")
	if name == "" {
		name = "beads"
	}
	if email == "" {
		email = "beads@local"
	}
	return fmt.Sprintf("%s <%s>", name, email)
}

func isNothingToCommit(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "nothing to commit") || strings.Contains(s, "no changes")
}

// noCommit is the simulator-only BDSIM_NO_COMMIT=1: writes stay in the
// working set instead of being committed (bd v1.0.5 commits each create and
// close), so a test can leave a pending change for a flush to commit.
func noCommit() bool { return os.Getenv("BDSIM_NO_COMMIT") == "1" }

// addAndCommit is DoltStore.doltAddAndCommit: DOLT_ADD each table, then
// DOLT_COMMIT('-m', msg, '--author', ...), on one pinned connection.
func (s *store) addAndCommit(ctx context.Context, tables []string, msg string) error {
	if noCommit() {
		return nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("failed to acquire connection: %w", err)
	}
	defer conn.Close()
	for _, t := range tables {
		if _, err := conn.ExecContext(ctx, "CALL DOLT_ADD(?)", t); err != nil {
			return fmt.Errorf("dolt add %s: %w", t, err)
		}
	}
	if _, err := conn.ExecContext(ctx, "CALL DOLT_COMMIT('-m', ?, '--author', ?)", msg, commitAuthor()); err != nil && !isNothingToCommit(err) {
		return fmt.Errorf("dolt commit: %w", err)
	}
	return nil
}

// commit is DoltStore.Commit: stage every dirty table except config (GH#2455),
// then commit. bd init calls it with "bd init", which leaves the config table
// (issue_prefix) in the working set, as real bd does.
func (s *store) commit(ctx context.Context, msg string) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("failed to acquire connection: %w", err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, "SELECT table_name FROM dolt_status")
	if err != nil {
		return fmt.Errorf("failed to query dolt_status: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fmt.Errorf("failed to scan dolt_status: %w", err)
		}
		if t != "config" {
			tables = append(tables, t)
		}
	}
	rows.Close()
	if len(tables) == 0 {
		return nil
	}
	for _, t := range tables {
		_, _ = conn.ExecContext(ctx, "CALL DOLT_ADD(?)", t)
	}
	if _, err := conn.ExecContext(ctx, "CALL DOLT_COMMIT('-m', ?, '--author', ?)", msg, commitAuthor()); err != nil && !isNothingToCommit(err) {
		return fmt.Errorf("failed to commit: %w", err)
	}
	return nil
}

// issue is the part of types.Issue the simulated commands use (json tags are bd's).
type issue struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	Status      string     `json:"status,omitempty"`
	Priority    int        `json:"priority"`
	IssueType   string     `json:"issue_type,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	CreatedBy   string     `json:"created_by,omitempty"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	CloseReason string     `json:"close_reason,omitempty"`
}

// generateHashID is idgen.GenerateHashID: prefix-<base36 of sha256>.
func generateHashID(prefix, title, description, creator string, ts time.Time, length, nonce int) string {
	content := fmt.Sprintf("%s|%s|%s|%d|%d", title, description, creator, ts.UnixNano(), nonce)
	hash := sha256.Sum256([]byte(content))
	numBytes := map[int]int{3: 2, 4: 3, 5: 4, 6: 4, 7: 5, 8: 5}[length]
	if numBytes == 0 {
		numBytes = 3
	}
	num := new(big.Int).SetBytes(hash[:numBytes])
	str := num.Text(36)
	if len(str) < length {
		str = strings.Repeat("0", length-len(str)) + str
	}
	if len(str) > length {
		str = str[len(str)-length:]
	}
	return prefix + "-" + str
}

// createIssue inserts the issue and its "created" event in one transaction,
// then commits "bd: create <id>" (issues.go CreateIssue).
func (s *store) createIssue(ctx context.Context, is *issue, actor string) error {
	prefix, err := s.getKV(ctx, "config", "issue_prefix")
	if err != nil {
		return fmt.Errorf("failed to get issue_prefix: %w", err)
	}
	if prefix == "" {
		prefix = s.database
	}
	now := time.Now().UTC().Truncate(time.Second)
	is.CreatedAt, is.UpdatedAt, is.CreatedBy = now, now, actor
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to begin transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for length, nonce := 3, 0; ; nonce++ {
		if nonce > 0 && nonce%10 == 0 && length < 8 {
			length++
		}
		is.ID = generateHashID(prefix, is.Title, is.Description, actor, now, length, nonce)
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM issues WHERE id = ?", is.ID).Scan(&n); err != nil {
			return fmt.Errorf("check id: %w", err)
		}
		if n == 0 {
			break
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO issues (id, title, description, design, acceptance_criteria, notes,
		status, priority, issue_type, created_at, created_by, updated_at) VALUES (?, ?, ?, '', '', '', ?, ?, ?, ?, ?, ?)`,
		is.ID, is.Title, is.Description, is.Status, is.Priority, is.IssueType, now, actor, now); err != nil {
		return fmt.Errorf("failed to insert issue: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO events (issue_id, event_type, actor, created_at) VALUES (?, 'created', ?, ?)",
		is.ID, actor, now); err != nil {
		return fmt.Errorf("failed to record event: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit create issue: %w", err)
	}
	return s.addAndCommit(ctx, []string{"events", "issues"}, "bd: create "+is.ID)
}

const issueColumns = "id, title, description, status, priority, issue_type, created_at, created_by, updated_at, closed_at, close_reason"

func scanIssue(row interface{ Scan(...any) error }) (*issue, error) {
	var is issue
	var closedAt sql.NullTime
	var createdBy, closeReason sql.NullString
	if err := row.Scan(&is.ID, &is.Title, &is.Description, &is.Status, &is.Priority, &is.IssueType,
		&is.CreatedAt, &createdBy, &is.UpdatedAt, &closedAt, &closeReason); err != nil {
		return nil, err
	}
	is.CreatedBy, is.CloseReason = createdBy.String, closeReason.String
	if closedAt.Valid {
		t := closedAt.Time
		is.ClosedAt = &t
	}
	return &is, nil
}

// listIssues: bd list's default filter excludes closed and pinned issues
// unless all is set (list.go, GH#788); newest first.
func (s *store) listIssues(ctx context.Context, all bool) ([]*issue, error) {
	q := "SELECT " + issueColumns + " FROM issues"
	if !all {
		q += " WHERE status NOT IN ('closed', 'pinned')"
	}
	q += " ORDER BY priority ASC, created_at DESC, id ASC"
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("failed to list issues: %w", err)
	}
	defer rows.Close()
	out := []*issue{}
	for rows.Next() {
		is, err := scanIssue(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, is)
	}
	return out, rows.Err()
}

var errIssueNotFound = errors.New("not found")

func (s *store) getIssue(ctx context.Context, id string) (*issue, error) {
	is, err := scanIssue(s.db.QueryRowContext(ctx, "SELECT "+issueColumns+" FROM issues WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("issue %s: %w", id, errIssueNotFound)
	}
	return is, err
}

// closeIssue is issues.go CloseIssue: update and event in one transaction
// that ends with DOLT_ADD(issues, events) and DOLT_COMMIT 'bd: close <id>'.
func (s *store) closeIssue(ctx context.Context, id, reason, actor string) error {
	now := time.Now().UTC().Truncate(time.Second)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to begin transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, "UPDATE issues SET status = 'closed', closed_at = ?, close_reason = ?, updated_at = ? WHERE id = ?",
		now, reason, now, id)
	if err != nil {
		return fmt.Errorf("failed to close issue: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("issue not found: %s", id)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO events (issue_id, event_type, actor, comment, created_at) VALUES (?, 'closed', ?, ?, ?)",
		id, actor, reason, now); err != nil {
		return fmt.Errorf("failed to record event: %w", err)
	}
	if !noCommit() {
		for _, t := range []string{"issues", "events"} {
			_, _ = tx.ExecContext(ctx, "CALL DOLT_ADD(?)", t)
		}
		if _, err := tx.ExecContext(ctx, "CALL DOLT_COMMIT('-m', ?, '--author', ?)", "bd: close "+id, commitAuthor()); err != nil && !isNothingToCommit(err) {
			return fmt.Errorf("dolt commit: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit close issue: %w", err)
	}
	return nil
}
