package supervisor

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
)

// tailWindow bounds how far from the end TailFile reads.
const tailWindow = 1 << 20

// TailFile returns the last n lines of a file (nil when it does not exist).
// It reads backwards from the end in blocks, at most the last MiB; a line cut by
// that bound is dropped. A final line without a newline counts as a line, and
// "\r\n" endings are trimmed.
func TailFile(path string, n int) []string {
	if n <= 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil || size == 0 {
		return nil
	}
	const block = 8 << 10
	var chunks [][]byte // backwards
	newlines, off := 0, size
	for off > 0 && size-off < tailWindow && newlines <= n {
		step := min(int64(block), off, tailWindow-(size-off))
		off -= step
		chunk := make([]byte, step)
		if _, err := f.ReadAt(chunk, off); err != nil && !errors.Is(err, io.EOF) {
			return nil
		}
		chunks = append(chunks, chunk)
		// n lines need n newlines before the last line's start (n+1 counting the
		// final newline, when present).
		newlines += bytes.Count(chunk, []byte{'\n'})
	}
	slices.Reverse(chunks)
	buf := bytes.Join(chunks, nil)
	buf = bytes.TrimSuffix(buf, []byte{'\n'})
	lines := strings.Split(string(buf), "\n")
	if off > 0 && len(lines) > 0 {
		lines = lines[1:] // the first one is (maybe) cut
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	if len(lines) == 0 {
		return nil
	}
	return lines
}
