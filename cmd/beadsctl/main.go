// Command beadsctl keeps the Beads daemon, and any other long-running command a
// project needs, in the state that beads.hcl declares.
package main

import "os"

func main() { os.Exit(Main()) }
