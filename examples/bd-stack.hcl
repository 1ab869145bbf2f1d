# A bd 1.x stack in order: the Dolt SQL server that bd's server mode needs,
# then beads-ui (the web UI of `bdui`) and MCP Agent Mail (the HTTP server
# coding agents talk to), each started only once the Dolt server answers SQL.
# Put it in the workspace (the folder holding .beads/, `bd init --server`).
#
#   beadsctl plan      # shows "Start order: 1. beads-dolt  2. agent-mail, beads-ui (waits for beads-dolt (healthy))"
#   beadsctl apply     # brings them up in that order; destroy stops them in reverse
#
# Commands, flags, ports and health endpoints are the projects' own:
# - beads-ui (npm i -g beads-ui): `bdui start` forks its server into the
#   background (`node <package>/server/index.js`, pid in .beads/.bdui/); a
#   supervisor runs that server in the foreground instead. It listens on
#   127.0.0.1:3000 (--host/--port, or HOST/PORT) and answers GET /healthz
#   with 200 {"ok":true}. It runs `bd` for every request, so it needs the
#   Dolt server, but not the same Dolt process: on_restart = "ignore".
# - MCP Agent Mail (github.com/Dicklesworthstone/mcp_agent_mail, installed
#   with uv in its checkout): `python -m mcp_agent_mail.cli serve-http
#   --host --port` serves MCP on http://127.0.0.1:8765/mcp/ and GET
#   /health/readiness (200 {"status":"ready"} once its database answers, else
#   503; the bearer token does not guard /health/). Its settings come from
#   the env file below; HTTP_BEARER_TOKEN is a secret: never shown in plans,
#   only a keyed hash of it in .beadsctl/state.json.

daemon "beads-dolt" {
  dolt_server {
    workspace             = "."
    disable_bd_auto_start = true # bd must not start a rival or kill ours
  }
  # health: check = "sql" by default (the project's database and its id)
  limits { memory = "2G" }
  restart {
    delay     = "1s"
    backoff   = "exponential"
    max_delay = "30s"
  }
  stop { timeout = "10s" }
}

daemon "beads-ui" {
  command = "sh"
  args    = ["-c", "exec node \"$(npm root -g)/beads-ui/server/index.js\" --host 127.0.0.1 --port 3000"]
  depends_on "beads-dolt" {
    condition  = "healthy"
    on_restart = "ignore" # keeps running while Dolt restarts; bd calls retry
  }
  health {
    check    = "http"
    url      = "http://127.0.0.1:3000/healthz"
    status   = [200]
    body     = "\"ok\":\\s*true"
    interval = "10s"
    timeout  = "2s"
  }
  limits { memory = "300M" }
  restart {
    delay   = "1s"
    backoff = "exponential"
  }
}

daemon "agent-mail" {
  command  = "uv"
  args     = ["run", "python", "-m", "mcp_agent_mail.cli", "serve-http", "--host", "127.0.0.1", "--port", "8765"]
  dir      = "../mcp_agent_mail" # its checkout
  env_file = "agent-mail.env"    # HTTP_BEARER_TOKEN=..., DATABASE_URL=..., STORAGE_ROOT=...
  environment = {
    HTTP_PATH = "/mcp/"
  }
  sensitive = ["HTTP_BEARER_TOKEN"]
  depends_on "beads-dolt" {
    condition  = "healthy"
    on_restart = "ignore"
  }
  health {
    check    = "http"
    url      = "http://127.0.0.1:8765/health/readiness"
    status   = [200]
    interval = "10s"
    timeout  = "3s"
  }
  restart {
    delay   = "2s"
    backoff = "exponential"
  }
}
