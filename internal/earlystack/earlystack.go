// Package earlystack grows the main goroutine's stack once, before the
// packages that need a deep one initialise. A goroutine's stack starts at
// 2 KB and doubles each time a call does not fit: every growth copies the
// stack and, to move its pointers, decodes the stack maps of every frame on
// it from the binary's tables, faulting in their pages. In a short command
// (beadsctl status) the main goroutine grew five times, in initialisers and
// deep in cobra and the JSON decoder; grown once here, while the stack holds
// three frames, it copies almost nothing: status of 50 daemons 3.9 -> 3.2 ms,
// beadsctl version 2.0 -> 1.8 ms (medians of 60 interleaved runs).
//
// It imports nothing, and its import path sorts before those of the modules
// whose initialisers run deep (go-cty, hcl, yaml), so that it initialises
// before them (the Go specification's order: packages sorted by import path,
// each once its imports are initialised). Import it for its side effect.
package earlystack

// size is above what the main goroutine of beadsctl status reaches (32, 64,
// 96 and 256 KB measured the same).
const size = 64 << 10

func init() { grow() }

// grow needs a frame of size bytes: the runtime gives the goroutine a stack
// that holds it (the next power of two above) before grow runs, and the
// garbage collector does not shrink it in a short command (its GC is off).
//
//go:noinline
func grow() {
	var b [size]byte
	touch(b[:])
}

// touch takes b, so that grow's frame must hold it.
//
//go:noinline
func touch(b []byte) { b[0] = 1 }
