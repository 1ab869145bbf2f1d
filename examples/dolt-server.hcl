# bd 1.x (v0.50 and later) has no daemon: in server mode (`bd init --server`)
# every bd command needs a `dolt sql-server`, and bd starts one itself,
# detached, whenever it finds none. Supervise that server instead, exactly as
# bd expects to find it: beadsctl runs `dolt sql-server -H 127.0.0.1 -P <port>
# --loglevel=warning` in the workspace's data dir (.beads/dolt), writes its pid
# and port into .beads/dolt-server.{pid,port} at every (re)start, so that every
# bd command adopts it, checks it over SQL (the project's database and its
# project id), and commits the working set before every stop (bd dolt stop's
# flush). A server bd started on its own is a `dolt-rival` finding; apply
# --replace-unmanaged (or beadsctl migrate) takes it over.
#
# Everything else comes from the workspace: data dir (dolt_data_dir in
# metadata.json), database and project id, host, and the port (config.yaml
# dolt.port or metadata.json dolt_server_port; else the one in
# dolt-server.port; else one beadsctl chooses and keeps across applies).

daemon "beads-dolt" {
  dolt_server {
    workspace = "." # the folder that holds .beads/

    # port = 3307                # to pin one; bd commands follow it through dolt-server.port
    # shared = true              # bd's shared server (~/.beads/shared-server, port 3308) ...
    # workspaces = ["../a", "."] # ... serving the databases of several workspaces

    # Write dolt.auto-start: false into .beads/config.yaml (a change plan shows
    # and apply makes), so that bd never starts a rival or kills this server.
    disable_bd_auto_start = true
  }

  # Field reports saw orphaned servers of about 2 GB each: bound it.
  limits {
    memory = "2G"
  }

  restart {
    delay     = "1s"
    backoff   = "exponential"
    max_delay = "30s"
  }

  stop {
    timeout = "10s" # after the flush; then SIGKILL to the group
  }
}
