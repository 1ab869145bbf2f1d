package supervisor

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/doltsql"
)

// This file keeps a bd 1.x Dolt server where bd looks for it (Spec.Dolt).
// The order matters, and mirrors bd's own Start and Stop:
//   - before a start, dolt-server.lock is taken (bd's start lock), so that a
//     bd command that finds no server meanwhile waits instead of starting one;
//   - once the child accepts connections, dolt-server.port then
//     dolt-server.pid are written atomically and the lock released: from
//     then on every bd command adopts our child (its pid is dolt itself, its
//     command line "dolt sql-server"), and one that waited on the lock during
//     the start adopts it the moment it can answer (bd does not wait for an
//     adopted server to listen, so the files must not come earlier);
//   - after a crash, the lock is taken before the files are removed and held
//     through the restart delay;
//   - before each stop signal the working set is committed (bd dolt stop's
//     flush), bounded by the stop timeout, its outcome kept in Status;
//   - when the run is over the files are removed, only if they still name it.

// doltLockWait bounds the wait for dolt-server.lock before a start: a bd
// command holds it only while it starts its own server (up to its 10 s ready
// timeout); past this we start anyway and say so.
const doltLockWait = 3 * time.Second

func doltFiles(spec Spec) bd.ServerFiles { return bd.ServerFiles{Dir: spec.Dolt.ServerDir} }

// doltLock takes dolt-server.lock unless the loop holds it already.
func (l *loop) doltLock(ctx context.Context, spec Spec, wait time.Duration) {
	if spec.Dolt == nil || l.doltUnlock != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	unlock, err := doltFiles(spec).LockServer(ctx)
	if err != nil {
		l.d.log.Warn("dolt server lock not taken", "path", doltFiles(spec).LockPath(), "error", err)
		return
	}
	l.doltUnlock = unlock
}

// doltUnlockNow releases dolt-server.lock if the loop holds it.
func (l *loop) doltUnlockNow() {
	if l.doltUnlock != nil {
		l.doltUnlock()
		l.doltUnlock = nil
	}
}

// doltStarted records the new run; bd's files follow once it accepts
// connections (doltReady), and the lock is held until then.
func (l *loop) doltStarted(r *run) {
	if r.spec.Dolt == nil {
		return
	}
	ds := &DoltStatus{Port: r.spec.Dolt.Port, ServerDir: r.spec.Dolt.ServerDir}
	l.d.mu.Lock()
	if old := l.d.st.Dolt; old != nil {
		ds.LastFlush = old.LastFlush
	}
	l.d.st.Dolt = ds
	l.d.mu.Unlock()
}

// evDoltReady is the event of watchDoltReady: r's server accepts connections
// (or doltReadyWait passed).
const evDoltReady = "dolt-ready"

// doltReadyWait bounds how long bd commands wait on the lock for a server that
// does not listen: past it the files are written anyway (bd then reports the
// server unreachable instead of waiting forever).
const doltReadyWait = 60 * time.Second

// watchDoltReady reports when r's server first accepts connections.
func (l *loop) watchDoltReady(ctx context.Context, r *run, spec Spec) {
	waitAccepting(ctx, doltAddr(spec), doltReadyWait)
	if ctx.Err() == nil {
		r.acceptingOnce.Do(func() { close(r.accepting) })
		l.report(ctx, event{runID: r.id, reason: evDoltReady})
	}
}

// doltReady writes bd's files for r, whose server now accepts connections,
// then releases the lock: a bd command that waited on it adopts r at once.
// Writing them earlier would let bd adopt a server that refuses its
// connection, and bd does not wait for an adopted server to listen.
func (l *loop) doltReady(r *run) {
	if r == nil || r.spec.Dolt == nil {
		return
	}
	defer l.doltUnlockNow()
	defer r.filesReadyOnce.Do(func() { close(r.filesReady) })
	err := doltFiles(r.spec).Write(r.pid, r.spec.Dolt.Port, atomicfile.Write)
	l.d.mu.Lock()
	if ds := l.d.st.Dolt; ds != nil {
		ds.FilesError = ""
		if err != nil {
			ds.FilesError = err.Error()
		}
	}
	l.d.mu.Unlock()
	if err != nil {
		l.d.log.Error("dolt server files not written: bd commands will not find the server", "error", err)
	}
}

// doltFlush commits the working set of r's server before it is signalled.
func (l *loop) doltFlush(r *run, budget time.Duration) {
	if r.spec.Dolt == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	res, err := doltsql.Flush(ctx, bd.SQLTarget{Addr: doltAddr(r.spec), User: r.spec.Dolt.User})
	f := &Flush{At: time.Now(), Committed: res.Committed, MS: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		f.Error = err.Error()
		l.d.log.Error("dolt flush before stop failed: uncommitted changes may be lost", "pid", r.pid, "error", err)
	} else if len(res.Committed) > 0 {
		l.d.log.Info("dolt working set flushed before stop", "pid", r.pid, "databases", res.Committed)
	}
	l.d.mu.Lock()
	if l.d.st.Dolt == nil {
		l.d.st.Dolt = &DoltStatus{Port: r.spec.Dolt.Port, ServerDir: r.spec.Dolt.ServerDir}
	}
	l.d.st.Dolt.LastFlush = f
	l.d.mu.Unlock()
}

// doltFinished removes bd's files of a run that is over, if they still name it.
func (l *loop) doltFinished(r *run) {
	if r.spec.Dolt == nil {
		return
	}
	if err := doltFiles(r.spec).Remove(r.pid); err != nil {
		l.d.log.Warn("dolt server files left in place", "error", err)
	}
}

func doltAddr(spec Spec) string {
	return net.JoinHostPort(spec.Dolt.Host, strconv.Itoa(spec.Dolt.Port))
}

// waitSQLAccepting holds the health check's start phase until the SQL
// server accepts connections, for at most limit. A Dolt server's readiness is
// already probed by watchDoltReady: the check waits on that, not on a second
// prober; any other address is probed here.
func waitSQLAccepting(ctx context.Context, r *run, spec Spec, limit time.Duration) {
	if spec.Dolt == nil || spec.Health.SQL.Address != doltAddr(spec) {
		waitAccepting(ctx, spec.Health.SQL.Address, limit)
		return
	}
	t := time.NewTimer(max(limit, 0))
	defer t.Stop()
	select {
	case <-r.accepting:
	case <-ctx.Done():
	case <-t.C:
	}
}

// waitAccepting waits until addr accepts TCP connections, probing every
// acceptProbe, for at most limit: the SQL check then runs the moment the
// server listens rather than at the next step of a doubling back-off.
func waitAccepting(ctx context.Context, addr string, limit time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(acceptProbe)
	defer t.Stop()
	for !bd.Accepting(ctx, addr) {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// acceptProbe is the period of the start phase's TCP probe (a refused
// connect on loopback costs microseconds).
const acceptProbe = 2 * time.Millisecond

// checkSQL is the "sql" health check, over c's kept connection (nil: one of
// its own).
func checkSQL(ctx context.Context, spec Spec, c *doltsql.SQLChecker) healthResult {
	h := spec.Health.SQL
	if h == nil || h.Address == "" {
		return unhealthy("sql check has no address")
	}
	if c == nil {
		c = new(doltsql.SQLChecker)
		defer c.Close()
	}
	rep, err := c.Check(ctx, bd.SQLTarget{Addr: h.Address, User: h.User, Databases: h.Databases})
	res := healthResult{Status: "healthy", Healthy: true, DBMS: rep.QueryMS, Version: rep.DoltVersion, SQL: &rep}
	if err != nil {
		res.Healthy, res.Status, res.Message = false, "unhealthy", err.Error()
	}
	return res
}
