package bdsim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// request is one line of the RPC, as bd's rpc.Request.
type request struct {
	Operation     string          `json:"operation"`
	Args          json.RawMessage `json:"args"`
	Actor         string          `json:"actor,omitempty"`
	RequestID     string          `json:"request_id,omitempty"`
	Cwd           string          `json:"cwd,omitempty"`
	ClientVersion string          `json:"client_version,omitempty"`
	ExpectedDB    string          `json:"expected_db,omitempty"`
}

// response is one line of the RPC answer. BEADS.md shows "error" present even
// when empty, so it has no omitempty.
type response struct {
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data,omitempty"`
	Error   string          `json:"error"`
}

type healthResponse struct {
	Status         string  `json:"status"`
	Version        string  `json:"version"`
	ClientVersion  string  `json:"client_version,omitempty"`
	Compatible     bool    `json:"compatible"`
	Uptime         float64 `json:"uptime_seconds"`
	DBResponseTime float64 `json:"db_response_ms"`
	ActiveConns    int32   `json:"active_connections"`
	MaxConns       int     `json:"max_connections"`
	MemoryAllocMB  uint64  `json:"memory_alloc_mb"`
	Error          string  `json:"error,omitempty"`
}

type statusResponse struct {
	Version             string  `json:"version"`
	WorkspacePath       string  `json:"workspace_path"`
	DatabasePath        string  `json:"database_path"`
	SocketPath          string  `json:"socket_path"`
	PID                 int     `json:"pid"`
	UptimeSeconds       float64 `json:"uptime_seconds"`
	LastActivityTime    string  `json:"last_activity_time"`
	ExclusiveLockActive bool    `json:"exclusive_lock_active"`
}

// maxRequestLine bounds one request line; a longer one closes the connection.
const maxRequestLine = 1 << 20

// server answers RPC requests. It holds no OS resources: the daemon feeds it
// connections, which keeps it testable on every platform.
type server struct {
	version    string
	workspace  string
	dbPath     string
	socketPath string
	pid        int
	start      time.Time

	unhealthyAfter time.Duration // 0: never
	dbLatency      time.Duration

	activeConns  atomic.Int32
	lastActivity atomic.Int64 // unix nanoseconds
	shutdown     chan struct{}
	shutdownOnce atomic.Bool
}

func newServer(version, workspace, socketPath string, pid int) *server {
	s := &server{
		version:    version,
		workspace:  workspace,
		dbPath:     filepath.Join(workspace, ".beads", "beads.db"),
		socketPath: socketPath,
		pid:        pid,
		start:      time.Now(),
		shutdown:   make(chan struct{}),
	}
	s.lastActivity.Store(s.start.UnixNano())
	return s
}

// serveConn answers requests on one connection until EOF, an oversized line or
// a shutdown request.
func (s *server) serveConn(rw io.ReadWriter) {
	s.activeConns.Add(1)
	defer s.activeConns.Add(-1)
	br := bufio.NewReaderSize(rw, 64<<10)
	for {
		line, err := readLine(br, maxRequestLine)
		if len(line) > 0 {
			resp := s.handleLine(line)
			b, _ := json.Marshal(resp)
			if _, werr := rw.Write(append(b, '\n')); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// readLine reads one line (without its newline) of at most max bytes.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > max {
			return nil, errors.New("request line too long")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return []byte(strings.TrimRight(string(line), "\r\n")), err
	}
}

func (s *server) handleLine(line []byte) response {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return response{Error: fmt.Sprintf("invalid request: %v", err)}
	}
	return s.handle(req)
}

func (s *server) handle(req request) response {
	s.lastActivity.Store(time.Now().UnixNano())
	// As bd: ping and health skip the version check, health and metrics the
	// database binding check.
	if req.Operation != "ping" && req.Operation != "health" {
		if err := checkCompatible(s.version, req.ClientVersion); err != nil {
			return response{Error: err.Error()}
		}
	}
	if req.Operation != "health" && req.Operation != "metrics" && req.ExpectedDB != "" {
		if filepath.Clean(req.ExpectedDB) != s.dbPath {
			return response{Error: fmt.Sprintf("database mismatch: client expects %s but daemon serves %s. Wrong daemon connection - check socket path", req.ExpectedDB, s.dbPath)}
		}
	}
	switch req.Operation {
	case "ping":
		return ok(map[string]string{"message": "pong", "version": s.version})
	case "health":
		return s.health(req)
	case "status":
		return ok(statusResponse{
			Version:          s.version,
			WorkspacePath:    s.workspace,
			DatabasePath:     s.dbPath,
			SocketPath:       s.socketPath,
			PID:              s.pid,
			UptimeSeconds:    time.Since(s.start).Seconds(),
			LastActivityTime: time.Unix(0, s.lastActivity.Load()).UTC().Format(time.RFC3339),
		})
	case "metrics":
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return ok(map[string]any{
			"timestamp":          time.Now().UTC().Format(time.RFC3339Nano),
			"start_time":         s.start.UTC().Format(time.RFC3339Nano),
			"uptime_seconds":     time.Since(s.start).Seconds(),
			"operations":         []any{},
			"active_connections": s.activeConns.Load(),
			"memory_alloc_mb":    m.Alloc >> 20,
			"memory_sys_mb":      m.Sys >> 20,
			"goroutine_count":    runtime.NumGoroutine(),
		})
	case "shutdown":
		if s.shutdownOnce.CompareAndSwap(false, true) {
			close(s.shutdown)
		}
		return ok(map[string]string{"message": "shutting down"})
	default:
		return response{Error: fmt.Sprintf("unknown operation: %s", req.Operation)}
	}
}

func (s *server) health(req request) response {
	start := time.Now()
	if s.dbLatency > 0 {
		time.Sleep(s.dbLatency) // the simulated database check
	}
	dbMS := float64(time.Since(start).Microseconds()) / 1000
	status, dbErr := "healthy", ""
	switch {
	case s.unhealthyAfter > 0 && time.Since(s.start) >= s.unhealthyAfter:
		status, dbErr = "unhealthy", "database ping failed: simulated (BDSIM_UNHEALTHY_AFTER)"
	case dbMS > 500:
		status = "degraded"
	}
	compatible := req.ClientVersion == "" || checkCompatible(s.version, req.ClientVersion) == nil
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b, _ := json.Marshal(healthResponse{
		Status:         status,
		Version:        s.version,
		ClientVersion:  req.ClientVersion,
		Compatible:     compatible,
		Uptime:         time.Since(s.start).Seconds(),
		DBResponseTime: dbMS,
		ActiveConns:    s.activeConns.Load(),
		MaxConns:       100,
		MemoryAllocMB:  m.Alloc >> 20,
		Error:          dbErr,
	})
	return response{Success: status != "unhealthy", Data: b, Error: dbErr}
}

func ok(v any) response {
	b, _ := json.Marshal(v)
	return response{Success: true, Data: b}
}

// checkCompatible is bd's rule: an empty client version is accepted (old
// clients); otherwise same major version, and daemon >= client.
func checkCompatible(daemon, client string) error {
	if client == "" {
		return nil
	}
	d, derr := parseSemver(daemon)
	c, cerr := parseSemver(client)
	if derr != nil || cerr != nil {
		return nil // bd lets unparsable versions through
	}
	if d[0] != c[0] {
		return fmt.Errorf("incompatible major versions: client v%s, daemon v%s. Daemon must be restarted", client, daemon)
	}
	if compare(d, c) < 0 {
		return fmt.Errorf("version mismatch: client v%s requires daemon upgrade (daemon is v%s). The client will restart the daemon automatically", client, daemon)
	}
	return nil
}

func versionLess(a, b string) bool {
	va, errA := parseSemver(a)
	vb, errB := parseSemver(b)
	return errA == nil && errB == nil && compare(va, vb) < 0
}

func parseSemver(v string) ([3]int, error) {
	var out [3]int
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return out, fmt.Errorf("not a semver: %q", v)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return out, fmt.Errorf("not a semver: %q", v)
		}
		out[i] = n
	}
	return out, nil
}

func compare(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
