# Every kind of block and attribute that resolves without reading the
# environment or another file: the configuration cache's hit must give it
# back exactly (cache_test.go).
daemon "api" {
  command  = "/usr/bin/api"
  args     = ["--port", "8080", ""]
  dir      = "srv"
  environment = { MODE = "prod", EMPTY = "" }
  restart {
    policy       = "on-failure"
    delay        = "2s"
    backoff      = "exponential"
    max_delay    = "30s"
    max_restarts = 4
    min_uptime   = 1500
  }
  limits {
    memory         = "256M"
    check_interval = "500ms"
  }
  stop {
    signal  = "INT"
    timeout = "7s"
  }
  logs {
    combined    = "logs/api.log"
    out         = "logs/api.log"
    error       = "logs/api.log"
    timestamps  = true
    date_format = "2006-01-02T15:04:05Z07:00"
    rotate {
      max_size = "10M"
      keep     = 3
      compress = true
    }
  }
  health {
    check        = "http"
    url          = "http://127.0.0.1:8080/health"
    status       = [200, 204]
    body         = "ok"
    interval     = "10s"
    timeout      = "2s"
    failures     = 2
    online_after = "3s"
  }
  depends_on "db" {
    condition  = "healthy"
    on_restart = "restart"
  }
}
daemon "db" {
  command = "/usr/bin/db"
  environment = {}
  health {
    check   = "tcp"
    address = "127.0.0.1:5432"
  }
}
daemon "migrate" {
  command = "/usr/bin/migrate"
  restart { policy = "once" }
  health {
    check   = "exec"
    command = ["true"]
  }
  logs {
    out   = ""
    error = ""
  }
}
metrics {
  listen = "127.0.0.1:9464"
}
alert "page" {
  on      = ["crash_loop", "errored"]
  command = ["sh", "-c", "cat > /dev/null"]
  window  = "5s"
  timeout = "5s"
}
env "staging" {
  daemon "api" {
    environment = { MODE = "staging" }
    args        = ["--port", "9090"]
  }
}
