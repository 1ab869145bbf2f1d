package schema

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"unsafe"
)

// The configuration cache (cache.go) stores a resolved Config in a binary
// form of its own, written by reflection over exported fields: unlike gob it
// keeps a nil slice or map apart from an empty one, and unlike JSON it keeps
// the fields that are not part of the JSON form (DeclRange, EnvFrom, the
// ranges of dependencies), so that a decoded Config is reflect.DeepEqual to
// the one encoded. A type it cannot represent (an interface, a func, an
// unexported field) is an error: such a Config is not cached.
//
// Reflection runs once a type: coderOf compiles each type into a coder, the
// offsets of its fields and the coder of each, that reads and writes values
// in place. Walking reflect.Values field by field, and a string allocated for
// each one read, was a quarter of a validate after an edit (the entry of
// 1,000 daemons decoded, then encoded again).

var errCodec = errors.New("schema: cache codec: unsupported value")

// coder encodes and decodes the value of one type at p.
type coder struct {
	enc func(e *encoder, p unsafe.Pointer) error
	dec func(d *decoder, p unsafe.Pointer)
}

type encoder struct {
	b []byte
	// strs numbers the short strings written (maxShared): a short string
	// written before is its number: the folder, the command, the date
	// format ... of 1,000 daemons were as many strings to decode.
	strs map[string]int
	// seen is a cache of strs by where the string's bytes are: the
	// strings of daemons taken from an entry share their bytes, and
	// hashing each to look it up was half of encoding 1,000 daemons.
	seen [256]seenString
}

type seenString struct {
	data *byte
	n, k int
}

// decoder reads what an encoder wrote; any inconsistency is errCodec.
type decoder struct {
	b    []byte
	s    string // the whole input, which the strings read are cut from
	err  error
	strs []string // the short strings read, in order (encoder.strs)
}

// maxShared bounds the strings written once and then by number.
const maxShared = 64

// coders memoises coderOf.
var coders sync.Map // reflect.Type -> *coder

// coderOf is the coder of t.
func coderOf(t reflect.Type) *coder {
	if c, ok := coders.Load(t); ok {
		return c.(*coder)
	}
	building := map[reflect.Type]*coder{}
	c := compile(t, building)
	for bt, bc := range building {
		coders.LoadOrStore(bt, bc)
	}
	return c
}

// compile builds t's coder; building holds those under way (a recursive
// type refers to its own coder, filled in once it is built).
func compile(t reflect.Type, building map[reflect.Type]*coder) *coder {
	if c, ok := coders.Load(t); ok {
		return c.(*coder)
	}
	if c, ok := building[t]; ok {
		return c
	}
	c := &coder{}
	building[t] = c
	unsupported := func() {
		c.enc = func(*encoder, unsafe.Pointer) error { return fmt.Errorf("%w: %s", errCodec, t) }
		c.dec = func(d *decoder, _ unsafe.Pointer) { d.fail() }
	}
	switch t.Kind() {
	case reflect.Bool:
		c.enc = func(e *encoder, p unsafe.Pointer) error {
			if *(*bool)(p) {
				e.b = append(e.b, 1)
			} else {
				e.b = append(e.b, 0)
			}
			return nil
		}
		c.dec = func(d *decoder, p unsafe.Pointer) {
			if v, ok := d.flag(); ok {
				*(*bool)(p) = v
			}
		}
	case reflect.Int:
		intCoder[int](c)
	case reflect.Int8:
		intCoder[int8](c)
	case reflect.Int16:
		intCoder[int16](c)
	case reflect.Int32:
		intCoder[int32](c)
	case reflect.Int64:
		intCoder[int64](c)
	case reflect.Uint:
		uintCoder[uint](c)
	case reflect.Uint8:
		uintCoder[uint8](c)
	case reflect.Uint16:
		uintCoder[uint16](c)
	case reflect.Uint32:
		uintCoder[uint32](c)
	case reflect.Uint64:
		uintCoder[uint64](c)
	case reflect.Float32:
		c.enc = func(e *encoder, p unsafe.Pointer) error {
			e.b = binary.AppendUvarint(e.b, math.Float64bits(float64(*(*float32)(p))))
			return nil
		}
		c.dec = func(d *decoder, p unsafe.Pointer) {
			if f := math.Float64frombits(d.uvarint()); d.err == nil {
				*(*float32)(p) = float32(f)
			}
		}
	case reflect.Float64:
		c.enc = func(e *encoder, p unsafe.Pointer) error {
			e.b = binary.AppendUvarint(e.b, math.Float64bits(*(*float64)(p)))
			return nil
		}
		c.dec = func(d *decoder, p unsafe.Pointer) {
			if f := math.Float64frombits(d.uvarint()); d.err == nil {
				*(*float64)(p) = f
			}
		}
	case reflect.String:
		c.enc = func(e *encoder, p unsafe.Pointer) error {
			e.string(*(*string)(p))
			return nil
		}
		c.dec = func(d *decoder, p unsafe.Pointer) {
			if s, ok := d.string(); ok {
				*(*string)(p) = s
			}
		}
	case reflect.Pointer:
		et := t.Elem()
		ec := compile(et, building)
		c.enc = func(e *encoder, p unsafe.Pointer) error {
			q := *(*unsafe.Pointer)(p)
			if q == nil {
				e.b = append(e.b, 0)
				return nil
			}
			e.b = append(e.b, 1)
			return ec.enc(e, q)
		}
		c.dec = func(d *decoder, p unsafe.Pointer) {
			if set, ok := d.flag(); ok && set {
				q := reflect.New(et).UnsafePointer()
				ec.dec(d, q)
				*(*unsafe.Pointer)(p) = q
			}
		}
	case reflect.Slice:
		et := t.Elem()
		ec, size := compile(et, building), et.Size()
		bytes := et.Kind() == reflect.Uint8
		c.enc = func(e *encoder, p unsafe.Pointer) error {
			h := (*sliceHeader)(p)
			if h.data == nil {
				e.b = append(e.b, 0)
				return nil
			}
			e.b = binary.AppendUvarint(e.b, uint64(h.len)+1)
			if bytes {
				e.b = append(e.b, unsafe.Slice((*byte)(h.data), h.len)...) // bytes as they are (the entry's tags)
				return nil
			}
			return ec.encodeN(e, h.data, size, h.len)
		}
		c.dec = func(d *decoder, p unsafe.Pointer) {
			n, isNil := d.count()
			if isNil {
				return
			}
			data := reflect.MakeSlice(t, n, n).UnsafePointer()
			if bytes {
				copy(unsafe.Slice((*byte)(data), n), d.b[:n]) // count checked that n bytes remain
				d.b = d.b[n:]
			} else {
				for i := range n {
					ec.dec(d, unsafe.Add(data, uintptr(i)*size))
				}
			}
			*(*sliceHeader)(p) = sliceHeader{data: data, len: n, cap: n}
		}
	case reflect.Array:
		ec, size, n := compile(t.Elem(), building), t.Elem().Size(), t.Len()
		c.enc = func(e *encoder, p unsafe.Pointer) error {
			return ec.encodeN(e, p, size, n)
		}
		c.dec = func(d *decoder, p unsafe.Pointer) {
			for i := range n {
				ec.dec(d, unsafe.Add(p, uintptr(i)*size))
			}
		}
	case reflect.Map:
		if t.Key() == stringType && t.Elem() == stringType {
			stringMapCoder(c)
			break
		}
		mapCoder(c, t, compile(t.Key(), building), compile(t.Elem(), building))
	case reflect.Struct:
		if f, ok := unexported(t); ok {
			c.enc = func(*encoder, unsafe.Pointer) error {
				return fmt.Errorf("%w: unexported field %s.%s", errCodec, t, f)
			}
			c.dec = func(d *decoder, _ unsafe.Pointer) { d.fail() }
			break
		}
		type field struct {
			off uintptr
			c   *coder
		}
		fields := make([]field, t.NumField())
		for i := range fields {
			f := t.Field(i)
			fields[i] = field{f.Offset, compile(f.Type, building)}
		}
		c.enc = func(e *encoder, p unsafe.Pointer) error {
			for _, f := range fields {
				if err := f.c.enc(e, unsafe.Add(p, f.off)); err != nil {
					return err
				}
			}
			return nil
		}
		c.dec = func(d *decoder, p unsafe.Pointer) {
			for _, f := range fields {
				if d.err != nil {
					return
				}
				f.c.dec(d, unsafe.Add(p, f.off))
			}
		}
	default:
		unsupported()
	}
	return c
}

// encodeN encodes the n values of c's type from p on, size bytes apart.
func (c *coder) encodeN(e *encoder, p unsafe.Pointer, size uintptr, n int) error {
	for i := range n {
		if err := c.enc(e, unsafe.Add(p, uintptr(i)*size)); err != nil {
			return err
		}
	}
	return nil
}

var stringType = reflect.TypeFor[string]()

// sliceHeader is a slice's layout (reflect's unsafeheader.Slice).
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

func intCoder[T int | int8 | int16 | int32 | int64](c *coder) {
	c.enc = func(e *encoder, p unsafe.Pointer) error {
		e.b = binary.AppendVarint(e.b, int64(*(*T)(p)))
		return nil
	}
	c.dec = func(d *decoder, p unsafe.Pointer) {
		if d.err != nil {
			return
		}
		n, k := binary.Varint(d.b)
		if k <= 0 || int64(T(n)) != n {
			d.fail()
			return
		}
		*(*T)(p) = T(n)
		d.b = d.b[k:]
	}
}

func uintCoder[T uint | uint8 | uint16 | uint32 | uint64](c *coder) {
	c.enc = func(e *encoder, p unsafe.Pointer) error {
		e.b = binary.AppendUvarint(e.b, uint64(*(*T)(p)))
		return nil
	}
	c.dec = func(d *decoder, p unsafe.Pointer) {
		n := d.uvarint()
		if d.err != nil {
			return
		}
		if uint64(T(n)) != n {
			d.fail()
			return
		}
		*(*T)(p) = T(n)
	}
}

// stringMapCoder is the coder of a map of strings to strings (a daemon's
// environment), without reflection.
func stringMapCoder(c *coder) {
	c.enc = func(e *encoder, p unsafe.Pointer) error {
		m := *(*map[string]string)(p)
		if m == nil {
			e.b = append(e.b, 0)
			return nil
		}
		e.b = binary.AppendUvarint(e.b, uint64(len(m))+1)
		for k, v := range m {
			e.string(k)
			e.string(v)
		}
		return nil
	}
	c.dec = func(d *decoder, p unsafe.Pointer) {
		n, isNil := d.count()
		if isNil {
			return
		}
		m := make(map[string]string, n)
		for range n {
			k, _ := d.string()
			v, _ := d.string()
			if d.err != nil {
				return
			}
			m[k] = v
		}
		*(*map[string]string)(p) = m
	}
}

// mapCoder is the coder of any other map type t, through reflection.
func mapCoder(c *coder, t reflect.Type, kc, ec *coder) {
	kt, et := t.Key(), t.Elem()
	c.enc = func(e *encoder, p unsafe.Pointer) error {
		v := reflect.NewAt(t, p).Elem()
		if v.IsNil() {
			e.b = append(e.b, 0)
			return nil
		}
		e.b = binary.AppendUvarint(e.b, uint64(v.Len())+1)
		k, x := reflect.New(kt), reflect.New(et)
		for it := v.MapRange(); it.Next(); {
			k.Elem().Set(it.Key())
			x.Elem().Set(it.Value())
			if err := kc.enc(e, k.UnsafePointer()); err != nil {
				return err
			}
			if err := ec.enc(e, x.UnsafePointer()); err != nil {
				return err
			}
		}
		return nil
	}
	c.dec = func(d *decoder, p unsafe.Pointer) {
		n, isNil := d.count()
		if isNil {
			return
		}
		m := reflect.MakeMapWithSize(t, n)
		for range n {
			k, x := reflect.New(kt), reflect.New(et)
			kc.dec(d, k.UnsafePointer())
			ec.dec(d, x.UnsafePointer())
			if d.err != nil {
				return
			}
			m.SetMapIndex(k.Elem(), x.Elem())
		}
		reflect.NewAt(t, p).Elem().Set(m)
	}
}

func (e *encoder) string(s string) {
	if len(s) >= maxShared {
		e.b = binary.AppendUvarint(append(e.b, 0), uint64(len(s)))
		e.b = append(e.b, s...)
		return
	}
	// Two strings of the same bytes at the same place are the same string.
	data := unsafe.StringData(s)
	slot := &e.seen[(uintptr(unsafe.Pointer(data))>>3^uintptr(len(s)))%uintptr(len(e.seen))]
	if data != nil && slot.data == data && slot.n == len(s) {
		e.b = binary.AppendUvarint(e.b, uint64(slot.k)+1)
		return
	}
	k, ok := e.strs[s]
	if !ok {
		k = len(e.strs)
		e.strs[s] = k
		e.b = binary.AppendUvarint(append(e.b, 0), uint64(len(s)))
		e.b = append(e.b, s...)
	} else {
		e.b = binary.AppendUvarint(e.b, uint64(k)+1)
	}
	if data != nil {
		*slot = seenString{data, len(s), k}
	}
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCodec
	}
}

// flag reads a byte 0 or 1: false or true, ok false on anything else.
func (d *decoder) flag() (v, ok bool) {
	if d.err != nil {
		return false, false
	}
	if len(d.b) == 0 || d.b[0] > 1 {
		d.fail()
		return false, false
	}
	v = d.b[0] == 1
	d.b = d.b[1:]
	return v, true
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[k:]
	return n
}

// string reads a string: cut from the input (no copy), or the number of a
// short one read before.
func (d *decoder) string() (string, bool) {
	k := d.uvarint()
	if d.err != nil {
		return "", false
	}
	if k > 0 {
		if k-1 < uint64(len(d.strs)) {
			return d.strs[k-1], true
		}
		d.fail()
		return "", false
	}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail()
		return "", false
	}
	at := len(d.s) - len(d.b)
	s := d.s[at : at+int(n)]
	if len(s) < maxShared {
		d.strs = append(d.strs, s)
	}
	d.b = d.b[n:]
	return s, true
}

// count reads a length written as len+1 (0: nil) and checks that at least
// that many bytes remain, so that a damaged length cannot allocate much.
func (d *decoder) count() (n int, isNil bool) {
	c := d.uvarint()
	if d.err != nil || c == 0 {
		return 0, true
	}
	if c-1 > uint64(len(d.b)) {
		d.fail()
		return 0, true
	}
	return int(c - 1), false
}

// encodeAny and decodeAny are the codec on a whole value, x a pointer to
// it: decodeAny fails unless every byte is used.
func encodeAny(b []byte, x any) ([]byte, error) {
	v := reflect.ValueOf(x)
	e := &encoder{b: b, strs: make(map[string]int, 256)}
	if err := coderOf(v.Type().Elem()).enc(e, v.UnsafePointer()); err != nil {
		return nil, err
	}
	return e.b, nil
}

func decodeAny(b []byte, x any) error {
	v := reflect.ValueOf(x)
	if !codable(v.Type().Elem()) {
		return errCodec
	}
	// The strings read are cut from one copy of the input: a string
	// allocated for each was a third of the decoding.
	d := &decoder{b: b, s: string(b)}
	coderOf(v.Type().Elem()).dec(d, v.UnsafePointer())
	if d.err == nil && len(d.b) != 0 {
		d.err = errCodec
	}
	return d.err
}

// unexportedFields memoises unexported: asking each field of a struct
// whether it is exported was a sixth of encoding an entry.
var unexportedFields sync.Map // reflect.Type -> string

// unexported is the name of the first unexported field of struct type t,
// and whether there is one.
func unexported(t reflect.Type) (string, bool) {
	if f, seen := unexportedFields.Load(t); seen {
		return f.(string), f.(string) != ""
	}
	name := ""
	for i := range t.NumField() {
		if f := t.Field(i); !f.IsExported() {
			name = f.Name
			break
		}
	}
	unexportedFields.Store(t, name)
	return name, name != ""
}

// codableTypes memoises codable: asking each struct field whether it is
// exported while decoding was a seventh of a cache hit.
var codableTypes sync.Map // reflect.Type -> bool

// codable reports whether the codec can represent every value of t: no
// interface, func, channel or complex number, no unexported field, anywhere.
func codable(t reflect.Type) bool {
	if ok, seen := codableTypes.Load(t); seen {
		return ok.(bool)
	}
	codableTypes.Store(t, true) // a recursive type is codable if the rest is
	ok := true
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
	case reflect.Pointer, reflect.Slice, reflect.Array:
		ok = codable(t.Elem())
	case reflect.Map:
		ok = codable(t.Key()) && codable(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); !f.IsExported() || !codable(f.Type) {
				ok = false
				break
			}
		}
	default:
		ok = false
	}
	codableTypes.Store(t, ok)
	return ok
}
