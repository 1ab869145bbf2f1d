package schema

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
)

// The configuration cache (cache.go) stores a resolved Config in a binary
// form of its own, written by reflection over exported fields: unlike gob it
// keeps a nil slice or map apart from an empty one, and unlike JSON it keeps
// the fields that are not part of the JSON form (DeclRange, EnvFrom, the
// ranges of dependencies), so that a decoded Config is reflect.DeepEqual to
// the one encoded. A type it cannot represent (an interface, a func, an
// unexported field) is an error: such a Config is not cached.

var errCodec = errors.New("schema: cache codec: unsupported value")

func encodeValue(b []byte, v reflect.Value, strs map[string]int) ([]byte, error) {
	var err error
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return append(b, 1), nil
		}
		return append(b, 0), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return binary.AppendVarint(b, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return binary.AppendUvarint(b, v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return binary.AppendUvarint(b, math.Float64bits(v.Float())), nil
	case reflect.String:
		// A short string written before is its number: the folder, the
		// command, the date format ... of 1,000 daemons were as many
		// strings to decode.
		str := v.String()
		if k, ok := strs[str]; ok {
			return binary.AppendUvarint(b, uint64(k)+1), nil
		}
		if len(str) < maxShared {
			strs[str] = len(strs)
		}
		b = binary.AppendUvarint(append(b, 0), uint64(len(str)))
		return append(b, str...), nil
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, 0), nil
		}
		return encodeValue(append(b, 1), v.Elem(), strs)
	case reflect.Slice:
		if v.IsNil() {
			return append(b, 0), nil
		}
		b = binary.AppendUvarint(b, uint64(v.Len())+1)
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return append(b, v.Bytes()...), nil // bytes as they are (the entry's tags)
		}
		for i := range v.Len() {
			if b, err = encodeValue(b, v.Index(i), strs); err != nil {
				return nil, err
			}
		}
		return b, nil
	case reflect.Array:
		for i := range v.Len() {
			if b, err = encodeValue(b, v.Index(i), strs); err != nil {
				return nil, err
			}
		}
		return b, nil
	case reflect.Map:
		if v.IsNil() {
			return append(b, 0), nil
		}
		b = binary.AppendUvarint(b, uint64(v.Len())+1)
		for it := v.MapRange(); it.Next(); {
			if b, err = encodeValue(b, it.Key(), strs); err != nil {
				return nil, err
			}
			if b, err = encodeValue(b, it.Value(), strs); err != nil {
				return nil, err
			}
		}
		return b, nil
	case reflect.Struct:
		t := v.Type()
		if f, ok := unexported(t); ok {
			return nil, fmt.Errorf("%w: unexported field %s.%s", errCodec, t, f)
		}
		for i := range t.NumField() {
			if b, err = encodeValue(b, v.Field(i), strs); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: %s", errCodec, v.Type())
}

// decoder reads what encodeValue wrote; any inconsistency is errCodec.
type decoder struct {
	b    []byte
	err  error
	strs []string // the short strings read, in order (encodeValue)
}

// maxShared bounds the strings written once and then by number.
const maxShared = 64

func (d *decoder) uvarint() uint64 {
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.err = errCodec
		return 0
	}
	d.b = d.b[k:]
	return n
}

// count reads a length written as len+1 (0: nil) and checks that at least
// that many bytes remain, so that a damaged length cannot allocate much.
func (d *decoder) count() (n int, isNil bool) {
	c := d.uvarint()
	if d.err != nil || c == 0 {
		return 0, true
	}
	if c-1 > uint64(len(d.b)) {
		d.err = errCodec
		return 0, true
	}
	return int(c - 1), false
}

func (d *decoder) value(v reflect.Value) {
	if d.err != nil {
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		if len(d.b) == 0 || d.b[0] > 1 {
			d.err = errCodec
			return
		}
		v.SetBool(d.b[0] == 1)
		d.b = d.b[1:]
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, k := binary.Varint(d.b)
		if k <= 0 || v.OverflowInt(n) {
			d.err = errCodec
			return
		}
		v.SetInt(n)
		d.b = d.b[k:]
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n := d.uvarint()
		if d.err == nil && v.OverflowUint(n) {
			d.err = errCodec
			return
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(math.Float64frombits(d.uvarint()))
	case reflect.String:
		if k := d.uvarint(); d.err != nil || k > 0 {
			if d.err == nil && k-1 < uint64(len(d.strs)) {
				v.SetString(d.strs[k-1])
			} else {
				d.err = errCodec
			}
			return
		}
		n := d.uvarint()
		if d.err != nil || n > uint64(len(d.b)) {
			d.err = errCodec
			return
		}
		str := string(d.b[:n])
		if len(str) < maxShared {
			d.strs = append(d.strs, str)
		}
		v.SetString(str)
		d.b = d.b[n:]
	case reflect.Pointer:
		if len(d.b) == 0 || d.b[0] > 1 {
			d.err = errCodec
			return
		}
		isNil := d.b[0] == 0
		d.b = d.b[1:]
		if !isNil {
			p := reflect.New(v.Type().Elem())
			d.value(p.Elem())
			v.Set(p)
		}
	case reflect.Slice:
		n, isNil := d.count()
		if isNil {
			return
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		if v.Type().Elem().Kind() == reflect.Uint8 {
			copy(s.Bytes(), d.b[:n]) // count checked that n bytes remain
			d.b = d.b[n:]
			v.Set(s)
			return
		}
		for i := range n {
			d.value(s.Index(i))
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			d.value(v.Index(i))
		}
	case reflect.Map:
		n, isNil := d.count()
		if isNil {
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), n)
		kt, et := v.Type().Key(), v.Type().Elem()
		for range n {
			k, e := reflect.New(kt).Elem(), reflect.New(et).Elem()
			d.value(k)
			d.value(e)
			if d.err != nil {
				return
			}
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct: // its fields are exported: decodeAny checked (codable)
		for i := range v.NumField() {
			d.value(v.Field(i))
		}
	default:
		d.err = errCodec
	}
}

// encodeAny and decodeAny are the codec on a whole value: decodeAny fails
// unless every byte is used.
func encodeAny(b []byte, x any) ([]byte, error) {
	return encodeValue(b, reflect.ValueOf(x).Elem(), map[string]int{})
}

func decodeAny(b []byte, x any) error {
	v := reflect.ValueOf(x).Elem()
	if !codable(v.Type()) {
		return errCodec
	}
	d := &decoder{b: b}
	d.value(v)
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
