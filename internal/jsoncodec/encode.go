package jsoncodec

import (
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Writer writes JSON as encoding/json's Encoder does with SetIndent("",
// Indent) (Indent "": as json.Marshal): HTML characters escaped, an empty
// object or array as {} or []. The first error sticks.
type Writer struct {
	B      []byte
	Indent string
	err    error
	// n counts the members of each open object or array, outermost first.
	n []int
}

// Err is the first error met (a float that is NaN or infinite, a time out
// of RFC 3339's range).
func (w *Writer) Err() error { return w.err }

func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *Writer) newline() {
	w.B = append(w.B, '\n')
	for range w.n {
		w.B = append(w.B, w.Indent...)
	}
}

// next starts a member of the innermost object or array.
func (w *Writer) next() {
	if len(w.n) == 0 {
		return
	}
	if w.n[len(w.n)-1] > 0 {
		w.B = append(w.B, ',')
	}
	w.n[len(w.n)-1]++
	if w.Indent != "" {
		w.newline()
	}
}

// Open starts an object ('{') or an array ('[').
func (w *Writer) Open(c byte) {
	w.B = append(w.B, c)
	w.n = append(w.n, 0)
}

// Close ends the innermost object ('}') or array (']').
func (w *Writer) Close(c byte) {
	n := w.n[len(w.n)-1]
	w.n = w.n[:len(w.n)-1]
	if n > 0 && w.Indent != "" {
		w.newline()
	}
	w.B = append(w.B, c)
}

// Key starts an object member named k; its value is written next.
func (w *Writer) Key(k string) {
	w.next()
	w.B = AppendString(w.B, k)
	w.B = append(w.B, ':')
	if w.Indent != "" {
		w.B = append(w.B, ' ')
	}
}

// Elem starts an array element; it is written next.
func (w *Writer) Elem() { w.next() }

// String writes s.
func (w *Writer) String(s string) { w.B = AppendString(w.B, s) }

// Int writes n.
func (w *Writer) Int(n int64) { w.B = strconv.AppendInt(w.B, n, 10) }

// Uint writes n.
func (w *Writer) Uint(n uint64) { w.B = strconv.AppendUint(w.B, n, 10) }

// Bool writes b.
func (w *Writer) Bool(b bool) { w.B = strconv.AppendBool(w.B, b) }

// Null writes null.
func (w *Writer) Null() { w.B = append(w.B, "null"...) }

// Float64 writes f as encoding/json does (ES6's number format); NaN and
// the infinities are an error.
func (w *Writer) Float64(f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		w.fail(fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, 64)))
		w.B = append(w.B, '0')
		return
	}
	b := w.B
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	w.B = b
}

// Time writes t as its MarshalJSON does (RFC 3339 with nanoseconds); a
// year out of [0,9999] is an error.
func (w *Writer) Time(t time.Time) {
	n := len(w.B)
	w.B = append(w.B, '"')
	b, err := t.AppendText(w.B)
	if err != nil {
		w.fail(fmt.Errorf("json: error calling MarshalJSON for type time.Time: %w", err))
		w.B = append(w.B[:n], `""`...)
		return
	}
	w.B = append(b, '"')
}

const hex = "0123456789abcdef"

// AppendString appends s quoted as encoding/json quotes it with HTML
// escaping (its default): <, > and & as \u003c..., U+2028 and U+2029
// escaped, invalid UTF-8 as \ufffd.
func AppendString(dst []byte, src string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(src); {
		if b := src[i]; b < utf8.RuneSelf {
			if htmlSafe(b) {
				i++
				continue
			}
			dst = append(dst, src[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				// bytes < 0x20 but those above, and <, > and &
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(src[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, src[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, src[start:]...)
	dst = append(dst, '"')
	return dst
}

// htmlSafe reports whether the ASCII byte b is written as it is.
func htmlSafe(b byte) bool {
	return b >= ' ' && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
}
