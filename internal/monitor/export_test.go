package monitor

import "flag"

// update regenerates golden files: go test ./internal/monitor -update
var update = flag.Bool("update", false, "update golden files")
