// Package doltsql speaks SQL to a Dolt server over the MySQL protocol, with
// the driver bd itself uses: the health check bd relies on (connect, ping,
// the project's database exists and is this project's) and bd dolt stop's
// flush. The agent links it (its sql health checks, the flush before a stop),
// and beadsctl-tools (migrate); beadsctl does not (the driver pulls in
// crypto/tls): its one use, the flush of a rival server that apply
// --replace-unmanaged stops, runs in beadsctl-agent.
//
// It is a leaf: it imports nothing of beadsctl's but internal/bd's types.
package doltsql

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/beadsctl/beadsctl/internal/bd"
)

func openDB(t bd.SQLTarget, timeout time.Duration) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User = t.User
	if cfg.User == "" {
		cfg.User = bd.DefaultDoltUser
	}
	cfg.Passwd = t.Password
	cfg.Net, cfg.Addr = "tcp", t.Addr
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = timeout, timeout, timeout
	cfg.AllowNativePasswords = true
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(0)
	return db, nil
}

// CheckSQL connects to t.Addr and checks it the way bd does before it trusts a
// server, on a connection of its own. ctx bounds the whole check. The report
// is filled as far as the check got.
func CheckSQL(ctx context.Context, t bd.SQLTarget) (bd.SQLReport, error) {
	var c SQLChecker
	defer c.Close()
	return c.Check(ctx, t)
}

// SQLChecker runs CheckSQL's checks again and again over one connection that
// it keeps between them: a check every 10 s then costs a few round trips, not
// a TCP connect and a MySQL handshake each time. A check that fails on the
// kept connection before ctx ends is measured again on a new one, so that an
// unhealthy verdict is never a connection's leftover; one that hangs fails
// when ctx ends (the driver closes the connection), and the next check opens
// a new one. The zero value is ready; Close releases the connection.
type SQLChecker struct {
	mu      sync.Mutex
	target  bd.SQLTarget // what conn was opened for
	db      *sql.DB
	conn    *sql.Conn
	asked   bool   // dolt_version() was asked on conn
	version string // its answer: the same server process while conn lives
}

// Check checks t as CheckSQL does, over the kept connection when it was
// opened for the same address and user.
func (c *SQLChecker) Check(ctx context.Context, t bd.SQLTarget) (bd.SQLReport, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil && (c.target.Addr != t.Addr || c.target.User != t.User || c.target.Password != t.Password) {
		c.closeLocked()
	}
	if c.conn != nil {
		rep, err := c.check(ctx, t)
		if err == nil || ctx.Err() != nil {
			if err != nil {
				c.closeLocked()
			}
			return rep, err
		}
		c.closeLocked()
	}
	if err := c.open(ctx, t); err != nil {
		return bd.SQLReport{}, err
	}
	rep, err := c.check(ctx, t)
	if err != nil {
		c.closeLocked()
	}
	return rep, err
}

// Close closes the kept connection; a check in progress ends first.
func (c *SQLChecker) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked()
}

func (c *SQLChecker) closeLocked() {
	if c.conn != nil {
		c.conn.Close()
	}
	if c.db != nil {
		c.db.Close()
	}
	c.db, c.conn, c.asked, c.version = nil, nil, false, ""
}

// open connects to t.Addr (dial and MySQL handshake), bounded by ctx.
func (c *SQLChecker) open(ctx context.Context, t bd.SQLTarget) error {
	timeout := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	db, err := openDB(t, timeout)
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return fmt.Errorf("connect %s: %w", t.Addr, err)
	}
	c.target, c.db, c.conn = bd.SQLTarget{Addr: t.Addr, User: t.User, Password: t.Password}, db, conn
	return nil
}

// check asks the server behind c.conn what bd asks before it trusts it, in
// two round trips: SHOW DATABASES (its time is the report's QueryMS), then
// the connection count and each expected project id in one statement (the
// version once per connection). A round trip wakes the agent's scheduler and
// network poller, most of a check's cost on a kept connection.
func (c *SQLChecker) check(ctx context.Context, t bd.SQLTarget) (bd.SQLReport, error) {
	var rep bd.SQLReport
	db := c.conn
	start := time.Now()
	rows, err := db.QueryContext(ctx, "SHOW DATABASES")
	if err != nil {
		return rep, fmt.Errorf("connect %s: SHOW DATABASES: %w", t.Addr, err)
	}
	for rows.Next() {
		var name string
		if rows.Scan(&name) == nil {
			rep.Databases = append(rep.Databases, name)
		}
	}
	err = rows.Close()
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return rep, fmt.Errorf("connect %s: SHOW DATABASES: %w", t.Addr, err)
	}
	rep.QueryMS = float64(time.Since(start).Microseconds()) / 1000
	// Both are facts for the report; a server that cannot say is not
	// unhealthy. The version is asked once per connection: one connection
	// talks to one server process.
	if !c.asked {
		c.asked = true
		_ = db.QueryRowContext(ctx, "SELECT dolt_version()").Scan(&c.version)
	}
	rep.DoltVersion = c.version
	var ids []bd.Database
	for _, want := range t.Databases {
		if !slices.ContainsFunc(rep.Databases, func(s string) bool { return strings.EqualFold(s, want.Name) }) {
			rep.DatabaseMissing = true
			return rep, fmt.Errorf("database %q is not on the server at %s (it has %s)", want.Name, t.Addr, strings.Join(rep.Databases, ", "))
		}
		if want.ProjectID != "" {
			ids = append(ids, want)
		}
	}
	got := make([]sql.NullString, len(ids))
	dest := []any{&rep.Connections}
	q := "SELECT (SELECT COUNT(*) FROM information_schema.PROCESSLIST)"
	for i, want := range ids {
		q += fmt.Sprintf(", (SELECT value FROM %s.metadata WHERE `key` = '_project_id')", quoteIdent(want.Name))
		dest = append(dest, &got[i])
	}
	if err := db.QueryRowContext(ctx, q).Scan(dest...); err != nil {
		if ctx.Err() != nil || len(ids) == 0 {
			// The count is only a fact; a hang is the deadline's.
			rep.Connections = 0
			if ctx.Err() != nil {
				return rep, fmt.Errorf("read the connection count: %w", err)
			}
			return rep, nil
		}
		// One of them cannot be read: ask each alone, to say which.
		rep.Connections = 0
		_ = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.PROCESSLIST").Scan(&rep.Connections)
		for i, want := range ids {
			q := fmt.Sprintf("SELECT value FROM %s.metadata WHERE `key` = '_project_id'", quoteIdent(want.Name))
			if err := db.QueryRowContext(ctx, q).Scan(&got[i]); err != nil {
				return rep, fmt.Errorf("read _project_id of database %q: %w", want.Name, err)
			}
		}
	}
	for i, want := range ids {
		if !got[i].Valid {
			return rep, fmt.Errorf("read _project_id of database %q: %w", want.Name, sql.ErrNoRows)
		}
		rep.ProjectID = got[i].String
		if got[i].String != want.ProjectID {
			return rep, fmt.Errorf("%w: database %q has project id %s, .beads/metadata.json says %s", bd.ErrWrongProject, want.Name, got[i].String, want.ProjectID)
		}
	}
	return rep, nil
}

// Flush commits the working set of every database with changes, as bd dolt
// stop does before it signals the server (doltserver.FlushWorkingSet), so that
// a stop loses no write. ctx bounds it. An error names what was not flushed.
func Flush(ctx context.Context, t bd.SQLTarget) (bd.FlushResult, error) {
	var res bd.FlushResult
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	db, err := openDB(bd.SQLTarget{Addr: t.Addr, User: t.User, Password: t.Password}, timeout)
	if err != nil {
		return res, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return res, fmt.Errorf("flush: connect %s: %w", t.Addr, err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, "SHOW DATABASES")
	if err != nil {
		return res, fmt.Errorf("flush: SHOW DATABASES: %w", err)
	}
	var dbs []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) == nil && !slices.Contains([]string{"information_schema", "mysql", "performance_schema"}, name) {
			dbs = append(dbs, name)
		}
	}
	rows.Close()
	for _, name := range dbs {
		var dirty bool
		if err := conn.QueryRowContext(ctx, fmt.Sprintf("SELECT COUNT(*) > 0 FROM %s.dolt_status", quoteIdent(name))).Scan(&dirty); err != nil || !dirty {
			continue
		}
		if _, err := conn.ExecContext(ctx, "USE "+quoteIdent(name)); err != nil {
			failed(&res, name, err)
			continue
		}
		if _, err := conn.ExecContext(ctx, "CALL DOLT_COMMIT('-Am', '"+bd.FlushCommitMessage+"')"); err != nil {
			low := strings.ToLower(err.Error())
			if strings.Contains(low, "nothing to commit") || strings.Contains(low, "no changes") {
				continue
			}
			failed(&res, name, err)
			continue
		}
		res.Committed = append(res.Committed, name)
	}
	if len(res.Failed) > 0 {
		var parts []string
		for _, name := range dbs {
			if msg, ok := res.Failed[name]; ok {
				parts = append(parts, name+": "+msg)
			}
		}
		return res, fmt.Errorf("flush failed for %s", strings.Join(parts, "; "))
	}
	return res, nil
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// failed records that name's commit failed with err.
func failed(r *bd.FlushResult, name string, err error) {
	if r.Failed == nil {
		r.Failed = map[string]string{}
	}
	r.Failed[name] = err.Error()
}
