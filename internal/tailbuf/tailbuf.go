// Package tailbuf is a bounded io.Writer that keeps only the last bytes
// written: what the project keeps of a child's output (an exec health check,
// a bd command run to verify a migration) so that no child can fill memory.
// It is a leaf: it imports nothing of beadsctl's.
package tailbuf

import (
	"bytes"
	"sync"
)

// Buffer keeps the last Max bytes written to it; it is safe for concurrent
// writers (a child's stdout and stderr).
type Buffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

// New returns a Buffer that keeps the last max bytes.
func New(max int) *Buffer { return &Buffer{max: max} }

// Write keeps the tail of what was written; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if len(p) >= b.max {
		b.buf = append(b.buf[:0], p[len(p)-b.max:]...)
		return n, nil
	}
	if over := len(b.buf) + len(p) - b.max; over > 0 {
		b.buf = b.buf[:copy(b.buf, b.buf[over:])]
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

// Bytes returns a copy of what is kept.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf)
}

// String is what is kept as text, invalid UTF-8 (a rune cut at the start) dropped.
func (b *Buffer) String() string { return string(bytes.ToValidUTF8(b.Bytes(), nil)) }
