# One bd daemon per repository, all supervised from one place. Put this file
# in a folder beside the repositories; dir is relative to this file's folder.
# Log files default to .beadsctl/logs/<daemon>.{out,err}.log here, so each
# daemon gets its own.

daemon "api" {
  command  = "bd"
  args     = ["daemon", "--start", "--foreground"]
  interval = "5s"
  dir      = "../api"

  limits {
    memory = "200M"
  }
}

daemon "web" {
  command  = "bd"
  args     = ["daemon", "--start", "--foreground"]
  interval = "10s"
  dir      = "../web"

  restart {
    delay     = "2s"
    backoff   = "exponential"
    max_delay = "1m"
  }
}

daemon "docs" {
  command = "bd"
  args    = ["daemon", "--start", "--foreground"]
  dir     = "../docs"

  logs {
    out   = "../docs/.beads/beadsctl-out.log"
    error = "../docs/.beads/beadsctl-error.log"
  }
}

# A busier machine in CI polls less often.
env "ci" {
  daemon "api" {
    interval = "30s"
  }
  daemon "web" {
    interval = "30s"
  }
}
