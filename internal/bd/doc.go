// Package bd speaks Beads' own protocol and reads and writes the files bd keeps in a workspace's .beads/
// folder, for both generations of bd: the v0.28–v0.49 daemon (its RPC on bd.sock, daemon.lock and its
// holder, stale files, the installed version) and the bd 1.x Dolt SQL server of server mode
// (dolt-server.pid and dolt-server.port, metadata.json, config.yaml, the SQL health check).
//
// It is a leaf: it imports nothing of beadsctl's but other internal/ leaves, and supervisor, reconcile
// and migrate use it. Everything that knows how bd lays out its files or what it says lives here.
//
// A pid read from a bd file or answer is only a claim: StopDaemon signals it (through internal/proc)
// only when ProveHolder proved it holds daemon.lock's flock with the start time it was seen with.
package bd
