# beads.hcl: the Beads daemon of this repository, supervised by beadsctl.
# It replaces the PM2 app of ecosystem.config.cjs. Check it with `beadsctl validate`,
# see what would change with `beadsctl plan`, converge with `beadsctl apply`.

daemon "beads" {
  command  = "bd"
  args     = ["daemon", "--start", "--foreground"]
  interval = "5s" # appended as --interval 5s
  environment = {
    BD_AUTO_START_DAEMON = "true"
  }

  restart {
    policy       = "always"
    delay        = "5s"
    max_restarts = 10
    min_uptime   = "10s"
  }

  limits {
    memory = "200M"
  }

  stop {
    timeout = "5s"
  }

  logs {
    out         = ".beads/beadsctl-out.log"
    error       = ".beads/beadsctl-error.log"
    combined    = ".beads/beadsctl.log"
    timestamps  = true
    date_format = "YYYY-MM-DD HH:mm:ss Z"
  }
}

env "development" {
  daemon "beads" {
    environment = { NODE_ENV = "development" }
  }
}

env "production" {
  daemon "beads" {
    environment = { NODE_ENV = "production" }
    limits {
      memory = "300M"
    }
  }
}
