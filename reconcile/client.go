package reconcile

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/internal/logfile"
	"github.com/beadsctl/beadsctl/internal/sockhttp"
)

// ErrAgentDown means no agent runs for the project folder: no socket, or a
// socket nobody listens on, and no live process holds the agent's lock.
var ErrAgentDown = errors.New("agent is not running")

// ErrAgentNotAnswering means an agent process lives for the project folder but
// did not answer in time (stopped with SIGSTOP, overloaded, its socket gone).
// It is never "not running": its daemons may well run, so nothing may be
// started beside it, recorded as done, or removed under it.
var ErrAgentNotAnswering = errors.New("the agent does not answer")

// NotAnsweringError is an ErrAgentNotAnswering with what is known.
type NotAnsweringError struct {
	// Pid holds the agent's lock (0 when no live holder was found: the
	// socket accepted the question, yet nobody answered).
	Pid int
	// Request is what went unanswered ("GET /v1/status").
	Request string
	// Timeout is how long the agent was given.
	Timeout time.Duration
	// Why is set when the socket itself is the problem ("its socket ... is gone").
	Why string
}

func (e *NotAnsweringError) Error() string {
	who := "the agent"
	if e.Pid > 0 {
		who = fmt.Sprintf("agent pid %d", e.Pid)
	}
	if e.Why != "" {
		return fmt.Sprintf("%s does not answer: %s", who, e.Why)
	}
	msg := fmt.Sprintf("%s does not answer (stopped? overloaded?): no answer to %s within %v", who, e.Request, e.Timeout)
	if !strings.HasPrefix(e.Request, "GET"+" ") {
		msg += " (a request it already read may still be carried out when it resumes)"
	}
	return msg
}

// Is makes a *NotAnsweringError match ErrAgentNotAnswering.
func (e *NotAnsweringError) Is(target error) bool { return target == ErrAgentNotAnswering }

// Errors of Client.Wait besides transport errors; the status is returned with them.
var (
	ErrWaitTimeout   = errors.New("timed out waiting for the daemon")
	ErrDaemonErrored = errors.New("daemon is errored")
	ErrDaemonStopped = errors.New("daemon is stopped")
	ErrDaemonExited  = errors.New("daemon exited")
	// ErrDependencyFailed: the daemon is not started because a dependency failed.
	ErrDependencyFailed = errors.New("a dependency failed")
	ErrUnknownDaemon    = agentapi.ErrUnknownDaemon
	errUnexpectedWait   = errors.New("unexpected wait result")
)

// APIError is an error answer of the agent.
type APIError struct {
	Code    int    // HTTP status
	Message string // the agent's {"error": ...}
}

func (e *APIError) Error() string { return fmt.Sprintf("agent: %s (%d)", e.Message, e.Code) }

// Is makes a 404 on a daemon match ErrUnknownDaemon.
func (e *APIError) Is(target error) bool {
	return target == agentapi.ErrUnknownDaemon && e.Code == 404
}

// DefaultAgentTimeout is how long the agent has to answer a question (status,
// start, a flush) and, during a long request (stop, wait, shutdown), each
// liveness ping. An idle agent answers in a millisecond; this leaves room for
// a loaded machine.
const DefaultAgentTimeout = 5 * time.Second

// longBound caps a long request whose own duration is not known here (a stop
// waits out the daemon's stop timeout): the liveness pings are what find a
// wedged agent early.
const longBound = agentapi.MaxWait

// Client talks to the agent of one project folder over its control socket.
// Every request has a deadline (see DefaultAgentTimeout): an agent that does
// not answer in time is reported as such (ErrAgentNotAnswering), never as down.
type Client struct {
	dir     string
	socket  string
	hc      *sockhttp.Client
	timeout time.Duration

	// version is the CLI's beadsctl version ("" checks nothing); agent is
	// the agent's, learnt from its last status.
	version string
	mu      sync.Mutex
	agent   *agentapi.AgentStatus
	// started is when this client last asked for a daemon's start (Put,
	// Start, Restart): Wait reports a run that ended since then at once.
	started map[string]time.Time
}

// AgentVersionError refuses to drive an agent of another beadsctl version:
// the spec it would be sent, and what it would do with it, may differ. Apply
// replaces it (Plan.Agent); status, shutdown and destroy work across versions.
type AgentVersionError struct {
	AgentVersion string
	AgentAPI     int
	Version      string
}

func (e *AgentVersionError) Error() string {
	return fmt.Sprintf("the agent runs beadsctl %s (control API %d), this is beadsctl %s (API %d): run beadsctl apply to replace it (its daemons stop and start again under the new agent)",
		e.AgentVersion, e.AgentAPI, e.Version, agentapi.APIVersion)
}

// Is makes an *AgentVersionError match ErrAgentVersion.
func (e *AgentVersionError) Is(target error) bool { return target == ErrAgentVersion }

// SetVersion names this beadsctl's version for the handshake: it is sent with
// every request, and an agent of another version is not driven (put, start,
// stop, restart, wait, flush fail with an *AgentVersionError).
func (c *Client) SetVersion(v string) { c.version = v }

// checkVersion refuses to drive an agent of another version; it asks for the
// status first when the client has not seen one yet.
func (c *Client) checkVersion(ctx context.Context) error {
	if c.version == "" {
		return nil
	}
	c.mu.Lock()
	seen := c.agent
	c.mu.Unlock()
	if seen == nil {
		as, err := c.Status(ctx)
		if err != nil {
			return err
		}
		seen = &as
	}
	if seen.Version != c.version || seen.API != agentapi.APIVersion {
		return &AgentVersionError{AgentVersion: seen.Version, AgentAPI: seen.API, Version: c.version}
	}
	return nil
}

// Dial returns a client for the agent of the project folder dir. It does no I/O:
// ErrAgentDown comes from the first call when nobody answers.
func Dial(dir string) *Client {
	sock := agentapi.SocketPath(dir)
	hc := &sockhttp.Client{
		Dial: func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, "unix", sock)
			if err != nil && ctx.Err() == nil {
				return nil, fmt.Errorf("%w: %v", ErrAgentDown, err)
			}
			return c, err
		},
		Host:    "agent",
		MaxIdle: 2,
	}
	return &Client{dir: dir, socket: sock, hc: hc, timeout: DefaultAgentTimeout}
}

// SetTimeout sets how long the agent has to answer (DefaultAgentTimeout when
// d is not positive).
func (c *Client) SetTimeout(d time.Duration) {
	if d <= 0 {
		d = DefaultAgentTimeout
	}
	c.timeout = d
}

// Timeout is how long the agent has to answer.
func (c *Client) Timeout() time.Duration { return c.timeout }

// SocketPath is the socket the client dials.
func (c *Client) SocketPath() string { return c.socket }

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdle() }

// call is one request: its deadline, and for a long one the liveness pings.
type call struct {
	method, path string
	body         any
	// bound is how long the request may legitimately take beyond the agent's
	// answer time (the wait's own timeout, a stop's); 0 for a question.
	bound time.Duration
	// stream: no deadline on the body once the head came (logs --follow);
	// pings still watch the agent.
	stream bool
	// drive: the request makes the agent act, so it must be of our version.
	drive bool
	// anyAPI: the request keeps its meaning across control APIs (status,
	// shutdown), so it names none: an agent of any API answers it, and one
	// of another API can be seen and replaced (an agent refuses a request
	// that names an API it does not speak).
	anyAPI bool
}

func (k call) long() bool { return k.bound > 0 || k.stream }

// do sends a request and decodes a JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, k call, out any) error {
	resp, rctx, release, err := c.send(ctx, k)
	if err != nil {
		return err
	}
	defer release()
	defer resp.Body.Close()
	switch o := out.(type) {
	case nil:
		_, err = io.Copy(io.Discard, resp.Body)
	case bodyDecoder:
		var b []byte
		if b, err = readBody(resp); err == nil {
			err = o.decodeBody(b)
		}
	default:
		err = json.NewDecoder(resp.Body).Decode(out)
	}
	if err != nil {
		if cerr := c.callErr(ctx, rctx, k, err); cerr != err {
			return cerr
		}
		return fmt.Errorf("agent: decode answer to %s %s: %w", k.method, k.path, err)
	}
	return nil
}

// notSentError is a failure before the request was sent (the handshake's):
// the agent did nothing of it. It reads as the error it wraps.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// send sends a request and returns a 2xx response and the request's context;
// the caller reads and closes its body, then calls release (which ends the
// request's deadline and pings).
func (c *Client) send(ctx context.Context, k call) (*sockhttp.Response, context.Context, func(), error) {
	if k.drive {
		if err := c.checkVersion(ctx); err != nil {
			var ve *AgentVersionError
			if errors.As(err, &ve) {
				return nil, nil, nil, err
			}
			return nil, nil, nil, &notSentError{err}
		}
	}
	req := &sockhttp.Request{Method: k.method, Path: k.path}
	if k.body != nil {
		b, err := json.Marshal(k.body)
		if err != nil {
			return nil, nil, nil, err
		}
		req.Body = b
		req.Header = append(req.Header, [2]string{"Content-Type", "application/json"})
	}
	if !k.anyAPI {
		req.Header = append(req.Header, [2]string{agentapi.HeaderAPI, strconv.Itoa(agentapi.APIVersion)})
	}
	if c.version != "" {
		req.Header = append(req.Header, [2]string{agentapi.HeaderVersion, c.version})
	}
	cctx, cancel := context.WithCancelCause(ctx)
	rctx, cancelT := cctx, context.CancelFunc(func() {})
	if !k.stream {
		rctx, cancelT = context.WithTimeoutCause(cctx, c.timeout+k.bound, c.notAnswering(k))
	}
	stop := func() {}
	if k.long() {
		stop = c.ping(rctx, k, cancel)
	}
	release := func() { stop(); cancelT(); cancel(nil) }
	var resp *sockhttp.Response
	var err error
	if k.stream {
		// The head must come within the answer time even when the body is
		// a stream without end.
		t := time.AfterFunc(c.timeout, func() { cancel(c.notAnswering(k)) })
		resp, err = c.hc.Do(rctx, req)
		t.Stop()
	} else {
		resp, err = c.hc.Do(rctx, req)
	}
	if err != nil {
		release()
		return nil, nil, nil, c.callErr(ctx, rctx, k, err)
	}
	if resp.StatusCode/100 != 2 {
		defer release()
		defer resp.Body.Close()
		var ae agentapi.APIError
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &ae) != nil || ae.Error == "" {
			ae.Error = strings.TrimSpace(string(b))
		}
		return nil, nil, nil, &APIError{Code: resp.StatusCode, Message: ae.Error}
	}
	return resp, rctx, release, nil
}

// notAnswering is the cause a request's deadline carries.
func (c *Client) notAnswering(k call) error {
	return &NotAnsweringError{Request: k.method + " " + strings.SplitN(k.path, "?", 2)[0], Timeout: c.timeout + k.bound}
}

// callErr turns a failed request into what it means: the caller's own context
// done (Ctrl-C) wins; then an agent that does not answer; then one that does
// not run, unless a live process still holds its lock (its socket is gone).
func (c *Client) callErr(ctx, rctx context.Context, k call, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("agent: %s %s: %w", k.method, k.path, context.Cause(ctx))
	}
	var na *NotAnsweringError
	if errors.As(context.Cause(rctx), &na) {
		n := *na
		n.Pid = c.lockHolder()
		return &n
	}
	if errors.Is(err, ErrAgentDown) {
		if pid := c.lockHolder(); pid > 0 {
			return &NotAnsweringError{Pid: pid, Request: k.method + " " + strings.SplitN(k.path, "?", 2)[0],
				Why: fmt.Sprintf("it runs, but its socket %s does not take connections (%v)", c.socket, errors.Unwrap(err))}
		}
		return fmt.Errorf("%w (socket %s)", ErrAgentDown, c.socket)
	}
	return fmt.Errorf("agent: %s %s: %w", k.method, k.path, err)
}

// lockHolder is the pid of the live agent of the folder, 0 when none.
func (c *Client) lockHolder() int {
	pid, _ := agentapi.AgentLockHolder(c.dir)
	return pid
}

// ping asks the agent for its status every timeout while a long request runs,
// and ends the request (cancel, with a NotAnsweringError) when one goes
// unanswered: a stop that may take a minute must not take a minute to learn
// that the agent is wedged.
func (c *Client) ping(ctx context.Context, k call, cancel context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(c.timeout)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeoutCause(ctx, c.timeout, c.notAnswering(call{method: "GET", path: "/v1/status"}))
			resp, err := c.hc.Do(pctx, &sockhttp.Request{Method: "GET", Path: "/v1/status"})
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			cause := context.Cause(pctx)
			pcancel()
			var na *NotAnsweringError
			if err != nil && ctx.Err() == nil && errors.As(cause, &na) {
				n := *na
				n.Request = fmt.Sprintf("a status ping during %s %s", k.method, strings.SplitN(k.path, "?", 2)[0])
				cancel(&n)
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func daemonPath(name string, verb ...string) string {
	p := "/v1/daemons/" + url.PathEscape(name)
	for _, v := range verb {
		p += "/" + v
	}
	return p
}

// Status returns the agent's status: itself and every daemon it hosts.
func (c *Client) Status(ctx context.Context) (agentapi.AgentStatus, error) {
	var st agentapi.AgentStatus
	err := c.do(ctx, call{method: "GET", path: "/v1/status", anyAPI: true}, agentStatusBody{&st})
	if err == nil {
		c.mu.Lock()
		c.agent = &st
		c.mu.Unlock()
	}
	return st, err
}

// StatusBrief is Status without what beadsctl status does not show
// (agentapi.AgentStatus.Brief): half the JSON to decode. An agent of an
// older version answers all of it.
func (c *Client) StatusBrief(ctx context.Context) (agentapi.AgentStatus, error) {
	var st agentapi.AgentStatus
	err := c.do(ctx, call{method: "GET", path: "/v1/status?brief=1", anyAPI: true}, agentStatusBody{&st})
	return st, err
}

// PutResult is what the agent did with a spec.
type PutResult = agentapi.PutResult

// Put converges the daemon spec.Name to spec: created and started when new,
// updated in place, or restarted when the change needs it.
func (c *Client) Put(ctx context.Context, spec agentapi.Spec) (PutResult, error) {
	var res PutResult
	c.markStarted(spec.Name)
	err := c.do(ctx, call{method: "PUT", path: daemonPath(spec.Name), body: spec, bound: longBound, drive: true}, &res)
	return res, err
}

// Delete stops the daemon gracefully and forgets it.
func (c *Client) Delete(ctx context.Context, name string) (agentapi.Status, error) {
	return c.verb(ctx, "DELETE", name, "", longBound, false) // destroy works across versions
}

// Restart restarts the daemon gracefully (reason "manual").
func (c *Client) Restart(ctx context.Context, name string) (agentapi.Status, error) {
	c.markStarted(name)
	return c.verb(ctx, "POST", name, "restart", longBound, true)
}

// Stop stops the daemon and keeps it stopped; it returns once the process is gone.
func (c *Client) Stop(ctx context.Context, name string) (agentapi.Status, error) {
	return c.verb(ctx, "POST", name, "stop", longBound, true)
}

// Start starts a stopped or errored daemon.
func (c *Client) Start(ctx context.Context, name string) (agentapi.Status, error) {
	c.markStarted(name)
	return c.verb(ctx, "POST", name, "start", 0, true)
}

// markStarted records that a start of name is asked now (before the request:
// the run may end before the answer comes).
func (c *Client) markStarted(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started == nil {
		c.started = map[string]time.Time{}
	}
	c.started[name] = time.Now()
}

func (c *Client) verb(ctx context.Context, method, name, verb string, bound time.Duration, drive bool) (agentapi.Status, error) {
	var res agentapi.DaemonResult
	p := daemonPath(name)
	if verb != "" {
		p = daemonPath(name, verb)
	}
	err := c.do(ctx, call{method: method, path: p, bound: bound, drive: drive}, &res)
	return res.Status, err
}

// Wait waits until the daemon is online (and healthy, when healthy is set and it
// has a health check). It returns the last status with a nil error when that was
// reached, ErrDaemonErrored or ErrDaemonStopped when it will not get there by
// itself, ErrWaitTimeout after timeout.
func (c *Client) Wait(ctx context.Context, name string, w WaitFor) (agentapi.Status, error) {
	timeout := w.Timeout
	q := url.Values{"for": {"online"}, "timeout": {timeout.String()}}
	if w.Healthy {
		q.Set("healthy", "1")
	}
	if w.NotPid > 0 {
		q.Set("not_pid", strconv.Itoa(w.NotPid))
	}
	if w.Settle > 0 {
		q.Set("settle", w.Settle.String())
	}
	c.mu.Lock()
	since, ok := c.started[name]
	c.mu.Unlock()
	if ok {
		q.Set("since", since.UTC().Format(time.RFC3339Nano))
	}
	var res agentapi.WaitResult
	if err := c.do(ctx, call{method: "GET", path: daemonPath(name, "wait") + "?" + q.Encode(), bound: min(timeout+w.Settle, agentapi.MaxWait), drive: true}, &res); err != nil {
		return res.Status, err
	}
	switch res.Result {
	case agentapi.WaitReached:
		return res.Status, nil
	case agentapi.WaitTimeout:
		return res.Status, fmt.Errorf("%w %q after %v (state %s)", ErrWaitTimeout, name, timeout, res.Status.State)
	case agentapi.WaitErrored:
		return res.Status, fmt.Errorf("%w: %s", ErrDaemonErrored, res.Status.Reason)
	case agentapi.WaitStopped:
		return res.Status, ErrDaemonStopped
	case agentapi.WaitBlocked:
		return res.Status, fmt.Errorf("%w: %s", ErrDependencyFailed, res.Status.Reason)
	case agentapi.WaitExited:
		return res.Status, exitedError(res.Status)
	}
	return res.Status, fmt.Errorf("%w: %q", errUnexpectedWait, res.Result)
}

// FlushLogs asks the agent to empty a daemon's log files in place (through its
// log writer, so no later line is lost) and returns the paths emptied.
func (c *Client) FlushLogs(ctx context.Context, name string) ([]string, error) {
	var res agentapi.FlushResult
	if err := c.do(ctx, call{method: "POST", path: daemonPath(name, "logs", "flush"), drive: true}, &res); err != nil {
		return nil, err
	}
	if res.Error != "" {
		return res.Flushed, errors.New(res.Error)
	}
	return res.Flushed, nil
}

// EventStream is the agent's push of events as they happen (Client.FollowEvents).
type EventStream struct {
	dec     *json.Decoder
	release func()
	body    io.Closer
}

// Next returns the next event; io.EOF once the agent stopped (its last event
// is agent-stop).
func (s *EventStream) Next() (agentapi.Event, error) {
	var ev agentapi.Event
	err := s.dec.Decode(&ev)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return ev, err
}

// Close ends the stream.
func (s *EventStream) Close() {
	s.body.Close()
	s.release()
}

// FollowEvents subscribes to the events of daemon ("" for all) from now on:
// once it returns, every event the agent records reaches the stream (what was
// recorded before is in the events file, agentapi.ReadEvents).
func (c *Client) FollowEvents(ctx context.Context, daemon string) (*EventStream, error) {
	path := "/v1/events"
	if daemon != "" {
		path += "?daemon=" + url.QueryEscape(daemon)
	}
	resp, _, release, err := c.send(ctx, call{method: "GET", path: path, stream: true})
	if err != nil {
		return nil, err
	}
	return &EventStream{dec: json.NewDecoder(resp.Body), release: release, body: resp.Body}, nil
}

// Metrics returns the agent's metrics in the Prometheus text format.
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	k := call{method: "GET", path: "/v1/metrics"}
	resp, rctx, release, err := c.send(ctx, k)
	if err != nil {
		return nil, err
	}
	defer release()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, c.callErr(ctx, rctx, k, err)
	}
	return b, nil
}

// SetMetricsListen makes the agent serve its metrics on addr ("" stops it).
// An address the agent cannot bind is an error; nothing else changes.
func (c *Client) SetMetricsListen(ctx context.Context, addr string) (string, error) {
	var res agentapi.MetricsListenResult
	body := struct {
		Listen string `json:"listen"`
	}{addr}
	if err := c.do(ctx, call{method: "PUT", path: "/v1/metrics/listen", body: body, drive: true}, &res); err != nil {
		return "", err
	}
	if res.Error != "" {
		return res.Listen, errors.New(res.Error)
	}
	return res.Listen, nil
}

// Shutdown asks the agent to stop every daemon and exit; it returns once the
// daemons are stopped.
func (c *Client) Shutdown(ctx context.Context) error {
	err := c.do(ctx, call{method: "POST", path: "/v1/shutdown", bound: longBound, anyAPI: true}, nil)
	if err == nil {
		c.mu.Lock()
		c.agent = nil // the next agent is asked anew
		c.mu.Unlock()
	}
	return err
}

// AgentCommand is how StartAgentWith starts an agent.
type AgentCommand struct {
	// Path is the executable; Args its argv with Args[0], to which
	// "--dir DIR" is appended.
	Path string
	Args []string
	// Version, when set, is the version the agent must report; another one
	// is shut down again and ErrAgentVersion returned.
	Version string
}

// ErrAgentVersion means the agent binary is not the CLI's version.
var ErrAgentVersion = errors.New("agent binary of another version")

// LeanAgentName is the agent's binary that apply starts when it sits beside
// beadsctl (see cmd/beadsctl-agent).
const LeanAgentName = agentapi.LeanAgentName

// LeanAgent returns the command for the lean agent beside the beadsctl binary
// exe, and false when there is none.
func LeanAgent(exe, version string) (AgentCommand, bool) {
	name := LeanAgentName
	if filepath.Ext(exe) == ".exe" {
		name += ".exe"
	}
	p := filepath.Join(filepath.Dir(exe), name)
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return AgentCommand{}, false
	}
	return AgentCommand{Path: p, Args: []string{LeanAgentName}, Version: version}, true
}

// StartAgent starts `beadsctl agent --dir dir` (exe is the beadsctl binary,
// normally os.Executable()): StartAgentWith for that command.
func StartAgent(ctx context.Context, dir, exe string) error {
	return StartAgentWith(ctx, dir, AgentCommand{Path: exe, Args: []string{"beadsctl", "agent"}})
}

// StartAgentWith starts an agent for dir detached in its own session, with
// stdin from /dev/null and its output appended to .beadsctl/agent.log, and
// waits until it answers (or fails, or ctx is done). It does not wait for the
// agent to exit.
func StartAgentWith(ctx context.Context, dir string, ac AgentCommand) error {
	exe := ac.Path
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	state := filepath.Join(abs, agentapi.StateDir)
	if err := os.MkdirAll(state, 0o700); err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	logPath := filepath.Join(state, "agent.log")
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND|atomicfile.NoFollow, 0o600)
	if err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	defer logf.Close()

	cmd := &exec.Cmd{
		Path:        exe,
		Args:        append(append([]string{}, ac.Args...), "--dir", abs),
		Dir:         abs,
		Stdout:      logf,
		Stderr:      logf,
		SysProcAttr: agentapi.DetachedSysProcAttr(),
		// A minimal environment: the agent's daemons take theirs from their
		// specs on top of this base, and nothing else of ours (an exported
		// token) is left in the agent for `ps e` to show.
		Env: agentapi.AgentEnv(os.Environ()),
	}
	var readyR *os.File
	if agentapi.ReadyPipeSupported {
		r, w, err := os.Pipe()
		if err != nil {
			return fmt.Errorf("start agent: %w", err)
		}
		defer r.Close()
		readyR = r
		cmd.ExtraFiles = []*os.File{w}
		cmd.Env = append(cmd.Env, agentapi.AgentReadyFDEnv+"=3")
		defer w.Close()
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if len(cmd.ExtraFiles) > 0 {
		cmd.ExtraFiles[0].Close() // the child holds its own copy
	}

	ready := make(chan bool, 1)
	if readyR != nil {
		go func() {
			line, _ := bufio.NewReader(readyR).ReadString('\n')
			ready <- strings.TrimSpace(line) == "ready"
		}()
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client := Dial(abs)
	defer client.Close()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ok := <-ready:
			if !ok {
				return agentFailed(exited, logPath)
			}
			as, err := client.Status(ctx)
			if err != nil {
				return err
			}
			return awaitRefused(ctx, checkAgentVersion(ctx, client, as, ac.Version), exited)
		case <-tick.C:
			if readyR != nil {
				continue // the pipe says when; the tick only serves Windows
			}
			if as, err := client.Status(ctx); err == nil {
				return awaitRefused(ctx, checkAgentVersion(ctx, client, as, ac.Version), exited)
			}
		case err := <-exited:
			exited <- err
			return agentFailed(exited, logPath)
		case <-ctx.Done():
			return fmt.Errorf("start agent: no answer on %s: %w", client.SocketPath(), ctx.Err())
		}
	}
}

// agentFailed describes an agent that exited before it was ready, with the end
// of its log.
// awaitRefused waits, after an agent of another version was shut down, until
// that process has exited and released the folder, so that the caller can
// start another agent at once.
func awaitRefused(ctx context.Context, err error, exited <-chan error) error {
	if errors.Is(err, ErrAgentVersion) {
		select {
		case <-exited:
		case <-ctx.Done():
		}
	}
	return err
}

// checkAgentVersion shuts down an agent that is not of the wanted version.
func checkAgentVersion(ctx context.Context, client *Client, as agentapi.AgentStatus, want string) error {
	if want == "" || as.Version == want {
		return nil
	}
	if err := client.Shutdown(ctx); err != nil {
		return fmt.Errorf("%w: it reports %s, beadsctl is %s; and it did not shut down: %v", ErrAgentVersion, as.Version, want, err)
	}
	return fmt.Errorf("%w: it reports %s, beadsctl is %s", ErrAgentVersion, as.Version, want)
}

func agentFailed(exited <-chan error, logPath string) error {
	var why string
	select {
	case err := <-exited:
		if err != nil {
			why = err.Error()
		} else {
			why = "exit status 0"
		}
	case <-time.After(5 * time.Second):
		why = "not ready"
	}
	tail := logfile.Tail(logPath, 5)
	if len(tail) > 0 {
		return fmt.Errorf("start agent: %s: %s", why, strings.Join(tail, "\n"))
	}
	return fmt.Errorf("start agent: %s (see %s)", why, logPath)
}

// exitHow says how a run ended ("exit code 1", "killed by SIGKILL") and
// when ("3ms after it started", "at once").
func exitHow(e *agentapi.Exit) (how, when string) {
	how = fmt.Sprintf("exit code %d", e.Code)
	if e.Signal != "" {
		how = "killed by " + e.Signal
	}
	when = fmt.Sprintf("%s after it started", e.Uptime.Round(time.Millisecond))
	if e.Uptime < time.Millisecond {
		when = "at once"
	}
	return how, when
}

// exitedError says how the run a wait was for ended: "daemon exited (exit
// code 1) 3ms after it started; restart in 5s".
func exitedError(s agentapi.Status) error {
	e := s.LastExit
	if e == nil {
		return ErrDaemonExited
	}
	how, when := exitHow(e)
	err := fmt.Errorf("%w (%s) %s", ErrDaemonExited, how, when)
	if s.Reason != "" {
		err = fmt.Errorf("%w; the agent: %s", err, s.Reason)
	}
	return err
}
