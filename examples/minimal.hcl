# The least a beads.hcl needs: one bd daemon for the repository holding this
# file. Everything else takes its default (see `beadsctl validate --help`).
daemon "beads" {
  command = "bd"
  args    = ["daemon", "--start", "--foreground"]
}
