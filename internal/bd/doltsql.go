package bd

import (
	"context"
	"errors"
	"net"
	"time"
)

// The SQL a Dolt server is asked (internal/doltsql speaks it, with the
// MySQL driver): what a check expects and learns, what a flush committed.
// Apart from the driver, so that the commands that only read these link none.

// SQLTarget says which server and which project a check expects.
type SQLTarget struct {
	// Addr is host:port.
	Addr     string `json:"address"`
	User     string `json:"user,omitempty"`
	Password string `json:"-"`
	// Databases must exist; each with a ProjectID must hold it as the
	// `_project_id` row of its metadata table (bd's identity check).
	Databases []Database `json:"databases,omitempty"`
}

// Database is one database a check expects on the server.
type Database struct {
	Name      string `json:"name"`
	ProjectID string `json:"project_id,omitempty"`
}

// SQLReport is what one check learned about the server.
type SQLReport struct {
	DoltVersion     string   `json:"dolt_version,omitempty"`
	Databases       []string `json:"databases,omitempty"`
	Connections     int      `json:"open_connections"`
	ProjectID       string   `json:"project_id,omitempty"`
	QueryMS         float64  `json:"query_ms"`
	DatabaseMissing bool     `json:"-"`
}

// ErrWrongProject means the server serves another project's data under the
// expected database name (bd refuses such a server: GH#2372).
var ErrWrongProject = errors.New("server serves another project")

// FlushResult says what a flush committed.
type FlushResult struct {
	// Committed are the databases whose working set was committed.
	Committed []string `json:"committed,omitempty"`
	// Failed maps a database to why its commit failed.
	Failed map[string]string `json:"failed,omitempty"`
}

// FlushFunc commits the working set of every database of the server at t
// with changes (doltsql.Flush, or beadsctl's hand-over of it to
// beadsctl-agent, which links the SQL driver).
type FlushFunc func(ctx context.Context, t SQLTarget) (FlushResult, error)

// FlushCommitMessage is the commit message of bd dolt stop's flush.
const FlushCommitMessage = "auto-flush: commit working set before server stop"

// Accepting reports whether addr accepts a TCP connection now (one dial, a
// short deadline): the cheap probe a waiter repeats until the SQL check can pass.
func Accepting(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: 100 * time.Millisecond}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
