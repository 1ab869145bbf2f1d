# Five different mistakes, one diagnostic each (TestFiveMistakes, validate_five_mistakes.txtar).
daemon "beads" {
  command   = "bd"
  args      = ["daemon", "--start", "--foreground"]
  intervall = "5s"

  restart {
    policy = "alway"
  }

  limits {
    memory = "1.5G"
  }

  stop {
    signal = "SIGTREM"
  }
}

env "production" {
  daemon "beadz" {
    limits {
      memory = "300M"
    }
  }
}
