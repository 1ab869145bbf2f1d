package schema

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// The configuration cache is incremental, a top-level block at a time: after
// an edit of one daemon of 1,000, a load parses, decodes, resolves and hashes
// that daemon's block and takes the 999 others from the entry the previous
// command made (the whole file was parsed again: 140 ms a validate).
//
// The file is cut into pieces where CheckLimits' scan saw a top-level block
// close and its line end (the places the chunked parse cuts, chunks.go): one
// top-level block each, with the comments and blank lines before it. An
// entry (loadEntry) records, with the Config it resolved, each piece of the
// file it was made from: an HMAC with the project key over the piece's bytes
// (pieceTag; the bytes are not stored), where it started, and the daemon it
// declares when it declares one daemon and nothing else (a daemon piece).
// Every other piece (env profiles, metrics, alerts, a run of comments at the
// end) is context.
//
// A load of a file the entry was not made from (incremental) then:
//
//   - cuts it (any doubt of the scan, any limit crossed: no incremental load);
//   - takes the resolved daemon of each daemon piece whose bytes the entry
//     knows, its ranges moved by as many lines and bytes as the piece moved
//     (a piece starts at column 1 and parses the same wherever it is);
//   - parses every other piece, each from its own position as the chunked
//     parse does, and resolves the daemons of the new pieces and all the
//     context for real, with the daemons taken: every check of the whole
//     (names, profiles, log collisions, dependencies, alerts) runs over them
//     all (resolveFile's prior);
//   - gives up, for a full load, on any diagnostic (every diagnostic a user
//     sees comes from a whole parse), on a piece that does not parse alone,
//     on two pieces with the same bytes, and when the context is not,
//     piece for piece, the bytes it was: a daemon's resolution reads only
//     its own block, its profile's block for it (context), the path, the
//     profile, HOME and the binary (the entry's MAC), so a changed profile
//     invalidates every daemon taken.
//
// A daemon's ranges (DeclRange, its dependencies') point into its own piece,
// or into a context piece (a profile's depends_on): each is moved as the
// piece it points into moved. TestIncrementalIsAFullLoad and
// FuzzIncrementalLoad compare the result with a full load's, reflect.DeepEqual,
// over random edits, moves, insertions, deletions and renames.
//
// Only what a full load would store is stored (cache.go's rules: no
// diagnostic, no env(), no env file, no dolt_server, no sensitive key), and
// each kind keeps one entry, rewritten whole: the files stay one a kind,
// and those of profiles no longer declared are removed (collect).

// piece is one piece of the file an entry was made from.
type piece struct {
	Tag  []byte // pieceTag of its bytes
	Line int    // where it started
	Byte int
	Len  int // its bytes
	// Daemon is the daemon it declares when it declares one daemon and
	// nothing else; "" for context.
	Daemon string
}

// loadEntry is what a load entry holds (and a validate run's: vrun-PROFILE).
type loadEntry struct {
	Whole  []byte // wholeTag of the file it was made from: a hit
	Config *Config
	Pieces []piece // nil when the file could not be cut
}

// cut is a file cut into pieces, parsed lazily (once for all the runs of a
// validate).
type cut struct {
	src      []byte
	filename string
	bounds   []int     // piece i is src[bounds[i]:bounds[i+1]]
	starts   []hcl.Pos // where each starts
	tags     [][]byte
	bodies   []*hclsyntax.Body // parsed pieces (nil: not yet)
	failed   bool              // a piece did not parse alone without a diagnostic
}

// cutSource cuts src for c; nil when it cannot be (JSON, a limit crossed,
// the scan not sure, a BOM where a piece would start). e, when not nil, is
// an entry made of another version of the file: the pieces it records that
// src still starts and ends with are cut where they were, and only what lies
// between is scanned (cutAround); the cut is the same.
func (c *Cache) cutSource(src []byte, filename string, e *loadEntry) *cut {
	if strings.HasSuffix(filename, ".json") {
		return nil
	}
	m := hmac.New(sha256.New, c.Key)
	bounds, tags := cutAround(src, e, m)
	if bounds == nil {
		diags, splits := checkLimits(src, filename)
		if diags.HasErrors() || splits == nil {
			return nil
		}
		if bounds = boundsOf(src, 0, splits); bounds == nil {
			return nil
		}
		bounds = append(bounds, len(src))
		tags = make([][]byte, len(bounds)-1)
	}
	n := len(bounds) - 1
	ct := &cut{src: src, filename: filename, bounds: bounds, starts: make([]hcl.Pos, n), tags: tags, bodies: make([]*hclsyntax.Body, n)}
	for i, line := 0, 1; i < n; i++ {
		if i > 0 {
			line += bytes.Count(src[bounds[i-1]:bounds[i]], []byte{'\n'})
		}
		ct.starts[i] = hcl.Pos{Line: line, Column: 1, Byte: bounds[i]}
		if ct.tags[i] == nil {
			ct.tags[i] = pieceTag(m, src[bounds[i]:bounds[i+1]])
		}
	}
	return ct
}

// boundsOf is from, then each of splits (places the scan may cut src at)
// after it and before src's end; nil when a BOM starts one (a piece's parse
// would skip it, chunks.go).
func boundsOf(src []byte, from int, splits []int) []int {
	bounds := []int{from}
	for _, s := range splits {
		if s > bounds[len(bounds)-1] && s < len(src) {
			if bytes.HasPrefix(src[s:], utf8BOM) {
				return nil
			}
			bounds = append(bounds, s)
		}
	}
	return bounds
}

// pieceTag is the tag of a piece's bytes, with m the project key's HMAC.
func pieceTag(m hash.Hash, b []byte) []byte {
	m.Reset()
	m.Write([]byte(pieceDomain))
	m.Write(b)
	return m.Sum(nil)
}

// cutAround is the cut of src (its bounds, src's end last, and the tags of
// the pieces it knows, nil for the others) from e's pieces, or nil for a
// full scan. From the start of src on, a piece of e found there byte for
// byte is cut as it was: the limits scan is in the same state at each bound
// of a piece as it was in e's file (outside every construct, nothing
// counted: e's file parsed), and so it is at the piece's end. Where none is
// found, the full scan's scan runs there (over the rest of the file, as the
// full scan sees it) until it may cut where a piece of e starts, in that
// same state again. The scan of a piece depended on what followed it only
// through a search that failed, a '/*' without '*/' (an operator, not a
// comment, which no file that parses has outside a string): a file with a
// '/*' is scanned in full. FuzzIncrementalCut compares it with the full
// scan's cut.
func cutAround(src []byte, e *loadEntry, m hash.Hash) ([]int, [][]byte) {
	if e == nil || len(e.Pieces) == 0 || e.Pieces[0].Byte != 0 || len(src) > MaxFileSize || bytes.Contains(src, []byte("/*")) {
		return nil, nil
	}
	ps := e.Pieces
	for j := range ps {
		if ps[j].Len <= 0 || j > 0 && ps[j].Byte != ps[j-1].Byte+ps[j-1].Len {
			return nil, nil
		}
	}
	// found is the piece of e at pos among the next few from i (an edit,
	// an insertion or a deletion or two shift them), and its tag. The last
	// one ended at the end of e's file, not where the scan could cut: it
	// is found only at the end of src.
	found := func(pos, i int) (int, []byte) {
		for j := i; j < min(i+resync, len(ps)); j++ {
			if end := pos + ps[j].Len; end < len(src) && j < len(ps)-1 || end == len(src) {
				if t := pieceTag(m, src[pos:pos+ps[j].Len]); hmac.Equal(t, ps[j].Tag) {
					return j, t
				}
			}
		}
		return -1, nil
	}
	var bounds []int
	var tags [][]byte
	for pos, i, known := 0, 0, 0; pos < len(src); {
		if j, t := found(pos, i); j >= 0 {
			bounds, tags = append(bounds, pos), append(tags, t)
			pos, i = pos+ps[j].Len, j+1
			known++
			continue
		}
		body, base := src[pos:], pos
		if pos == 0 {
			body = bytes.TrimPrefix(src, utf8BOM) // the lexer skips a BOM
			base = len(src) - len(body)
		}
		t := newTracker(MaxNesting, frameRoot)
		next := -1 // the piece of e the scan stopped at
		t.halt = func(at int) bool {
			next, _ = found(at, i)
			return next >= 0
		}
		complete, sure := scanNative(t, body, base)
		to := len(src) // where the scan stopped
		if t.halted {
			to = t.splits[len(t.splits)-1]
		}
		if !sure || !complete || t.over >= 0 || t.halted && t.depth != 0 || !utf8.Valid(src[pos:to]) {
			return nil, nil
		}
		mid := boundsOf(src, pos, t.splits)
		if mid == nil || !t.halted && known == 0 {
			return nil, nil // nothing known: the full scan, which costs the same
		}
		if t.halted {
			mid = mid[:len(mid)-1] // to, where a piece of e starts
		}
		bounds, tags = append(bounds, mid...), append(tags, make([][]byte, len(mid))...)
		pos, i = to, next
	}
	if len(bounds) == 0 {
		return nil, nil
	}
	for _, b := range bounds[1:] {
		if bytes.HasPrefix(src[b:], utf8BOM) {
			return nil, nil // boundsOf's rule, the pieces found included
		}
	}
	return append(bounds, len(src)), tags
}

// resync is how many pieces of an entry cutAround looks among for the one
// at a place, from the one after the last it found.
const resync = 3

// pieceDomain and wholeDomain keep a piece's tag apart from a whole file's.
const (
	pieceDomain = "beadsctl config piece\x00"
	wholeDomain = "beadsctl config file\x00"
)

// wholeTag is the HMAC of a whole file, as an entry records it.
func (c *Cache) wholeTag(src []byte) []byte {
	m := hmac.New(sha256.New, c.Key)
	m.Write([]byte(wholeDomain))
	m.Write(src)
	return m.Sum(nil)
}

// parse parses the pieces in want (indexes) not parsed yet, in parallel;
// false when any has a diagnostic or a top-level attribute.
func (ct *cut) parse(want []int) bool {
	var todo []int
	for _, i := range want {
		if ct.bodies[i] == nil {
			todo = append(todo, i)
		}
	}
	ok := make([]bool, len(todo))
	parallel(len(todo), func(k int) {
		i := todo[k]
		f, diags := hclsyntax.ParseConfig(ct.src[ct.bounds[i]:ct.bounds[i+1]], ct.filename, ct.starts[i])
		if b, isBody := f.Body.(*hclsyntax.Body); isBody && len(diags) == 0 && len(b.Attributes) == 0 {
			ct.bodies[i], ok[k] = b, true
		}
	})
	for _, o := range ok {
		if !o {
			ct.failed = true
		}
	}
	return !ct.failed
}

// daemonOf is the daemon a body declares alone, else "".
func daemonOf(b *hclsyntax.Body) string {
	if len(b.Blocks) == 1 && b.Blocks[0].Type == "daemon" && len(b.Blocks[0].Labels) == 1 {
		return b.Blocks[0].Labels[0]
	}
	return ""
}

// pieces is what an entry records of the file ct cut, given the body a full
// parse gave (its blocks are placed in the pieces by where they start); nil
// when ct is nil.
func (ct *cut) pieces(body hcl.Body) []piece {
	b, ok := body.(*hclsyntax.Body)
	if ct == nil || !ok {
		return nil
	}
	in := make([][]*hclsyntax.Block, len(ct.tags))
	for _, blk := range b.Blocks {
		i := sort.SearchInts(ct.bounds, blk.TypeRange.Start.Byte+1) - 1
		if i < 0 || i >= len(in) {
			return nil
		}
		in[i] = append(in[i], blk)
	}
	out := make([]piece, len(ct.tags))
	for i := range out {
		out[i] = piece{Tag: ct.tags[i], Line: ct.starts[i].Line, Byte: ct.starts[i].Byte, Len: ct.bounds[i+1] - ct.bounds[i],
			Daemon: daemonOf(&hclsyntax.Body{Blocks: in[i]})}
	}
	return out
}

// incremental resolves the file ct cut under profile from e, an entry made
// of another version of it (see above): the Config a full load gives and
// the pieces to record, or ok false (then nothing was decided: load it in
// full).
func (ct *cut) incremental(e *loadEntry, abs, profile string, environ []string, in *inputs) (*Config, []piece, bool) {
	if ct == nil || ct.failed || e == nil || e.Config == nil || len(e.Pieces) == 0 {
		return nil, nil, false
	}
	// The tags as keys of their own size (a string a tag, and maps grown
	// by doubling, were a tenth of a validate after an edit).
	old := make(map[tagKey]int, len(e.Pieces))
	for j, p := range e.Pieces {
		k, ok := keyOf(p.Tag)
		if !ok {
			return nil, nil, false
		}
		if _, dup := old[k]; dup {
			old[k] = -1
			continue
		}
		old[k] = j
	}
	now := make(map[tagKey]int, len(ct.tags))
	for i, t := range ct.tags {
		k, _ := keyOf(t)
		if _, dup := now[k]; dup {
			return nil, nil, false // the same bytes twice: a duplicate the full load names
		}
		now[k] = i
	}
	out := make([]piece, len(ct.tags))
	taken := make([]int, len(ct.tags)) // the entry's piece of each daemon taken, else -1
	var fresh []int
	for i, t := range ct.tags {
		taken[i] = -1
		out[i] = piece{Tag: t, Line: ct.starts[i].Line, Byte: ct.starts[i].Byte, Len: ct.bounds[i+1] - ct.bounds[i]}
		k, _ := keyOf(t)
		if j, ok := old[k]; ok && j >= 0 && e.Pieces[j].Daemon != "" {
			taken[i] = j
			out[i].Daemon = e.Pieces[j].Daemon
			continue
		}
		fresh = append(fresh, i)
	}
	if !ct.parse(fresh) {
		return nil, nil, false
	}
	// The context, piece for piece, must be the entry's.
	var blocks []*hclsyntax.Block
	var context, was [][]byte
	for _, i := range fresh {
		b := ct.bodies[i]
		blocks = append(blocks, b.Blocks...)
		if out[i].Daemon = daemonOf(b); out[i].Daemon == "" {
			context = append(context, ct.tags[i])
		}
	}
	for _, p := range e.Pieces {
		if p.Daemon == "" {
			was = append(was, p.Tag)
		}
	}
	if len(context) != len(was) {
		return nil, nil, false
	}
	for k := range context {
		if !bytes.Equal(context[k], was[k]) {
			return nil, nil, false
		}
	}
	// The daemons taken, their ranges moved with their pieces.
	byName := make(map[string]*Daemon, len(e.Config.Daemons))
	for k := range e.Config.Daemons {
		byName[e.Config.Daemons[k].Name] = &e.Config.Daemons[k]
	}
	move := func(r *hcl.Range) bool {
		if *r == (hcl.Range{}) {
			return true
		}
		j := sort.Search(len(e.Pieces), func(k int) bool { return e.Pieces[k].Byte > r.Start.Byte }) - 1
		if j < 0 || r.End.Byte > pieceEnd(e.Pieces, j, r.End.Byte) {
			return false
		}
		k, _ := keyOf(e.Pieces[j].Tag)
		i, ok := now[k]
		if !ok || old[k] < 0 {
			return false
		}
		dl, db := ct.starts[i].Line-e.Pieces[j].Line, ct.starts[i].Byte-e.Pieces[j].Byte
		r.Start.Line += dl
		r.End.Line += dl
		r.Start.Byte += db
		r.End.Byte += db
		return true
	}
	var prior []*Daemon
	for _, j := range taken {
		if j < 0 {
			continue
		}
		d := byName[e.Pieces[j].Daemon]
		if d == nil || !move(&d.DeclRange) {
			return nil, nil, false
		}
		for k := range d.DependsOn {
			if !move(&d.DependsOn[k].Range) {
				return nil, nil, false
			}
		}
		byName[e.Pieces[j].Daemon] = nil // taken once
		prior = append(prior, d)
	}
	body := &hclsyntax.Body{Blocks: blocks, Attributes: hclsyntax.Attributes{}}
	end := hcl.Pos{Line: ct.starts[len(ct.starts)-1].Line + bytes.Count(ct.src[ct.bounds[len(ct.bounds)-2]:], []byte{'\n'}), Byte: len(ct.src)}
	body.SrcRange = hcl.Range{Filename: ct.filename, Start: hcl.InitialPos, End: end}
	body.EndRange = hcl.Range{Filename: ct.filename, Start: end, End: end}
	file := &hcl.File{Body: body, Bytes: ct.src}
	cfg, _, diags := resolveFile(file, map[string]*hcl.File{ct.filename: file}, abs, profile, environ, in, prior)
	if cfg == nil || len(diags) > 0 || !logsRegular(cfg.Daemons) {
		return nil, nil, false
	}
	return cfg, out, true
}

// tagKey is a tag as a map key.
type tagKey [sha256.Size]byte

// keyOf is t as a key; false when it is not a tag's size (no tag is).
func keyOf(t []byte) (tagKey, bool) {
	var k tagKey
	return k, copy(k[:], t) == len(k) && len(t) == len(k)
}

// pieceEnd is where piece j of ps ends, as far as its successor says (the
// last one: limit, which cannot be checked).
func pieceEnd(ps []piece, j, limit int) int {
	if j+1 < len(ps) {
		return ps[j+1].Byte
	}
	return limit
}
