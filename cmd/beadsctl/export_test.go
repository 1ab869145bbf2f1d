package main

import "flag"

// update regenerates golden files and testscript outputs: go test ./cmd/beadsctl -update
var update = flag.Bool("update", false, "update golden files")
