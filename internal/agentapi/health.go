package agentapi

// Health check kinds.
const (
	CheckBeadsRPC = "beads-rpc"
	CheckExec     = "exec"
	CheckTCP      = "tcp"
	CheckSQL      = "sql"
	CheckHTTP     = "http"
	CheckNone     = "none"
)

// HealthChecks are the health check kinds this agent carries out (keep it with
// the kinds above); a spec naming another one is refused (400), never accepted
// and left unchecked.
var HealthChecks = []string{CheckBeadsRPC, CheckExec, CheckTCP, CheckSQL, CheckHTTP, CheckNone}
