package reconcile

import "flag"

// update regenerates golden files: go test ./reconcile -update
var update = flag.Bool("update", false, "update golden files")
