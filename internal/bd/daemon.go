package bd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// This file is the client side of the bd v0 daemon protocol (see shared/BEADS.md):
// the NDJSON RPC on .beads/bd.sock, the files under .beads/ and `bd version`.

// Probe is what the bd daemon's RPC said about itself.
type Probe struct {
	// Status is bd's health status: "healthy", "degraded" or "unhealthy".
	Status        string  `json:"status"`
	Version       string  `json:"version"`
	Compatible    bool    `json:"compatible"`
	Pid           int     `json:"pid"` // from the status operation
	DBResponseMS  float64 `json:"db_response_ms"`
	UptimeSeconds float64 `json:"uptime_seconds"`
	// LastActivity and ExclusiveLock come from the status operation.
	LastActivity  time.Time `json:"last_activity_time,omitzero"`
	ExclusiveLock bool      `json:"exclusive_lock_active"`
	WorkspacePath string    `json:"workspace_path,omitempty"`
	DatabasePath  string    `json:"database_path,omitempty"`
}

// ErrNotRunning means no bd daemon answers on the workspace's socket.
var ErrNotRunning = errors.New("no bd daemon answers")

// RPCError is a response with success=false: the daemon answered, and
// refused or failed the operation (an unhealthy database, a version mismatch).
type RPCError struct {
	Operation string
	Message   string
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("bd daemon %s: %s", e.Operation, e.Message)
}

// maxBeadsLine bounds one line read from a bd daemon: a hostile or broken
// server cannot make a probe allocate more than this.
const maxBeadsLine = 1 << 20

// beadsRequest is one line of the RPC (bd's rpc.Request, the fields we send).
type beadsRequest struct {
	Operation     string          `json:"operation"`
	Args          json.RawMessage `json:"args"`
	ClientVersion string          `json:"client_version,omitempty"`
	ExpectedDB    string          `json:"expected_db,omitempty"`
	Cwd           string          `json:"cwd,omitempty"`
}

// beadsResponse is one line of the answer (bd's rpc.Response).
type beadsResponse struct {
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   string          `json:"error"`
}

// beadsStatus is the data of the status operation. last_activity_time is a
// string in bd (RFC 3339), parsed leniently.
type beadsStatus struct {
	Version       string  `json:"version"`
	WorkspacePath string  `json:"workspace_path"`
	DatabasePath  string  `json:"database_path"`
	Pid           int     `json:"pid"`
	UptimeSeconds float64 `json:"uptime_seconds"`
	LastActivity  string  `json:"last_activity_time"`
	ExclusiveLock bool    `json:"exclusive_lock_active"`
}

// decodeBeadsResponse decodes one response line of operation op into data
// (which may be nil). A success=false response is a *RPCError; data is
// still decoded when present, since bd's unhealthy health answer carries it.
func decodeBeadsResponse(line []byte, op string, data any) error {
	var resp beadsResponse
	if err := json.Unmarshal(line, &resp); err != nil {
		return fmt.Errorf("bd daemon %s: invalid response: %w", op, err)
	}
	var dataErr error
	if data != nil && len(resp.Data) > 0 && !bytes.Equal(resp.Data, []byte("null")) {
		if err := json.Unmarshal(resp.Data, data); err != nil {
			dataErr = fmt.Errorf("bd daemon %s: invalid response data: %w", op, err)
		}
	}
	if !resp.Success {
		msg := resp.Error
		if msg == "" {
			msg = "failed without a message"
		}
		return &RPCError{Operation: op, Message: msg}
	}
	return dataErr
}

// ProbeDaemon speaks the NDJSON RPC on <workspace>/.beads/bd.sock (health, then
// status) with clientVersion as client_version. workspace is the folder holding .beads/.
//
// The context's deadline bounds the whole probe. ErrNotRunning (wrapped)
// means nothing listens: no socket, or the dial was refused. A *RPCError
// means the daemon answered success=false; the probe then holds what was learnt
// so far (an unhealthy health answer fills Status and Version, a version
// mismatch on status leaves Pid 0 with Compatible false).
func ProbeDaemon(ctx context.Context, workspace, clientVersion string) (Probe, error) {
	var probe Probe
	ws, err := filepath.Abs(workspace)
	if err != nil {
		return probe, err
	}
	conn, err := dialBeads(ctx, ws)
	if err != nil {
		return probe, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	br := bufio.NewReaderSize(conn, 64<<10)
	call := func(op string, data any) error {
		req, _ := json.Marshal(beadsRequest{
			Operation:     op,
			Args:          json.RawMessage("null"),
			ClientVersion: clientVersion,
			ExpectedDB:    filepath.Join(ws, ".beads", "beads.db"),
			Cwd:           ws,
		})
		if _, err := conn.Write(append(req, '\n')); err != nil {
			return beadsCtxErr(ctx, fmt.Errorf("bd daemon %s: %w", op, err))
		}
		line, err := readBoundedLine(br, maxBeadsLine)
		if err != nil {
			if len(line) == 0 || !errors.Is(err, io.EOF) {
				return beadsCtxErr(ctx, fmt.Errorf("bd daemon %s: %w", op, err))
			}
		}
		return decodeBeadsResponse(line, op, data)
	}

	if err := call("health", &probe); err != nil {
		return probe, err
	}
	var st beadsStatus
	if err := call("status", &st); err != nil {
		return probe, err
	}
	probe.Pid = st.Pid
	probe.ExclusiveLock = st.ExclusiveLock
	probe.WorkspacePath = st.WorkspacePath
	probe.DatabasePath = st.DatabasePath
	if probe.Version == "" {
		probe.Version = st.Version
	}
	if t, err := time.Parse(time.RFC3339Nano, st.LastActivity); err == nil {
		probe.LastActivity = t
	}
	return probe, nil
}

// ctxErr prefers the context's error when it is done: a deadline hit while
// reading reads better as "context deadline exceeded" than as an i/o timeout.
func beadsCtxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	// The connection's deadline is the context's: it may fire a moment before
	// the context's own timer marks it done.
	if dl, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(dl) {
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}

// dialBeads connects to the workspace's bd.sock: a unix socket, or on Windows a
// file holding {"network":"tcp","address":"127.0.0.1:PORT"}.
func dialBeads(ctx context.Context, workspace string) (net.Conn, error) {
	sock := filepath.Join(workspace, ".beads", "bd.sock")
	network, address := "unix", sock
	fi, err := os.Stat(sock)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist", ErrNotRunning, sock)
		}
		return nil, err
	}
	if fi.Mode().IsRegular() {
		var ep struct{ Network, Address string }
		b, err := readFileMax(sock, 4096)
		if err == nil {
			err = json.Unmarshal(b, &ep)
		}
		if err != nil || ep.Address == "" {
			return nil, fmt.Errorf("%w: %s holds no endpoint", ErrNotRunning, sock)
		}
		network, address = ep.Network, ep.Address
		if network == "" {
			network = "tcp"
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		if dialRefused(err) {
			return nil, fmt.Errorf("%w: %w", ErrNotRunning, err)
		}
		return nil, beadsCtxErr(ctx, err)
	}
	return conn, nil
}

// readBoundedLine reads one line (without its newline) of at most max bytes.
func readBoundedLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > max+1 {
			return nil, fmt.Errorf("response line longer than %d bytes", max)
		}
		line = append(line, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}

func readFileMax(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}

// Lock is the content of .beads/daemon.lock.
type Lock struct {
	Pid       int       `json:"pid"`
	ParentPid int       `json:"parent_pid"`
	Database  string    `json:"database"`
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
}

// ReadLock reads .beads/daemon.lock and reports whether a live process holds its flock.
//
// A missing file is not an error (zero lock, not held). held is reported even
// when the content does not decode (err then says why). The check takes the
// flock for an instant on a separate descriptor and releases it, as bd itself
// does; a bd starting in that instant would fail with "already running". On
// Windows held is always false.
func ReadLock(workspace string) (lock Lock, held bool, err error) {
	path := filepath.Join(workspace, ".beads", "daemon.lock")
	b, err := readFileMax(path, 64<<10)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Lock{}, false, nil
		}
		return Lock{}, false, err
	}
	held, herr := flockHeld(path)
	if herr != nil {
		return Lock{}, false, herr
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return Lock{}, held, nil
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		return Lock{}, held, fmt.Errorf("decode %s: %w", path, err)
	}
	return lock, held, nil
}

// CleanStale removes .beads/bd.sock and .beads/daemon.pid when they are
// stale (no live flock on daemon.lock and the socket refuses a dial), and returns
// the paths removed.
func CleanStale(workspace string) ([]string, error) {
	held, err := flockHeld(filepath.Join(workspace, ".beads", "daemon.lock"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if held {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := dialBeads(ctx, workspace)
	if err == nil {
		conn.Close()
		return nil, nil // someone answers: not stale
	}
	if !errors.Is(err, ErrNotRunning) {
		return nil, nil // a timeout or a permission error proves nothing
	}
	var removed []string
	for _, name := range []string{"bd.sock", "daemon.pid"} {
		p := filepath.Join(workspace, ".beads", name)
		if err := os.Remove(p); err == nil {
			removed = append(removed, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return removed, err
		}
	}
	return removed, nil
}

// InstalledVersion runs `<bd> version` with BEADS_AUTO_START_DAEMON=false and
// returns the first semver after "bd version ".
func InstalledVersion(ctx context.Context, bd string) (string, error) {
	cmd := exec.CommandContext(ctx, bd, "version")
	cmd.Env = append(envWithout(os.Environ(), "BEADS_AUTO_START_DAEMON", "BD_AUTO_START_DAEMON"),
		"BEADS_AUTO_START_DAEMON=false", "BD_AUTO_START_DAEMON=false")
	out := &beadsCapped{max: 64 << 10}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = time.Second // a child holding the pipe open cannot hang us
	err := cmd.Run()
	v, perr := ParseVersion(out.String())
	if perr == nil {
		return v, nil
	}
	if err != nil {
		return "", fmt.Errorf("%s version: %w: %s", bd, err, strings.TrimSpace(out.String()))
	}
	return "", fmt.Errorf("%s version: %w", bd, perr)
}

// beadsVersionRE matches a semver (an optional v, pre-release and build metadata).
var beadsVersionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)`)
})

// ParseVersion returns the semver (without a leading v) that follows the
// first "bd version " in the output of `bd version`, e.g. "0.28.0" from
// "bd version 0.28.0 (dev)" or "bd version v0.29.0 (abc1234: main@...)".
func ParseVersion(out string) (string, error) {
	_, rest, found := strings.Cut(out, "bd version ")
	if !found {
		return "", fmt.Errorf("no %q in %q", "bd version ", beadsTruncate(out, 80))
	}
	m := beadsVersionRE().FindStringSubmatch(strings.TrimLeft(rest, " \t"))
	if m == nil {
		return "", fmt.Errorf("no version after %q in %q", "bd version ", beadsTruncate(out, 80))
	}
	return m[1], nil
}

func beadsTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func envWithout(env []string, keys ...string) []string {
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, key := range keys {
			if strings.EqualFold(k, key) {
				drop = true
			}
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// beadsCapped keeps the first max bytes written and discards the rest.
type beadsCapped struct {
	buf bytes.Buffer
	max int
}

func (c *beadsCapped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (c *beadsCapped) String() string { return c.buf.String() }
