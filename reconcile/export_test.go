package reconcile

import "flag"

// update regenerates golden files: go test ./reconcile -update
//
//lint:ignore U1000 declared once per package dir (STYLE.md §8), whether or not a golden test uses it yet
var update = flag.Bool("update", false, "update golden files")
