package migrate

import "flag"

// update regenerates the golden files: go test ./migrate -update.
var update = flag.Bool("update", false, "rewrite testdata golden files")
