package schema

import (
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// kind is the type an attribute's value is converted to when it is decoded.
// Durations, enums and signals are strings whose meaning resolve checks.
type kind int

const (
	kString       kind = iota
	kStrings           // list(string)
	kInts              // list(number), each a whole number >= 0
	kStringOrList      // a string or a list of strings, as a list
	kMap               // map(string), keys valid environment names
	kBool
	kInt  // whole number >= 0
	kSize // whole number of bytes, or a string ParseSize accepts
)

func (k kind) String() string {
	switch k {
	case kStrings:
		return "a list of strings"
	case kInts:
		return "a list of whole numbers"
	case kStringOrList:
		return "a string or a list of strings"
	case kMap:
		return "a map of strings"
	case kBool:
		return "true or false"
	case kInt:
		return "a whole number"
	case kSize:
		return `a size such as "200M"`
	}
	return "a string"
}

// blockSpec describes the attributes and nested blocks a body may hold.
type blockSpec struct {
	attrs  map[string]kind
	blocks map[string]*blockSpec
	// labeled are blocks with one label, repeatable with distinct labels
	// (depends_on "dolt" { ... }); their fields are keyed by
	// "type.label.attribute".
	labeled map[string]*blockSpec

	// body is the hcl.BodySchema of the above, made once: it was made again
	// for every block decoded (5 % of a load).
	body     *hcl.BodySchema
	bodyOnce sync.Once
}

// daemonSpec is the shape of a daemon block (and of a daemon block inside a
// profile, which may set any subset of it).
var daemonSpec = &blockSpec{
	attrs: map[string]kind{
		"command": kString, "args": kStrings, "interval": kString, "dir": kString,
		"environment": kMap, "sensitive": kStrings, "env_file": kStringOrList,
	},
	blocks: map[string]*blockSpec{
		"restart": {attrs: map[string]kind{
			"policy": kString, "delay": kString, "backoff": kString, "max_delay": kString,
			"max_restarts": kInt, "min_uptime": kString,
		}},
		"limits": {attrs: map[string]kind{"memory": kSize, "check_interval": kString}},
		"stop":   {attrs: map[string]kind{"signal": kString, "timeout": kString}},
		"logs": {
			attrs: map[string]kind{
				"out": kString, "error": kString, "combined": kString, "timestamps": kBool, "date_format": kString,
			},
			blocks: map[string]*blockSpec{
				"rotate": {attrs: map[string]kind{"max_size": kSize, "keep": kInt, "compress": kBool}},
			},
		},
		"health": {attrs: map[string]kind{
			"check": kString, "interval": kString, "timeout": kString, "failures": kInt,
			"command": kStrings, "address": kString, "user": kString, "database": kString, "project_id": kString,
			"url": kString, "status": kInts, "body": kString, "tls_skip_verify": kBool,
			"online_after": kString,
		}},
		"dolt_server": {attrs: map[string]kind{
			"workspace": kString, "workspaces": kStrings, "shared": kBool, "host": kString, "port": kInt,
			"disable_bd_auto_start": kBool,
		}},
	},
	labeled: map[string]*blockSpec{
		"depends_on": {attrs: map[string]kind{"condition": kString, "on_restart": kString}},
	},
}

func (s *blockSpec) schema() *hcl.BodySchema {
	s.bodyOnce.Do(func() { s.body = s.makeSchema() })
	return s.body
}

func (s *blockSpec) makeSchema() *hcl.BodySchema {
	bs := &hcl.BodySchema{}
	for _, name := range slices.Sorted(maps.Keys(s.attrs)) {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: name})
	}
	for _, name := range slices.Sorted(maps.Keys(s.blocks)) {
		bs.Blocks = append(bs.Blocks, hcl.BlockHeaderSchema{Type: name})
	}
	for _, name := range slices.Sorted(maps.Keys(s.labeled)) {
		bs.Blocks = append(bs.Blocks, hcl.BlockHeaderSchema{Type: name, LabelNames: []string{"name"}})
	}
	return bs
}

// field is one decoded attribute: its converted value and where it was written.
type field struct {
	val  cty.Value
	rng  hcl.Range   // the expression
	name hcl.Range   // the attribute name
	elem []hcl.Range // for lists written as literals: each element's expression
}

// layer is the decoded content of one daemon block (base or profile), keyed by
// attribute path ("command", "restart.delay", "logs.rotate.keep").
type layer struct {
	fields map[string]*field
	blocks map[string]hcl.Range // def range of each nested block, by path
	// failed holds the paths of attributes that are written but could not be
	// decoded (already reported): they are not "missing".
	failed map[string]bool
	// labels are the label ranges of labeled blocks, by "type.label".
	labels map[string]hcl.Range
}

func newLayer() *layer {
	return &layer{fields: map[string]*field{}, blocks: map[string]hcl.Range{}, failed: map[string]bool{}, labels: map[string]hcl.Range{}}
}

// decodeBody checks body against spec and, when out is non-nil, evaluates each
// attribute with ctx into out. With out nil only the structure is checked (the
// bodies of profiles that are not selected).
func decodeBody(body hcl.Body, spec *blockSpec, prefix string, ctx *hcl.EvalContext, out *layer) hcl.Diagnostics {
	var diags hcl.Diagnostics
	content, more := body.Content(spec.schema())
	diags = append(diags, more...)
	if content == nil {
		return diags
	}
	if out != nil {
		attrs := make([]*hcl.Attribute, 0, len(content.Attributes))
		for _, a := range content.Attributes {
			attrs = append(attrs, a)
		}
		sort.Slice(attrs, func(i, j int) bool { return attrs[i].Range.Start.Byte < attrs[j].Range.Start.Byte })
		for _, a := range attrs {
			f, more := decodeAttr(a, spec.attrs[a.Name], prefix+a.Name, ctx)
			diags = append(diags, more...)
			if f != nil {
				out.fields[prefix+a.Name] = f
			} else if more.HasErrors() {
				out.failed[prefix+a.Name] = true
			}
		}
	}
	seen := map[string]*hcl.Block{}
	for _, blk := range content.Blocks {
		key, sub := blk.Type, spec.blocks[blk.Type]
		if ls, ok := spec.labeled[blk.Type]; ok {
			key, sub = blk.Type+"."+blk.Labels[0], ls
		}
		if first, dup := seen[key]; dup {
			what := fmt.Sprintf("Only one %s block is allowed here", blk.Type)
			if key != blk.Type {
				what = fmt.Sprintf("Only one %s %q block is allowed here", blk.Type, blk.Labels[0])
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Duplicate %s block", blk.Type),
				Detail:   fmt.Sprintf("%s; the first one is at %s.", what, pos(first.DefRange)),
				Subject:  blk.DefRange.Ptr(),
			})
			continue
		}
		seen[key] = blk
		if out != nil {
			out.blocks[prefix+key] = blk.DefRange
			if key != blk.Type {
				out.labels[prefix+key] = blk.LabelRanges[0]
			}
		}
		diags = append(diags, decodeBody(blk.Body, sub, prefix+key+".", ctx, out)...)
	}
	return diags
}

// decodeAttr evaluates one attribute and converts it to k. A null value is
// treated as unset and gives a nil field.
func decodeAttr(a *hcl.Attribute, k kind, path string, ctx *hcl.EvalContext) (*field, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	v, more := a.Expr.Value(ctx)
	diags = append(diags, more...)
	if more.HasErrors() {
		return nil, diags
	}
	if v.IsNull() {
		return nil, diags
	}
	bad := func(detail string) (*field, hcl.Diagnostics) {
		return nil, append(diags, &hcl.Diagnostic{
			Severity:    hcl.DiagError,
			Summary:     "Incorrect value type",
			Detail:      fmt.Sprintf("%s must be %s: %s.", path, k, detail),
			Subject:     a.Expr.Range().Ptr(),
			Expression:  a.Expr,
			EvalContext: ctx,
		})
	}
	if !v.IsWhollyKnown() {
		return bad("its value is not known")
	}
	f := &field{rng: a.Expr.Range(), name: a.NameRange}
	var err error
	switch k {
	case kString:
		f.val, err = convert.Convert(v, cty.String)
	case kBool:
		f.val, err = convert.Convert(v, cty.Bool)
	case kStrings, kStringOrList:
		if k == kStringOrList && v.Type() == cty.String {
			v = cty.ListVal([]cty.Value{v})
		}
		f.val, err = convert.Convert(v, cty.List(cty.String))
		if err == nil {
			for _, e := range f.val.AsValueSlice() {
				if e.IsNull() {
					return bad("an element is null")
				}
			}
			f.elem = elemRanges(a.Expr, f.val.LengthInt())
		}
	case kInts:
		f.val, err = convert.Convert(v, cty.List(cty.Number))
		if err == nil {
			for _, e := range f.val.AsValueSlice() {
				if e.IsNull() {
					return bad("an element is null")
				}
				if bf := e.AsBigFloat(); !bf.IsInt() || bf.Sign() < 0 || bf.Cmp(big.NewFloat(1<<31)) > 0 {
					return bad(fmt.Sprintf("%s is not a whole number", bf.Text('g', -1)))
				}
			}
			f.elem = elemRanges(a.Expr, f.val.LengthInt())
		}
	case kMap:
		f.val, err = convert.Convert(v, cty.Map(cty.String))
		if err == nil {
			for key, e := range f.val.AsValueMap() {
				if e.IsNull() {
					return bad(fmt.Sprintf("the value of %s is null", key))
				}
				if !ValidEnvName(key) {
					return bad(fmt.Sprintf("%q is not a valid environment variable name", key))
				}
			}
		}
	case kInt, kSize:
		if k == kSize && v.Type() == cty.String {
			f.val = v
			break
		}
		f.val, err = convert.Convert(v, cty.Number)
		if err == nil {
			bf := f.val.AsBigFloat()
			if !bf.IsInt() || bf.Sign() < 0 || bf.Cmp(big.NewFloat(1<<53)) > 0 {
				if k == kSize {
					return bad(fmt.Sprintf("%s is not a whole number of bytes; use %s", bf.Text('g', -1), sizeForms))
				}
				return bad(fmt.Sprintf("%s is not a whole number from 0 up", bf.Text('g', -1)))
			}
		}
	}
	if err != nil {
		return bad(err.Error())
	}
	if hasNUL(f.val) {
		return bad(nulDetail)
	}
	return f, diags
}

// elemRanges are the ranges of the n elements of a list written as a
// literal (nil otherwise), so that a bad element is blamed where it is.
func elemRanges(expr hcl.Expression, n int) []hcl.Range {
	exprs, d := hcl.ExprList(expr)
	if d.HasErrors() || len(exprs) != n {
		return nil
	}
	out := make([]hcl.Range, 0, n)
	for _, e := range exprs {
		out = append(out, e.Range())
	}
	return out
}

// merge overlays a profile's layer on a base layer: scalars and lists replace
// field by field (nested blocks merge attribute by attribute, since fields are
// keyed by path), environment maps merge key by key, and sensitive lists
// accumulate, so a profile can mark more keys sensitive but never unmark one.
func merge(base, over *layer) *layer {
	out := newLayer()
	for k, f := range base.fields {
		out.fields[k] = f
	}
	for k, r := range base.blocks {
		out.blocks[k] = r
	}
	for k, r := range base.labels {
		out.labels[k] = r
	}
	for k := range base.failed {
		out.failed[k] = true
	}
	if over == nil {
		return out
	}
	for k, r := range over.blocks {
		out.blocks[k] = r
	}
	for k, r := range over.labels {
		out.labels[k] = r
	}
	for k := range over.failed {
		out.failed[k] = true
	}
	for k, f := range over.fields {
		b := out.fields[k]
		switch {
		case b == nil:
			out.fields[k] = f
		case k == "environment":
			m := b.val.AsValueMap()
			if m == nil {
				m = map[string]cty.Value{}
			}
			for key, v := range f.val.AsValueMap() {
				m[key] = v
			}
			val := cty.MapValEmpty(cty.String)
			if len(m) > 0 {
				val = cty.MapVal(m)
			}
			out.fields[k] = &field{val: val, rng: f.rng, name: f.name}
		case k == "sensitive":
			vals := append(b.val.AsValueSlice(), f.val.AsValueSlice()...)
			var elem []hcl.Range
			if len(b.elem) == b.val.LengthInt() && len(f.elem) == f.val.LengthInt() {
				elem = append(append(elem, b.elem...), f.elem...)
			}
			val := cty.ListValEmpty(cty.String)
			if len(vals) > 0 {
				val = cty.ListVal(vals)
			}
			out.fields[k] = &field{val: val, rng: f.rng, name: f.name, elem: elem}
		default:
			out.fields[k] = f
		}
	}
	return out
}

// pos renders the start of r as file:line:column.
func pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// ValidEnvName reports whether key can name an environment variable: not
// empty, and without '=', NUL or another control character (a newline in a
// name would start another variable in an env file, and no shell can set it).
func ValidEnvName(key string) bool {
	return key != "" && !strings.ContainsRune(key, '=') && !strings.ContainsFunc(key, unicode.IsControl)
}
