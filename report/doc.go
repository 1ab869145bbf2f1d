// Package report builds the reports a person reads: the status table (BuildStatusReport), the health
// report of `beadsctl health` (BuildHealthReport, with bd's RPC and version checks and the Dolt
// server's), and the daemons' logs (ReadLogs, LogFollower, FlushLogs). Each is plain data with JSON
// tags; cmd/beadsctl renders it as text or JSON and never computes one itself.
//
// It imports reconcile (the observed live view and the state), schema, supervisor (data types) and
// the internal/ leaves; reconcile does not import it.
package report
