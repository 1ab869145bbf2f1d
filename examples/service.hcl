# beadsctl supervises any long-running command, not only bd. Here a small web
# server beside the Beads daemon, with an exec health check and rotated logs.

daemon "beads" {
  command  = "bd"
  args     = ["daemon", "--start", "--foreground"]
  interval = "5s"
}

daemon "preview" {
  command = "python3"
  args    = ["-m", "http.server", env("PREVIEW_PORT", "8080"), "--bind", "127.0.0.1"]
  dir     = "site"
  environment = {
    PYTHONUNBUFFERED = "1"
    API_TOKEN        = env("PREVIEW_API_TOKEN", "")
  }
  sensitive = ["API_TOKEN"]

  restart {
    policy = "on-failure"
    delay  = "2s"
  }

  stop {
    signal  = "SIGINT"
    timeout = "3s"
  }

  logs {
    timestamps  = true
    date_format = "2006-01-02T15:04:05Z07:00" # a Go layout works too
    rotate {
      max_size = "10M"
      keep     = 5
      compress = true
    }
  }

  health {
    check   = "exec"
    command = ["curl", "-fsS", "-o", "/dev/null", format("http://127.0.0.1:%s/", env("PREVIEW_PORT", "8080"))]
  }
}

env "production" {
  daemon "preview" {
    restart {
      policy = "always"
    }
    limits {
      memory = "512M"
    }
  }
}
