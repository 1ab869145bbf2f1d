# bd 1.x has no `bd daemon`: its optional server mode is a Dolt SQL server that
# `bd dolt start` runs in the background (files .beads/dolt-server.{pid,port,log}).
# Supervise the same server in the foreground as a generic command instead, and
# check it with a TCP connect on its port. Stop any server `bd dolt start` left
# running first (`bd dolt stop`).

daemon "dolt" {
  command = "dolt"
  args = [
    "sql-server",
    "--host", "127.0.0.1",
    "--port", env("BEADS_DOLT_PORT", "3307"),
  ]
  dir = ".beads/dolt" # the database bd created; see .beads/dolt-server.log

  restart {
    delay     = "1s"
    backoff   = "exponential"
    max_delay = "30s"
  }

  limits {
    memory = "1G"
  }

  stop {
    signal  = "SIGTERM"
    timeout = "10s"
  }

  logs {
    combined   = ".beads/dolt-server.log"
    out        = ""
    error      = ""
    timestamps = true
  }

  health {
    check    = "tcp"
    address  = format("127.0.0.1:%s", env("BEADS_DOLT_PORT", "3307"))
    interval = "10s"
    timeout  = "2s"
    failures = 3
  }
}
