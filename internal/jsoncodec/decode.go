// Package jsoncodec reads and writes JSON without reflection, for the few
// types a command's hot path decodes and encodes (status's agent answer,
// its state summary, status --json): encoding/json's first use of a type
// builds its field tables and encoders by reflection, ~11 % of a status of
// 50 daemons. It reads and writes exactly as encoding/json does for the
// value kinds it offers: its callers' tests compare both on random values.
// It imports nothing of beadsctl.
//
// The string (un)quoting, the float format and the name folding follow Go's
// encoding/json (Copyright 2010 The Go Authors, BSD-style licence).
package jsoncodec

import (
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// Decoder reads one JSON value from a buffer into Go values, as
// encoding/json.Unmarshal would: unknown object keys are skipped, a key
// matches a field's name exactly or else folded (see Object), null leaves a
// scalar or struct as it is and sets a pointer, slice or map to nil, and a
// value of the wrong type is an error. The first error sticks: every read
// after it does nothing.
type Decoder struct {
	b     []byte
	i     int
	depth int
	err   error
	// key holds an object key that had escapes, unquoted; fold a key
	// folded (foldedLower).
	key, fold []byte
	// shared: strings without escapes are cut from b (UnmarshalShared);
	// keyInB: the last key read is a slice of b.
	shared, keyInB bool
}

// Unmarshal decodes b with read, which reads one value of d, as
// encoding/json.Unmarshal: nothing but white space may follow the value.
func Unmarshal(b []byte, read func(d *Decoder)) error {
	return unmarshal(&Decoder{b: b}, read)
}

// UnmarshalShared is Unmarshal, the strings read without escapes (most)
// cut from b's memory rather than allocated each: b must not be written
// again while they are in use (a buffer read for this decoding only). A
// state.json of 1,000 daemons holds ~20,000 strings.
func UnmarshalShared(b []byte, read func(d *Decoder)) error {
	return unmarshal(&Decoder{b: b, shared: true}, read)
}

// DecodeFirstShared is DecodeFirst with UnmarshalShared's strings.
func DecodeFirstShared(b []byte, read func(d *Decoder)) error {
	return decodeFirst(&Decoder{b: b, shared: true}, read)
}

func unmarshal(d *Decoder, read func(d *Decoder)) error {
	read(d)
	if d.err == nil {
		d.ws()
		if d.i < len(d.b) {
			d.syntax("after top-level value")
		}
	}
	return d.err
}

// DecodeFirst decodes the first value of b with read, as
// encoding/json.Decoder.Decode does: what follows the value is not read.
func DecodeFirst(b []byte, read func(d *Decoder)) error {
	return decodeFirst(&Decoder{b: b}, read)
}

func decodeFirst(d *Decoder, read func(d *Decoder)) error {
	d.ws()
	if d.i == len(d.b) {
		return errors.New("json: no value (EOF)")
	}
	read(d)
	return d.err
}

// Err is the first error met.
func (d *Decoder) Err() error { return d.err }

func (d *Decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *Decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.i = len(d.b)
}

// Fail makes err the decoder's error (unless it has one) and ends the
// reading: what a value's own decoder (an UnmarshalJSON) refused.
func (d *Decoder) Fail(err error) { d.fail(err) }

func (d *Decoder) syntax(where string) {
	if d.i >= len(d.b) {
		d.fail(errors.New("json: unexpected end of JSON input"))
		return
	}
	d.fail(fmt.Errorf("json: invalid character %q %s (offset %d)", d.b[d.i], where, d.i))
}

func (d *Decoder) typeErr(want string) {
	if d.err != nil {
		return
	}
	start := d.i
	kind := "value"
	switch d.b[d.i] {
	case '{':
		kind = "object"
	case '[':
		kind = "array"
	case '"':
		kind = "string"
	case 't', 'f':
		kind = "bool"
	case 'n':
		kind = "null"
	default:
		kind = "number"
	}
	d.Skip()
	if d.err == nil {
		d.fail(fmt.Errorf("json: cannot unmarshal %s into Go value of type %s (offset %d)", kind, want, start))
	}
}

// peek skips white space and returns the first byte of the next value, or
// 0 after an error (at the end, or a byte no value begins with, is one).
func (d *Decoder) peek() byte {
	if d.err != nil {
		return 0
	}
	d.ws()
	if d.i >= len(d.b) {
		d.syntax("looking for beginning of value")
		return 0
	}
	switch c := d.b[d.i]; c {
	case '{', '[', '"', 't', 'f', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return c
	}
	d.syntax("looking for beginning of value")
	return 0
}

func (d *Decoder) literal(word string) {
	if len(d.b)-d.i >= len(word) && string(d.b[d.i:d.i+len(word)]) == word {
		d.i += len(word)
		return
	}
	for j := 0; j < len(word); j++ {
		if d.i >= len(d.b) || d.b[d.i] != word[j] {
			d.syntax("in literal " + word)
			return
		}
		d.i++
	}
}

// Null reads a null and reports true when the next value is one; otherwise
// it reads nothing.
func (d *Decoder) Null() bool {
	if d.peek() != 'n' {
		return false
	}
	d.literal("null")
	return d.err == nil
}

// Object reads an object: for each key, field(key) reads its value and
// reports true, or reports false having read nothing for a key it does not
// know. key is valid during the call only. A key field does not know is
// tried again folded as encoding/json folds names (ASCII case, and the
// Unicode folds of K and S: "PID", "Pıd"...) and lower-cased, which matches
// a field named in lower-case ASCII; a key still unknown is skipped. null
// reads nothing (a struct stays as it is); another value is an error.
func (d *Decoder) Object(field func(key string) bool) {
	switch d.peek() {
	case 'n':
		d.literal("null")
		return
	case '{':
	case 0:
		return
	default:
		d.typeErr("struct")
		return
	}
	d.objectKeys(func(k []byte) {
		if field(unsafeString(k)) {
			return
		}
		if f, ok := d.foldedLower(k); ok && field(unsafeString(f)) {
			return
		}
		d.Skip()
	})
}

// objectKeys reads an object whose '{' is next, calling value for each key
// with the value next to read.
func (d *Decoder) objectKeys(value func(key []byte)) {
	if !d.open() {
		return
	}
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		d.depth--
		return
	}
	for d.err == nil {
		d.ws()
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			d.syntax("looking for beginning of object key string")
			return
		}
		k, ascii := d.rawString()
		if d.err != nil {
			return
		}
		k = d.unquoteKey(k, ascii)
		d.ws()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			d.syntax("after object key")
			return
		}
		d.i++
		value(k)
		if d.err != nil {
			return
		}
		d.ws()
		if d.i >= len(d.b) {
			d.syntax("after object key:value pair")
			return
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			d.depth--
			return
		default:
			d.syntax("after object key:value pair")
			return
		}
	}
}

// open reads a '{' or '[' and counts the depth.
func (d *Decoder) open() bool {
	d.i++
	d.depth++
	if d.depth > maxDepth {
		d.fail(errors.New("json: exceeded max depth"))
		return false
	}
	return true
}

// array reads an array whose '[' is next, calling elem for each element
// with the element next to read.
func (d *Decoder) array(elem func()) {
	if !d.open() {
		return
	}
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		d.depth--
		return
	}
	for d.err == nil {
		elem()
		if d.err != nil {
			return
		}
		d.ws()
		if d.i >= len(d.b) {
			d.syntax("after array element")
			return
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			d.depth--
			return
		default:
			d.syntax("after array element")
			return
		}
	}
}

// Slice reads an array into *s as encoding/json does: its elements are
// read into those *s has (elem reads one into v, which may hold an earlier
// value), []is an empty slice, null is nil.
func Slice[T any](d *Decoder, s *[]T, elem func(v *T)) {
	switch d.peek() {
	case 'n':
		d.literal("null")
		if d.err == nil {
			*s = nil
		}
		return
	case '[':
	case 0:
		return
	default:
		d.typeErr("slice")
		return
	}
	v, n := *s, 0
	d.array(func() {
		if n >= cap(v) {
			v = append(v[:cap(v)], *new(T))[:len(v)]
		}
		if n >= len(v) {
			v = v[:n+1]
		}
		elem(&v[n])
		n++
	})
	if n < len(v) {
		v = v[:n]
	}
	if n == 0 {
		v = []T{}
	}
	*s = v
}

// Map reads an object into *m as encoding/json does: a nil map is made,
// each value is read by elem into a zero T, null is nil.
func Map[T any](d *Decoder, m *map[string]T, elem func(v *T)) {
	switch d.peek() {
	case 'n':
		d.literal("null")
		if d.err == nil {
			*m = nil
		}
		return
	case '{':
	case 0:
		return
	default:
		d.typeErr("map")
		return
	}
	if *m == nil {
		*m = map[string]T{}
	}
	var v, zero T // v escapes to elem: one for all the values
	d.objectKeys(func(k []byte) {
		key := d.str(k, d.keyInB) // before elem: d.key may hold k
		v = zero
		elem(&v)
		if d.err == nil {
			(*m)[key] = v
		}
	})
}

// Ptr reads into **p: null sets it nil, another value is read by read
// into *p (made when nil).
func Ptr[T any](d *Decoder, p **T, read func(v *T)) {
	if d.Null() {
		*p = nil
		return
	}
	if d.err != nil {
		return
	}
	if *p == nil {
		*p = new(T)
	}
	read(*p)
}

// String reads a string into *p (null: unchanged).
func (d *Decoder) String(p *string) {
	switch d.peek() {
	case '"':
		raw, ascii := d.rawString()
		if d.err != nil {
			return
		}
		if c := raw[1 : len(raw)-1]; ascii || plain(c) {
			*p = d.str(c, true)
		} else {
			*p = string(appendUnquoted(make([]byte, 0, len(c)+2*utf8.UTFMax), c))
		}
	case 'n':
		d.literal("null")
	case 0:
	default:
		d.typeErr("string")
	}
}

// Bool reads a bool into *p (null: unchanged).
func (d *Decoder) Bool(p *bool) {
	switch d.peek() {
	case 't':
		d.literal("true")
		if d.err == nil {
			*p = true
		}
	case 'f':
		d.literal("false")
		if d.err == nil {
			*p = false
		}
	case 'n':
		d.literal("null")
	case 0:
	default:
		d.typeErr("bool")
	}
}

// number reads a number literal; ok is false for null (read) or another
// value (an error).
func (d *Decoder) number(want string) (lit []byte, ok bool) {
	switch c := d.peek(); {
	case c == '-' || '0' <= c && c <= '9':
		start := d.i
		d.skipNumber()
		return d.b[start:d.i], d.err == nil
	case c == 'n':
		d.literal("null")
	case c == 0:
	default:
		d.typeErr(want)
	}
	return nil, false
}

// parsed reads a number with parse into *p (null: unchanged); a number
// parse refuses (a fraction or an exponent for an integer, a value out of
// range) is an error, as for encoding/json.
func parsed[T any](d *Decoder, p *T, want string, parse func(string) (T, error)) {
	lit, ok := d.number(want)
	if !ok {
		return
	}
	v, err := parse(unsafeString(lit))
	if err != nil {
		d.fail(fmt.Errorf("json: cannot unmarshal number %s into Go value of type %s", lit, want))
		return
	}
	*p = v
}

// Int64 reads an integer into *p (see parsed).
func (d *Decoder) Int64(p *int64) {
	parsed(d, p, "int64", func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) })
}

// Int reads an integer into *p (see parsed).
func (d *Decoder) Int(p *int) {
	parsed(d, p, "int", func(s string) (int, error) {
		n, err := strconv.ParseInt(s, 10, strconv.IntSize)
		return int(n), err
	})
}

// Uint64 reads an unsigned integer into *p (see parsed).
func (d *Decoder) Uint64(p *uint64) {
	parsed(d, p, "uint64", func(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) })
}

// Uint32 reads an unsigned integer into *p (see parsed).
func (d *Decoder) Uint32(p *uint32) {
	parsed(d, p, "uint32", func(s string) (uint32, error) {
		n, err := strconv.ParseUint(s, 10, 32)
		return uint32(n), err
	})
}

// Float64 reads a number into *p (see parsed).
func (d *Decoder) Float64(p *float64) {
	parsed(d, p, "float64", func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
}

// Time reads a time into *p with time.Time's UnmarshalJSON, given the value
// as it is written, as encoding/json does (null: unchanged).
func (d *Decoder) Time(p *time.Time) {
	raw := d.Raw()
	if d.err != nil {
		return
	}
	if err := p.UnmarshalJSON(raw); err != nil {
		d.fail(err)
	}
}

// Raw reads one value and returns it as written.
func (d *Decoder) Raw() []byte {
	if d.peek() == 0 {
		return nil
	}
	start := d.i
	d.Skip()
	return d.b[start:d.i]
}

// Skip reads one value, checking its syntax only.
func (d *Decoder) Skip() {
	switch d.peek() {
	case 0:
	case '{':
		d.objectKeys(func([]byte) { d.Skip() })
	case '[':
		d.array(d.Skip)
	case '"':
		d.rawString()
	case 't':
		d.literal("true")
	case 'f':
		d.literal("false")
	case 'n':
		d.literal("null")
	default:
		d.skipNumber()
	}
}

// skipNumber reads a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *Decoder) skipNumber() {
	b, i := d.b, d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		d.i = i
		d.syntax("in numeric literal")
		return
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			d.i = i
			d.syntax("after decimal point in numeric literal")
			return
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			d.i = i
			d.syntax("in exponent of numeric literal")
			return
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	d.i = i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// rawString reads a string whose '"' is next, checking its syntax, and
// returns it quotes and all, and whether it is ASCII without escapes (then
// its content is what it reads as, and plain need not look again).
func (d *Decoder) rawString() (raw []byte, ascii bool) {
	b, start := d.b, d.i
	i, ascii := start+1, true
	for i < len(b) {
		c := b[i]
		if ' ' <= c && c < utf8.RuneSelf && c != '"' && c != '\\' {
			i++
			continue
		}
		switch {
		case c == '"':
			d.i = i + 1
			return b[start:d.i], ascii
		case c == '\\':
			ascii = false
			i++
			if i >= len(b) {
				break
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				for j := 0; j < 4; j++ {
					if i >= len(b) || !isHex(b[i]) {
						d.i = i
						d.syntax("in \\u hexadecimal character escape")
						return nil, false
					}
					i++
				}
			default:
				d.i = i
				d.syntax("in string escape code")
				return nil, false
			}
		case c < ' ':
			d.i = i
			d.syntax("in string literal")
			return nil, false
		default: // a byte of UTF-8, or not
			ascii = false
			i++
		}
	}
	d.i = len(b)
	d.syntax("in string literal")
	return nil, false
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// unquoteKey is the key raw names, unquoted; without escapes or bytes to
// replace, a slice of raw.
func (d *Decoder) unquoteKey(raw []byte, ascii bool) []byte {
	s := raw[1 : len(raw)-1]
	if d.keyInB = ascii || plain(s); d.keyInB {
		return s
	}
	d.key = appendUnquoted(d.key[:0], s)
	return d.key
}

// str is b as a string: cut from b's memory when inB and the decoder's
// strings are shared, else a copy.
func (d *Decoder) str(b []byte, inB bool) string {
	if d.shared && inB {
		return unsafeString(b)
	}
	return string(b)
}

// plain reports whether s needs no unquoting: no escape, no invalid UTF-8.
func plain(s []byte) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\\' || c >= utf8.RuneSelf {
			return plainSlow(s[i:])
		}
	}
	return true
}

func plainSlow(s []byte) bool {
	for r := 0; r < len(s); {
		c := s[r]
		if c == '\\' {
			return false
		}
		if c < utf8.RuneSelf {
			r++
			continue
		}
		rr, size := utf8.DecodeRune(s[r:])
		if rr == utf8.RuneError && size == 1 {
			return false
		}
		r += size
	}
	return true
}

// appendUnquoted appends s (a string's content, its syntax checked)
// unquoted, invalid UTF-8 and lone surrogates as U+FFFD, as encoding/json's
// unquoteBytes.
func appendUnquoted(b, s []byte) []byte {
	for r := 0; r < len(s); {
		switch c := s[r]; {
		case c == '\\':
			r++
			switch s[r] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r--
				rr := getu4(s[r:])
				r += 6
				if utf16.IsSurrogate(rr) {
					rr1 := getu4(s[r:])
					if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
						r += 6
						b = utf8.AppendRune(b, dec)
						continue
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[r])
			}
			r++
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	return b
}

// getu4 decodes \uXXXX from the beginning of s, returning the hex value,
// or it returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// foldedLower is key folded as encoding/json folds names, lower-cased, and
// true when that is ASCII (only then may it match a lower-case ASCII name).
// It is valid until the next call.
func (d *Decoder) foldedLower(key []byte) ([]byte, bool) {
	out := d.fold[:0]
	for i := 0; i < len(key); {
		c := key[i]
		if c < utf8.RuneSelf {
			i++
		} else {
			r, n := utf8.DecodeRune(key[i:])
			f := foldRune(r)
			if f >= utf8.RuneSelf {
				return nil, false
			}
			c = byte(f)
			i += n
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out = append(out, c)
	}
	d.fold = out
	return out, true
}

// foldRune is the smallest rune of r's fold set.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// unsafeString is b as a string without a copy, for the time of a call
// that does not keep it.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
