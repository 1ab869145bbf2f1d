// Package jsoncodectest helps the tests of jsoncodec's users prove that
// they read and write as encoding/json does: Fill gives every field of a
// value a random value, by reflection, so that a field a codec forgets is
// a difference; Rewrite writes a JSON text again as encoding/json reads it
// the same (keys folded or escaped, unknown and repeated members).
package jsoncodectest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"
)

var timeType = reflect.TypeFor[time.Time]()

// Fill sets *p (a pointer) to random values: every exported field of its
// structs, the elements of its slices and maps, what its pointers point
// to; some left zero (nil, empty, "") to exercise omitempty and null. It
// panics on a kind it does not know: extend it with the type.
func Fill(p any, r *rand.Rand) {
	fill(reflect.ValueOf(p).Elem(), r)
}

func fill(v reflect.Value, r *rand.Rand) {
	if r.IntN(5) == 0 {
		v.SetZero()
		return
	}
	if v.Type() == timeType {
		v.Set(reflect.ValueOf(randTime(r)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(randString(r))
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int64:
		v.SetInt(randInt(r))
	case reflect.Int32:
		v.SetInt(int64(int32(randInt(r))))
	case reflect.Uint64, reflect.Uint:
		v.SetUint(randUint(r))
	case reflect.Uint32:
		v.SetUint(uint64(uint32(randUint(r))))
	case reflect.Float64:
		v.SetFloat(randFloat(r))
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), r)
		v.Set(p)
	case reflect.Slice:
		n := r.IntN(4)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fill(s.Index(i), r)
		}
		v.Set(s)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			panic(fmt.Sprintf("jsoncodectest: map key %v", v.Type().Key()))
		}
		m := reflect.MakeMap(v.Type())
		for range r.IntN(4) {
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, r)
			m.SetMapIndex(reflect.ValueOf(randString(r)).Convert(v.Type().Key()), e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), r)
			}
		}
	default:
		panic(fmt.Sprintf("jsoncodectest: cannot fill a %v", v.Type()))
	}
}

var strings0 = []string{"", "a", "online", "d01", "<&>", "x\u2028y\u2029", "\xff\xfe", "é", "😀", `"\/`,
	"\b\f\n\r\t", "\x00\x1f", "\x7f", "K\u212a\u017fſ", "\ud7ff\ue000\uffff", "1", "null", "{}"}

func randString(r *rand.Rand) string {
	if r.IntN(3) > 0 {
		return strings0[r.IntN(len(strings0))]
	}
	b := make([]byte, r.IntN(12))
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return string(b)
}

func randInt(r *rand.Rand) int64 {
	switch r.IntN(6) {
	case 0:
		return math.MaxInt64
	case 1:
		return math.MinInt64
	case 2:
		return r.Int64N(1000) - 500
	}
	return r.Int64() - r.Int64()
}

func randUint(r *rand.Rand) uint64 {
	switch r.IntN(4) {
	case 0:
		return math.MaxUint64
	case 1:
		return r.Uint64N(1000)
	}
	return r.Uint64()
}

var floats = []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456789e13,
	5e-324, math.MaxFloat64, -math.MaxFloat64, 12.345, 1.0 / 3, 100}

func randFloat(r *rand.Rand) float64 {
	if r.IntN(2) == 0 {
		return floats[r.IntN(len(floats))]
	}
	for {
		f := math.Float64frombits(r.Uint64())
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
	}
}

func randTime(r *rand.Rand) time.Time {
	// Years 0 to 9999 (what RFC 3339 writes).
	const lo, hi = -62167219200, 253402300799
	t := time.Unix(lo+r.Int64N(hi-lo), r.Int64N(1e9))
	switch r.IntN(4) {
	case 0:
		return t.UTC()
	case 1:
		return t.In(time.FixedZone("", (r.IntN(47)-23)*3600+r.IntN(4)*15*60))
	case 2:
		return t.Truncate(time.Second).UTC()
	}
	return t.Local()
}

// Rewrite writes the JSON text b again, each object key as encoding/json
// matches it the same (upper case, a Unicode fold, a \u escape), with
// unknown members and members repeated (encoding/json reads the last over
// the first: into the same struct, slice elements and pointers; the last
// with members and trailing elements left out, or null), in random white
// space. The
// value encoding/json reads of it may differ from b's (a repeated member
// merges), which a test compares with its codec's.
func Rewrite(b []byte, r *rand.Rand) []byte {
	return rewriteText(b, r, false)
}

// rewriteText is Rewrite; thin leaves out some members and trailing elements.
func rewriteText(b []byte, r *rand.Rand, thin bool) []byte {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out bytes.Buffer
	rewrite(d, &out, r, thin)
	return out.Bytes()
}

func ws(out *bytes.Buffer, r *rand.Rand) {
	if r.IntN(4) == 0 {
		out.WriteString([]string{" ", "\n", "\t", "\r\n  "}[r.IntN(4)])
	}
}

func rewrite(d *json.Decoder, out *bytes.Buffer, r *rand.Rand, thin bool) {
	tok, err := d.Token()
	if err != nil {
		panic(err)
	}
	ws(out, r)
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			out.WriteByte('[')
			cut := thin && r.IntN(2) == 0
			for i := 0; d.More(); i++ {
				var v bytes.Buffer
				rewrite(d, &v, r, thin)
				if cut && i > 0 {
					continue
				}
				if i > 0 {
					out.WriteByte(',')
				}
				out.Write(v.Bytes())
			}
			d.Token()
			out.WriteByte(']')
		case '{':
			out.WriteByte('{')
			n := 0
			for d.More() {
				k, _ := d.Token()
				var v bytes.Buffer
				rewrite(d, &v, r, thin)
				if thin && r.IntN(3) == 0 {
					continue
				}
				if n > 0 {
					out.WriteByte(',')
				}
				n++
				key := k.(string)
				if r.IntN(8) == 0 {
					out.WriteString(`"x_unknown":{"a":[1,"\u0041",null,true,{"b":-1.5e3}]},`)
				}
				if r.IntN(6) == 0 { // repeated: the last one thinned, or null
					writeKey(out, key, r)
					out.Write(v.Bytes())
					out.WriteByte(',')
					writeKey(out, key, r)
					if r.IntN(4) == 0 {
						out.WriteString("null")
					} else {
						out.Write(rewriteText(v.Bytes(), r, true))
					}
					continue
				}
				writeKey(out, key, r)
				out.Write(v.Bytes())
			}
			d.Token()
			out.WriteByte('}')
		}
	case string:
		s, _ := json.Marshal(t)
		out.Write(s)
	case json.Number:
		out.WriteString(t.String())
	case bool:
		fmt.Fprint(out, t)
	case nil:
		out.WriteString("null")
	}
	ws(out, r)
}

func writeKey(out *bytes.Buffer, key string, r *rand.Rand) {
	switch r.IntN(5) {
	case 0:
		key = strings.ToUpper(key)
	case 1:
		key = strings.NewReplacer("k", "\u212a", "s", "\u017f", "K", "\u212a", "S", "\u017f").Replace(key)
	case 2:
		if key != "" && key[0] < utf8.RuneSelf {
			fmt.Fprintf(out, `"\u%04x`, key[0])
			s, _ := json.Marshal(key[1:])
			out.Write(s[1:])
			out.WriteByte(':')
			return
		}
	}
	s, _ := json.Marshal(key)
	out.Write(s)
	out.WriteByte(':')
}
