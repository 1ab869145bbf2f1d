package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// MaxFileSize is the largest configuration Load reads, in bytes. HCL's parser
// allocates several hundred bytes per byte of source (~290 measured), so this
// bounds what a hostile or generated file can cost (~300 MB). A real beads.hcl
// is a few KB; 1,000 daemons of ~260 bytes each (the bench's scale row) did
// not fit in the 256 KiB allowed before.
const MaxFileSize = 1 << 20

// MaxNesting is the deepest nesting Load parses: brackets, braces, parentheses,
// blocks, strings and their ${...} and %{if/for} sequences, chains of unary
// operators and of conditionals all count one level each. HCL's parser recurses
// once per level, so 100,000 levels overflow the Go stack (a fatal error no
// recover catches) and 50,000 cost 800 MB; no real configuration nests 100 deep.
const MaxNesting = 100

// MaxNameLength is the longest daemon or profile name. A daemon's name makes
// file names, the longest a rotated and compressed log backup,
// "<name>.out-2006-01-02T15-04-05.000.log.gz" (the supervisor's backup layout),
// which must fit the 255 bytes most file systems allow for one name; export
// shortens its unit names (beadsctl-<project>-<name>.service,
// com.beadsctl.<project>.<name>.plist) to fit, with the temporary files
// written beside them.
const MaxNameLength = 255 - len(".out-2006-01-02T15-04-05.000.log.gz")

// checkName is the diagnostic for a daemon or profile name that cannot be
// used, or nil.
func checkName(what, name string, rng hcl.Range) *hcl.Diagnostic {
	if !validName(name) {
		return badName(what, name, rng)
	}
	if len(name) > MaxNameLength {
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + what + " name",
			Detail: fmt.Sprintf("The name is %d characters long; the limit is %d, since it becomes file names (logs and their rotated backups, "+
				"exported units) and a file name holds at most 255 bytes. Choose a shorter name.", len(name), MaxNameLength),
			Subject: rng.Ptr(),
		}
	}
	return nil
}

// nulDetail is what a string holding a NUL byte is told: every string of
// beads.hcl ends up in an argument, a path or an environment variable.
const nulDetail = `it contains a NUL byte ("\u0000"), which no command, argument, path or environment value can hold`

// hasNUL reports whether v, a string or a collection of strings, holds a NUL byte.
func hasNUL(v cty.Value) bool {
	if v.IsNull() || !v.IsKnown() {
		return false
	}
	switch {
	case v.Type() == cty.String:
		return strings.IndexByte(v.AsString(), 0) >= 0
	case v.CanIterateElements():
		for it := v.ElementIterator(); it.Next(); {
			if _, e := it.Element(); hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// CheckLimits reports a configuration over MaxFileSize or nested deeper than
// MaxNesting as an error diagnostic at the place where the limit is crossed.
// It runs before parsing and costs one pass over src with memory bounded by
// MaxNesting: it follows HCL's lexer (strings, heredocs, comments, template
// sequences) closely enough to count what the parser will recurse on, and
// where it cannot be sure (invalid UTF-8, a heredoc marker outside ASCII) it
// counts on HCL's own tokens instead. A filename ending in ".json" is read as
// HCL's JSON syntax, each string of it as a template.
func CheckLimits(src []byte, filename string) hcl.Diagnostics {
	diags, _ := checkLimits(src, filename)
	return diags
}

// checkLimits is CheckLimits, and for native syntax the places where the
// file may be cut into pieces parsed on their own (nativeScan).
func checkLimits(src []byte, filename string) (hcl.Diagnostics, []int) {
	if len(src) > MaxFileSize {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Configuration file too large",
			Detail: fmt.Sprintf("%s is larger than %d KiB, the most beadsctl reads (it was not parsed). A beads.hcl is a few KB: "+
				"declare each daemon once, move shared settings into env profiles, and keep data out of the file.", filename, MaxFileSize>>10),
			Subject: rangeAt(src, filename, MaxFileSize),
		}}, nil
	}
	var off int
	var splits []int
	if strings.HasSuffix(filename, ".json") {
		off = jsonDepth(src, MaxNesting)
	} else {
		off, splits = nativeScan(src, MaxNesting)
	}
	if off < 0 {
		return nil, splits
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Configuration nested too deeply",
		Detail: fmt.Sprintf("Here the nesting goes deeper than %d levels, the most beadsctl parses (the file was not parsed). "+
			"Brackets, braces, parentheses, strings and their ${...} sequences, runs of ! or - and chains of ? : each count one level. "+
			"Flatten the value: args is a flat list of strings and environment a flat map.", MaxNesting),
		Subject: rangeAt(src, filename, off),
	}}, nil
}

// readConfig reads at most MaxFileSize+1 bytes of path: enough for
// CheckLimits to refuse a larger file without reading all of it (or forever,
// from a device).
func readConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Read into a buffer of the file's size (io.ReadAll's own growth
	// allocated twice a 0.5 MB file, a page fault a page).
	var b bytes.Buffer
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() <= MaxFileSize {
		b.Grow(int(fi.Size()) + bytes.MinRead)
	}
	_, err = b.ReadFrom(io.LimitReader(f, MaxFileSize+1))
	return b.Bytes(), err
}

// rangeAt is the one-character range at byte off of src.
func rangeAt(src []byte, filename string, off int) *hcl.Range {
	if off > len(src) {
		off = len(src)
	}
	line := 1 + bytes.Count(src[:off], []byte("\n"))
	start := bytes.LastIndexByte(src[:off], '\n') + 1
	col := 1 + utf8.RuneCount(src[start:off])
	p := hcl.Pos{Line: line, Column: col, Byte: off}
	end := p
	if off < len(src) {
		end.Column++
		end.Byte++
	}
	return &hcl.Range{Filename: filename, Start: p, End: end}
}

type frameKind uint8

const (
	frameRoot    frameKind = iota
	frameBrace             // { } in expressions and block bodies
	frameBrack             // [ ]
	frameParen             // ( )
	frameInterp            // ${ }
	frameControl           // %{ }
	frameQuote             // "..."
	frameHeredoc           // <<EOT ... EOT
	frameBare              // a whole JSON string read as a template
)

// frame is one open construct. Its weight is 1 plus the unary operators,
// conditionals and template directives open in it: each is one more level of
// the parser's recursion until the frame's expression ends.
type frame struct {
	kind                    frameKind
	unary, cond, directives int
	operand                 bool // the last token ended an operand
	first                   bool // control: no keyword seen yet
	lineStart               bool // heredoc: at the start of a line of literal text
	marker                  []byte
}

// depthTracker counts nesting from lexical events. Levels are added when
// constructs open and removed only when they close properly; frames left open
// by a mismatched brace stay counted (an over-count, on a file that does not
// parse anyway). over is the offset where the count first exceeded limit.
type depthTracker struct {
	frames []frame
	depth  int
	max    int
	limit  int
	over   int

	// splits are the offsets of the lines that start after a top-level
	// block's closing brace and its line's end (parseChunked's places to
	// cut); closedTop is set from such a brace to the end of its line.
	splits    []int
	closedTop bool
	// halt, when set, is asked at each place the scan may cut whether
	// scanNative stops there (cutAround: what follows was scanned
	// before); halted says it did.
	halt   func(at int) bool
	halted bool
}

// lineEnd is the end of a line outside templates, next the offset after it.
func (t *depthTracker) lineEnd(next int) {
	t.newline()
	if t.closedTop && len(t.frames) == 1 {
		t.splits = append(t.splits, next)
		t.halted = t.halt != nil && t.halt(next)
	}
	t.closedTop = false
}

// closeTop is '}' (or '~}'): closeBrace, noting a top-level block's end.
func (t *depthTracker) closeTop() {
	top := len(t.frames) == 2 && t.frames[1].kind == frameBrace
	t.closeBrace()
	t.closedTop = top && len(t.frames) == 1
}

func newTracker(limit int, root frameKind) *depthTracker {
	return &depthTracker{frames: []frame{{kind: root}}, limit: limit, over: -1}
}

func (t *depthTracker) top() *frame { return &t.frames[len(t.frames)-1] }

func (t *depthTracker) add(n, off int) {
	t.depth += n
	if t.depth > t.max {
		t.max = t.depth
	}
	if t.depth > t.limit && t.over < 0 {
		t.over = off
	}
}

func (t *depthTracker) push(k frameKind, off int) {
	t.top().operand = false
	t.frames = append(t.frames, frame{kind: k, first: k == frameControl, lineStart: k == frameHeredoc})
	t.add(1, off)
}

// pop closes the top frame; leaked frames are removed without their weight.
func (t *depthTracker) pop(leak bool) {
	f := t.top()
	if !leak {
		t.depth -= 1 + f.unary + f.cond + f.directives
	}
	t.frames = t.frames[:len(t.frames)-1]
	t.top().operand = true
}

// closeKind closes the top frame when it is of kind k; a mismatched closer is
// a syntax error and changes nothing.
func (t *depthTracker) closeKind(k frameKind) {
	if len(t.frames) > 1 && t.top().kind == k {
		t.pop(false)
	}
}

// closeBrace is '}' (or '~}'): as HCL's lexer does, it closes the innermost
// brace, ${ or %{, whatever brackets are still open inside it.
func (t *depthTracker) closeBrace() {
	for i := len(t.frames) - 1; i > 0; i-- {
		switch t.frames[i].kind {
		case frameBrace, frameInterp, frameControl:
			for len(t.frames)-1 > i {
				t.pop(true)
			}
			t.pop(false)
			return
		}
	}
}

// unary is '!' or a '-' that does not follow an operand.
func (t *depthTracker) unary(off int) {
	f := t.top()
	f.unary++
	f.operand = false
	t.add(1, off)
}

func (t *depthTracker) question(off int) {
	f := t.top()
	f.cond++
	f.operand = false
	t.add(1, off)
}

// binary is an operator after an operand: the unary operators before that
// operand are done.
func (t *depthTracker) binary() {
	f := t.top()
	t.depth -= f.unary
	f.unary = 0
	f.operand = false
}

// endItem is a ',' (or a newline where newlines end an expression): the
// expression before it is complete.
func (t *depthTracker) endItem() {
	f := t.top()
	t.depth -= f.unary + f.cond
	f.unary, f.cond = 0, 0
	f.operand = false
}

func (t *depthTracker) newline() {
	switch t.top().kind {
	case frameRoot, frameBrace:
		t.endItem()
	}
}

// operand is an identifier or a number; the first identifier of a %{ } names
// a directive, and if/for open a level of the template around it.
func (t *depthTracker) operand(word []byte, off int) {
	f := t.top()
	f.operand = true
	if f.kind != frameControl || !f.first {
		return
	}
	f.first = false
	tmpl := &t.frames[len(t.frames)-2]
	switch string(word) {
	case "if", "for":
		tmpl.directives++
		t.add(1, off)
	case "endif", "endfor":
		if tmpl.directives > 0 {
			tmpl.directives--
			t.depth--
		}
	}
}

func (t *depthTracker) star() {
	if t.top().operand {
		t.binary()
		return
	}
	t.top().operand = true // a splat
}

// nativeScan returns the offset in src where nesting first exceeds limit, or
// -1, and the offsets of the lines that start a top-level item after a
// top-level block (nil when the scan was not sure or did not reach the end:
// the file is then not cut, chunks.go).
func nativeScan(src []byte, limit int) (int, []int) {
	if !utf8.Valid(src) {
		return tokenDepth(src, limit), nil
	}
	t := newTracker(limit, frameRoot)
	body := bytes.TrimPrefix(src, []byte("\xef\xbb\xbf")) // the lexer skips a BOM
	complete, sure := scanNative(t, body, len(src)-len(body))
	if !sure {
		return tokenDepth(src, limit), nil
	}
	if !complete || t.over >= 0 {
		return t.over, nil
	}
	return t.over, t.splits
}

// scanNative feeds src (at offset base of the file) to t, following HCL's
// lexer. sure is false when it meets what only HCL's lexer can decide;
// complete is false when it stopped before the end (the rest is one invalid
// token, or a line comment runs to the end).
func scanNative(t *depthTracker, src []byte, base int) (complete, sure bool) {
	n := len(src)
	at := func(i int) byte {
		if i < n {
			return src[i]
		}
		return 0
	}
	for i := 0; i < n && t.over < 0 && !t.halted; {
		f := t.top()
		off := base + i
		switch f.kind {
		case frameQuote, frameHeredoc, frameBare:
			// Template text: ${ and %{ open sequences, $${ and %%{ are literal.
			c := src[i]
			switch {
			case (c == '$' || c == '%') && at(i+1) == '{':
				k := frameInterp
				if c == '%' {
					k = frameControl
				}
				f.lineStart = false
				t.push(k, off)
				i += 2
				if at(i) == '~' {
					i++
				}
				continue
			case (c == '$' || c == '%') && at(i+1) == c && at(i+2) == '{':
				f.lineStart = false
				i += 3
				continue
			}
			if c == '\r' && at(i+1) != '\n' && f.kind != frameQuote {
				return false, true // the lexer reads the rest as one invalid token
			}
			switch f.kind {
			case frameQuote:
				switch {
				case c == '"':
					t.pop(false)
					i++
				case c == '\\' && i+1 < n && src[i+1] != '\n' && src[i+1] != '\r':
					_, w := utf8.DecodeRune(src[i+1:])
					i += 1 + w
				default:
					// The run of plain text up to what may end it or open
					// a sequence, at once (a byte a turn was most of a scan).
					i++
					for i < n && src[i] != '"' && src[i] != '\\' && src[i] != '$' && src[i] != '%' {
						i++
					}
				}
			case frameHeredoc:
				end := bytes.IndexByte(src[i:], '\n')
				if end < 0 {
					end = n
				} else {
					end += i
				}
				line := bytes.TrimSuffix(src[i:end], []byte("\r"))
				if f.lineStart && bytes.IndexByte(line, '\r') < 0 && bytes.Equal(bytes.TrimSpace(line), f.marker) {
					t.pop(false)
					i = end // the newline after the marker is a token of its own
					continue
				}
				// The rest of the line, up to a sequence that may open.
				j := i
				for j < end && src[j] != '$' && src[j] != '%' {
					if src[j] == '\r' && j+1 != end {
						return false, true // a lone CR: the lexer reads the rest as one invalid token
					}
					j++
				}
				if j < end {
					f.lineStart = false
					if j == i {
						j++
					}
					i = j
					continue
				}
				f.lineStart = true
				i = end + 1
			default:
				i++
			}
			continue
		}

		c := src[i]
		switch {
		case c == ' ' || c == '\t':
			for i++; i < n && (src[i] == ' ' || src[i] == '\t'); i++ {
			}
		case c == '\n':
			t.lineEnd(off + 1)
			i++
		case c == '\r' && at(i+1) == '\n':
			t.lineEnd(off + 2)
			i += 2
		case c == '#' || (c == '/' && at(i+1) == '/'):
			end := bytes.IndexByte(src[i:], '\n')
			if end < 0 {
				return false, true
			}
			t.lineEnd(off + end + 1)
			i += end + 1
		case c == '/' && at(i+1) == '*':
			end := bytes.Index(src[i+2:], []byte("*/"))
			if end < 0 { // not a comment: the lexer reads '/' and goes on
				t.binary()
				i++
				continue
			}
			i += 2 + end + 2
		case c == '"':
			t.push(frameQuote, off)
			i++
		case c == '<' && at(i+1) == '<':
			m, next, ok, sure := heredocIntro(src, i)
			if !sure {
				return false, false
			}
			if !ok { // '<', and the next one may open a heredoc
				t.binary()
				i++
				continue
			}
			t.push(frameHeredoc, off)
			t.top().marker = m
			i = next
		case c == '{':
			t.push(frameBrace, off)
			i++
		case c == '}':
			t.closeTop()
			i++
		case c == '~' && at(i+1) == '}':
			t.closeTop()
			i += 2
		case c == '[':
			t.push(frameBrack, off)
			i++
		case c == '(':
			t.push(frameParen, off)
			i++
		case c == ']':
			t.closeKind(frameBrack)
			i++
		case c == ')':
			t.closeKind(frameParen)
			i++
		case c == '!' && at(i+1) == '=':
			t.binary()
			i += 2
		case c == '!':
			t.unary(off)
			i++
		case c == '-':
			if t.top().operand {
				t.binary()
			} else {
				t.unary(off)
			}
			i++
		case c == '?':
			t.question(off)
			i++
		case c == ',':
			t.endItem()
			i++
		case c == '.' && at(i+1) == '.' && at(i+2) == '.':
			i += 3
		case c == '.':
			t.top().operand = false
			i++
		case c == '*':
			t.star()
			i++
		case c >= '0' && c <= '9':
			t.operand(nil, off)
			i = numberEnd(src, i)
		case isASCIIWord(c) || c >= utf8.RuneSelf:
			j := i
			for j < n && (isASCIIWord(src[j]) || src[j] == '-' || src[j] >= utf8.RuneSelf) {
				if src[j] >= utf8.RuneSelf {
					r, w := utf8.DecodeRune(src[j:])
					if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) && !unicode.Is(unicode.Mc, r) && !unicode.Is(unicode.Pc, r) {
						break
					}
					j += w
					continue
				}
				j++
			}
			if j == i { // a symbol outside ASCII: a token of its own
				_, w := utf8.DecodeRune(src[i:])
				t.binary()
				i += w
				continue
			}
			t.operand(src[i:j], off)
			i = j
		default:
			t.binary()
			i++
		}
	}
	return true, true
}

// numberEnd is where the number literal at src[i] ends, as HCL's lexer reads
// it: a digit, then digits, '.' and exponents (e5, E-5), not ending in '.'.
func numberEnd(src []byte, i int) int {
	isDigit := func(j int) bool { return j < len(src) && src[j] >= '0' && src[j] <= '9' }
	end := i + 1
	for j := i + 1; ; {
		switch {
		case isDigit(j):
			j++
			end = j
		case j < len(src) && src[j] == '.':
			j++
		case j < len(src) && (src[j] == 'e' || src[j] == 'E') && isDigit(j+1):
			j += 2
			end = j
		case j+1 < len(src) && (src[j] == 'e' || src[j] == 'E') && (src[j+1] == '+' || src[j+1] == '-') && isDigit(j+2):
			j += 3
			end = j
		default:
			return end
		}
	}
}

func isASCIIWord(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// heredocIntro reads "<<EOT\n" or "<<-EOT\n" at src[i:]: its marker and the
// offset after the newline when it is one. sure is false for a marker outside
// ASCII, where only HCL's lexer knows which letters an identifier may hold.
func heredocIntro(src []byte, i int) (marker []byte, next int, ok, sure bool) {
	j := i + 2
	if j < len(src) && src[j] == '-' {
		j++
	}
	start := j
	for j < len(src) && src[j] != '\n' && src[j] != '\r' && src[j] != ' ' && src[j] != '\t' {
		if src[j] >= utf8.RuneSelf {
			return nil, 0, false, false
		}
		if !(isASCIIWord(src[j]) || (j > start && src[j] == '-')) {
			return nil, 0, false, true
		}
		j++
	}
	if j == start || (src[start] >= '0' && src[start] <= '9') {
		return nil, 0, false, true
	}
	m := src[start:j]
	switch {
	case j < len(src) && src[j] == '\n':
		return m, j + 1, true, true
	case j+1 < len(src) && src[j] == '\r' && src[j+1] == '\n':
		return m, j + 2, true, true
	}
	return nil, 0, false, true
}

// tokenDepth is nativeScan's depth on HCL's own tokens: exact, but it costs the
// lexer's memory (about 500 bytes per byte of source), which MaxFileSize bounds.
func tokenDepth(src []byte, limit int) int {
	toks, _ := hclsyntax.LexConfig(src, "", hcl.InitialPos)
	t := newTracker(limit, frameRoot)
	feedTokens(t, toks)
	return t.over
}

var (
	tokenOpens = map[hclsyntax.TokenType]frameKind{
		hclsyntax.TokenOBrace: frameBrace, hclsyntax.TokenOBrack: frameBrack, hclsyntax.TokenOParen: frameParen,
		hclsyntax.TokenTemplateInterp: frameInterp, hclsyntax.TokenTemplateControl: frameControl,
		hclsyntax.TokenOQuote: frameQuote, hclsyntax.TokenOHeredoc: frameHeredoc,
	}
	tokenCloses = map[hclsyntax.TokenType]frameKind{
		hclsyntax.TokenCBrack: frameBrack, hclsyntax.TokenCParen: frameParen,
		hclsyntax.TokenCQuote: frameQuote, hclsyntax.TokenCHeredoc: frameHeredoc,
	}
)

func feedTokens(t *depthTracker, toks hclsyntax.Tokens) {
	for _, tok := range toks {
		if t.over >= 0 {
			return
		}
		off := tok.Range.Start.Byte
		if k, ok := tokenOpens[tok.Type]; ok {
			t.push(k, off)
			continue
		}
		if k, ok := tokenCloses[tok.Type]; ok {
			t.closeKind(k)
			continue
		}
		switch tok.Type {
		case hclsyntax.TokenCBrace, hclsyntax.TokenTemplateSeqEnd:
			t.closeBrace()
		case hclsyntax.TokenBang:
			t.unary(off)
		case hclsyntax.TokenMinus:
			if t.top().operand {
				t.binary()
			} else {
				t.unary(off)
			}
		case hclsyntax.TokenQuestion:
			t.question(off)
		case hclsyntax.TokenComma:
			t.endItem()
		case hclsyntax.TokenNewline:
			t.newline()
		case hclsyntax.TokenComment:
			if bytes.HasSuffix(tok.Bytes, []byte("\n")) {
				t.newline()
			}
		case hclsyntax.TokenIdent:
			t.operand(tok.Bytes, off)
		case hclsyntax.TokenNumberLit:
			t.operand(nil, off)
		case hclsyntax.TokenDot:
			t.top().operand = false
		case hclsyntax.TokenStar:
			t.star()
		case hclsyntax.TokenEllipsis, hclsyntax.TokenQuotedLit, hclsyntax.TokenStringLit,
			hclsyntax.TokenQuotedNewline, hclsyntax.TokenEOF:
		default:
			t.binary()
		}
	}
}

// jsonDepth is nativeScan's depth for HCL's JSON syntax: arrays and objects nest, and
// every string is also read as a template (HCL parses them when decoding),
// counted on its own.
func jsonDepth(src []byte, limit int) int {
	t := newTracker(limit, frameRoot)
	n := len(src)
	for i := 0; i < n; {
		switch c := src[i]; c {
		case '{':
			t.push(frameBrace, i)
		case '[':
			t.push(frameBrack, i)
		case '}':
			t.closeKind(frameBrace)
		case ']':
			t.closeKind(frameBrack)
		case '"':
			j := i + 1
			for j < n && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= n {
				return t.over
			}
			if s := src[i : j+1]; bytes.Contains(s, []byte("{")) {
				var str string
				if json.Unmarshal(s, &str) == nil && templateDepth([]byte(str), limit) {
					return i
				}
			}
			i = j + 1
			continue
		}
		if t.over >= 0 {
			return t.over
		}
		i++
	}
	return t.over
}

// scanSure is scanNative of a whole template, and whether it was sure.
func scanSure(t *depthTracker, s []byte) bool {
	_, sure := scanNative(t, s, 0)
	return sure
}

// templateDepth reports whether the template s nests deeper than limit.
func templateDepth(s []byte, limit int) bool {
	t := newTracker(limit, frameBare)
	if !utf8.Valid(s) || !scanSure(t, s) {
		toks, _ := hclsyntax.LexTemplate(s, "", hcl.InitialPos)
		t = newTracker(limit, frameBare)
		feedTokens(t, toks)
	}
	return t.over >= 0
}
