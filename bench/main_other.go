//go:build !linux

// Command bench measures beadsctl against PM2 (Linux only: it reads /proc).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "bench: Linux only (it reads process facts from /proc)")
	os.Exit(1)
}
