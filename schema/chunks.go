package schema

import (
	"bytes"
	"runtime"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// A large beads.hcl is parsed in pieces, one per CPU, at the same time: HCL's
// parser is most of a load (~50 µs a daemon) and a file of 1,000 daemons is
// 1,000 top-level blocks that parse the same alone as together.
//
// The pieces are cut only where CheckLimits' scan of the file (which follows
// HCL's lexer through strings, heredocs, comments and template sequences)
// saw a top-level block close and its line end, and only when that scan was
// sure of the whole file. A piece is parsed from its own position (line,
// column 1, byte), so every range is the one a whole parse gives. Any doubt
// gives the whole parse instead: a piece with any diagnostic (a cut in the
// wrong place leaves a string, heredoc, comment or block open in the piece
// before it, which is an error), a top-level attribute, and, in load and
// validate, any diagnostic of the resolution: every diagnostic a user sees
// comes from a whole parse. TestChunkedParseIsTheWholeParse and
// FuzzChunkedParse compare the joined body with the whole one.

// chunkMin is the smallest file cut into pieces (a smaller one parses in a
// few milliseconds); tests lower it.
var chunkMin = 16 << 10

// chunkCount is how many pieces a file is cut into at most.
var chunkCount = func() int { return min(runtime.GOMAXPROCS(0), 8) }

// parseSource checks the limits of src and parses it, in pieces when it can
// (chunked true); the file is nil when it cannot be resolved.
func parseSource(src []byte, filename string) (file *hcl.File, files map[string]*hcl.File, diags hcl.Diagnostics, chunked bool) {
	diags, splits := checkLimits(src, filename)
	if diags.HasErrors() {
		return nil, map[string]*hcl.File{}, diags, false
	}
	if !strings.HasSuffix(filename, ".json") && len(src) >= chunkMin {
		if f := parseChunked(src, filename, splits, chunkCount()); f != nil {
			return f, map[string]*hcl.File{filename: f}, nil, true
		}
	}
	file, files, diags = parseWhole(src, filename)
	return file, files, diags, false
}

// parseChunked parses src in at most n pieces cut at splits (offsets of line
// starts between top-level blocks) and joins them into the body a whole
// parse gives; nil when there are fewer than two pieces or any piece is in
// doubt.
func parseChunked(src []byte, filename string, splits []int, n int) *hcl.File {
	var cuts []int
	for k, j := 1, 0; k < n; k++ {
		want := k * len(src) / n
		for j < len(splits) && (splits[j] < want || len(cuts) > 0 && splits[j] <= cuts[len(cuts)-1]) {
			j++
		}
		if j == len(splits) {
			break
		}
		if splits[j] > 0 && splits[j] < len(src) {
			if bytes.HasPrefix(src[splits[j]:], utf8BOM) {
				// A piece's parse skips a BOM at its start; in the middle of
				// the file it is an invalid character.
				return nil
			}
			cuts = append(cuts, splits[j])
		}
	}
	if len(cuts) == 0 {
		return nil
	}
	bounds := append(append([]int{0}, cuts...), len(src))
	starts := make([]hcl.Pos, len(bounds)-1)
	starts[0] = hcl.InitialPos
	for i, line := 1, 1; i < len(starts); i++ {
		line += bytes.Count(src[bounds[i-1]:bounds[i]], []byte{'\n'})
		starts[i] = hcl.Pos{Line: line, Column: 1, Byte: bounds[i]}
	}
	bodies := make([]*hclsyntax.Body, len(starts))
	var wg sync.WaitGroup
	for i := range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, diags := hclsyntax.ParseConfig(src[bounds[i]:bounds[i+1]], filename, starts[i])
			if b, ok := f.Body.(*hclsyntax.Body); ok && len(diags) == 0 && len(b.Attributes) == 0 {
				bodies[i] = b
			}
		}()
	}
	wg.Wait()
	body := &hclsyntax.Body{Attributes: hclsyntax.Attributes{}}
	for _, b := range bodies {
		if b == nil {
			return nil
		}
		body.Blocks = append(body.Blocks, b.Blocks...)
	}
	first, last := bodies[0], bodies[len(bodies)-1]
	body.SrcRange = hcl.RangeBetween(first.SrcRange, last.SrcRange)
	body.EndRange = last.EndRange
	return &hcl.File{Body: body, Bytes: src}
}

// utf8BOM is the byte order mark a parse skips at the start of its input.
var utf8BOM = []byte("\xef\xbb\xbf")

// parallelMin is the fewest items per goroutine parallel starts one for.
const parallelMin = 32

// parallel runs f for 0..n-1 in contiguous runs on up to chunkCount()
// goroutines (inline when n is small); f of different i must not share
// what they write.
func parallel(n int, f func(i int)) {
	w := min(chunkCount(), n/parallelMin)
	if w < 2 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	for k := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k * n / w; i < (k+1)*n/w; i++ {
				f(i)
			}
		}()
	}
	wg.Wait()
}
