package schema

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/internal/logpath"
)

// The configuration cache: a command that loads (plan, apply, status with a
// file, ...) or validates an unchanged beads.hcl reads the resolution the
// previous command made instead of parsing the file again. HCL's parser alone
// costs ~50 µs a daemon, so 1,000 daemons took ~100 ms a command; a hit costs
// reading one file, one HMAC over it and the source, decoding, and a stat of
// each log path (README, "Performance").
//
// What is cached, and why it is safe (issue 13: nothing beadsctl records may
// hold a sensitive value or a digest of one a guess can reproduce):
//
//   - Only a resolution without any diagnostic (warnings included): a hit
//     has nothing to render, so it needs no parsed file.
//   - Only one that read nothing but the file itself and HOME: no env() call
//     (in any block evaluated), no env_file (those may hold secrets, and the
//     resolved values, environment, args, paths, carry them in clear), no
//     dolt_server block (it reads bd's workspace files and port file, which
//     change under beadsctl: apply itself edits config.yaml). Such a
//     configuration is parsed every time.
//   - Only one with no sensitive key (for a load: in the daemons resolved).
//     A sensitive value written in beads.hcl itself is then never copied.
//     The daemon hashes an entry holds (Daemon.Hash, unkeyed as Load gives
//     them) therefore cover only what beads.hcl says in clear beside it.
//   - The file's bytes are not stored: an entry holds its payload and an
//     HMAC-SHA256, with the project's secret key (state.json's key), over
//     this binary's identity (binaryStamp), the kind (load under which
//     profile, validate, or one of validate's runs), the path as named and
//     absolute, HOME and the payload; the payload holds an HMAC of the
//     file's bytes (wholeTag) and a load entry's one of each of its
//     top-level blocks (incremental.go), with the same key. A hit is
//     an entry whose MAC matches what this command reads now and made from
//     this very file: any change to the file, its path, the profile, HOME or
//     the binary (a rebuild changes its size or modification time) misses,
//     and so does a torn or altered entry. After a change to the file only,
//     the blocks whose bytes are the entry's are taken from it and the rest
//     resolved (incremental.go says when, and why that is exactly a full
//     load). Without the key (nothing applied in the project yet) nothing is
//     cached.
//   - Log paths are checked again on a hit (the stat Load does: a log path
//     that became a folder or a FIFO is an error), and any doubt falls back
//     to a full load, which then gives the diagnostic.
//
// Entries are written without fsync, by rename to a free name (store).

// Cache is where LoadCached and ValidateCached keep their entries.
type Cache struct {
	// Dir is the folder of the entries (the project's state folder); it
	// must exist: the cache never creates it.
	Dir string
	// Key is the project's secret key; without one nothing is cached.
	Key []byte

	last cacheOutcome // what the last load or validate through it did (tests)
}

type cacheOutcome int

const (
	cacheNone        cacheOutcome = iota
	cacheHit                      // the entry was made from this very file
	cacheIncremental              // of another version of it (incremental.go)
	cacheMiss                     // a full load
)

// inputs records what a resolution read besides the file and HOME.
type inputs struct {
	env atomic.Bool // env() was called
}

const cacheMagic = "beadsctl config cache v2\n"

// maxEntry bounds what lookup reads of an entry (1,000 daemons take ~1 MB).
const maxEntry = 256 << 20

// CacheFilePrefix starts the name of every entry in Cache.Dir.
const CacheFilePrefix = "config-cache"

// binaryStamp identifies the running binary: its path, size and modification
// time (a rebuilt beadsctl or test binary is another one), its build
// information (module versions, VCS revision, -ldflags with the version) and
// the daemon hash's version. "" when it cannot be known: nothing is cached
// then.
var binaryStamp = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return ""
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	return hashVersion + exe + "\x00" + strconv.FormatInt(fi.Size(), 10) + "\x00" + strconv.FormatInt(fi.ModTime().UnixNano(), 10) + "\x00" + bi.String()
})

// LoadCached is Load through c (nil: Load). On a hit, whole or incremental
// (incremental.go), the files map is empty: a hit never has a diagnostic to
// render.
func LoadCached(c *Cache, path, profile string, environ []string) (*Config, map[string]*hcl.File, hcl.Diagnostics) {
	if !c.usable() {
		return Load(path, profile, environ)
	}
	src, abs, diags := readFile(path)
	if diags.HasErrors() {
		return nil, map[string]*hcl.File{}, diags
	}
	kind := "load-" + profile
	home := envHome(environ)
	whole := c.wholeTag(src)
	e := c.entry(kind, path, abs, home)
	if e != nil && e.Config != nil && hmac.Equal(e.Whole, whole) && logsRegular(e.Config.Daemons) {
		c.last = cacheHit
		return e.Config, map[string]*hcl.File{}, nil
	}
	var in inputs
	ct := c.cutSource(src, path, e)
	if cfg, pieces, ok := ct.incremental(e, abs, profile, environ, &in); ok {
		c.last = cacheIncremental
		c.keep(kind, path, abs, home, whole, cfg, pieces, &in)
		return cfg, map[string]*hcl.File{}, nil
	}
	c.last = cacheMiss
	cfg, _, files, diags := load(src, path, abs, profile, environ, &in)
	if cfg != nil && len(diags) == 0 {
		c.keep(kind, path, abs, home, whole, cfg, ct.pieces(bodyOf(files[path])), &in)
	}
	return cfg, files, diags
}

// validEntry is what a validate entry holds: the profiles declared and the
// log paths of every daemon under every profile (to check them again).
type validEntry struct {
	Whole    []byte // wholeTag of the file
	Profiles []string
	Logs     []string
}

// ValidateCached is Validate through c (nil: Validate); on a hit, with no
// diagnostic, the files map is empty. After an edit it resolves the file
// incrementally under no profile and each declared one, from the entries
// vrun-PROFILE (load entries of its own: a plan after a validate still
// reads its own).
func ValidateCached(c *Cache, path string, environ []string) ([]string, map[string]*hcl.File, hcl.Diagnostics) {
	if !c.usable() {
		return Validate(path, environ)
	}
	src, abs, diags := readFile(path)
	if diags.HasErrors() {
		return nil, map[string]*hcl.File{}, diags
	}
	home := envHome(environ)
	whole := c.wholeTag(src)
	if payload := c.lookupOf("validate", path, abs, home, whole); payload != nil {
		var e validEntry
		if decodeAny(payload, &e) == nil && hmac.Equal(e.Whole, whole) && pathsRegular(e.Logs) {
			c.last = cacheHit
			return e.Profiles, map[string]*hcl.File{}, nil
		}
	}
	var in inputs
	base := c.entry("vrun-", path, abs, home)
	ct := c.cutSource(src, path, base)
	if profiles, ok := c.validateIncremental(ct, base, path, abs, home, whole, environ, &in); ok {
		c.last = cacheIncremental
		return profiles, map[string]*hcl.File{}, nil
	}
	c.last = cacheMiss
	profiles, files, diags, cfgs := validate(src, path, abs, environ, &in)
	if len(diags) == 0 {
		c.keepValidate(path, abs, home, whole, profiles, cfgs, ct.pieces(bodyOf(files[path])), &in)
	}
	return profiles, files, diags
}

// validateIncremental is validate's resolutions, each incremental (the one
// under no profile from e, the entry vrun-); false when one is not.
func (c *Cache) validateIncremental(ct *cut, e *loadEntry, path, abs, home string, whole []byte, environ []string, in *inputs) ([]string, bool) {
	if ct == nil {
		return nil, false
	}
	run := func(profile string) (*Config, []piece, bool) {
		return ct.incremental(c.entry("vrun-"+profile, path, abs, home), abs, profile, environ, in)
	}
	base, pieces, ok := ct.incremental(e, abs, "", environ, in)
	if !ok {
		return nil, false
	}
	cfgs := []*Config{base}
	for _, p := range base.Profiles {
		cfg, _, ok := run(p)
		if !ok {
			return nil, false
		}
		cfgs = append(cfgs, cfg)
	}
	c.keepValidate(path, abs, home, whole, base.Profiles, cfgs, pieces, in)
	return base.Profiles, true
}

// keepValidate stores what a validate without a diagnostic found: the
// validate entry (profiles and log paths) and each resolution's run entry.
func (c *Cache) keepValidate(path, abs, home string, whole []byte, profiles []string, cfgs []*Config, pieces []piece, in *inputs) {
	if in.env.Load() || len(cfgs) != len(profiles)+1 {
		return
	}
	e := validEntry{Whole: whole, Profiles: profiles}
	for _, cfg := range cfgs {
		if cfg == nil || !storable(cfg.Daemons, false) {
			return
		}
		for i := range cfg.Daemons {
			e.Logs = append(e.Logs, logPaths(&cfg.Daemons[i])...)
		}
	}
	if b, err := encodeAny(entryBuffer(len(e.Logs)*64), &e); err == nil {
		c.store("validate", path, abs, home, b)
	}
	for i, cfg := range cfgs {
		p := ""
		if i > 0 {
			p = profiles[i-1]
		}
		c.keep("vrun-"+p, path, abs, home, whole, cfg, pieces, in)
	}
}

// keep stores a load entry of kind for cfg, resolved from the file whose
// wholeTag is whole, when it may be (storable), and removes the entries of
// profiles cfg does not declare.
func (c *Cache) keep(kind, path, abs, home string, whole []byte, cfg *Config, pieces []piece, in *inputs) {
	if in.env.Load() || !storable(cfg.Daemons, true) {
		return
	}
	if b, err := encodeAny(entryBuffer(len(cfg.Daemons)*320), &loadEntry{Whole: whole, Config: cfg, Pieces: pieces}); err == nil {
		c.store(kind, path, abs, home, b)
	}
	c.collect(cfg.Profiles)
}

// entry is the load entry kind, when its MAC matches; nil else.
func (c *Cache) entry(kind, path, abs, home string) *loadEntry {
	payload := c.lookup(kind, path, abs, home)
	if payload == nil {
		return nil
	}
	e := &loadEntry{}
	if decodeAny(payload, e) != nil {
		return nil
	}
	return e
}

// collect removes the load and run entries of profiles not in profiles:
// one entry a kind, and no kind of a profile the file no longer declares.
func (c *Cache) collect(profiles []string) {
	ents, err := os.ReadDir(c.Dir)
	if err != nil {
		return
	}
	for _, ent := range ents {
		for _, kind := range []string{"load-", "vrun-"} {
			p, ok := strings.CutPrefix(ent.Name(), CacheFilePrefix+"-"+kind)
			if ok && p != "" && !slices.Contains(profiles, p) {
				_ = os.Remove(filepath.Join(c.Dir, ent.Name()))
			}
		}
	}
}

// bodyOf is f's body (nil for no file).
func bodyOf(f *hcl.File) hcl.Body {
	if f == nil {
		return nil
	}
	return f.Body
}

func (c *Cache) usable() bool {
	return c != nil && c.Dir != "" && len(c.Key) > 0 && binaryStamp() != ""
}

// storable reports whether daemons read nothing but beads.hcl, HOME and
// the stat of their log paths, and, with values (their resolved values are
// stored), have no sensitive key. What else a resolution reads, each a
// reason not to cache: env() (inputs.env), env files (EnvFiles), and for a
// dolt_server block bd's workspace files (config.yaml, metadata.json) and
// the server's port file (Dolt). The path as named and the absolute one
// (the working folder) are in the MAC.
func storable(ds []Daemon, values bool) bool {
	for i := range ds {
		if len(ds[i].EnvFiles) > 0 || ds[i].Dolt != nil || values && len(ds[i].Sensitive) > 0 {
			return false
		}
	}
	return true
}

func logPaths(d *Daemon) []string {
	var out []string
	for _, p := range []string{d.Logs.Out, d.Logs.Error, d.Logs.Combined} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func logsRegular(ds []Daemon) bool {
	paths := make([]string, 0, 2*len(ds))
	for i := range ds {
		paths = append(paths, logPaths(&ds[i])...)
	}
	return pathsRegular(paths)
}

// pathsRegular is regularLogFile's check without its diagnostic: every path
// is missing or a file logs may be appended to. Many are checked in
// parallel (parallel: a core each; 2,000 stats were a fifth of a load after
// an edit).
func pathsRegular(paths []string) bool {
	at := openFolders(paths)
	defer at.close()
	var bad atomic.Bool
	parallel(len(paths), func(i int) {
		if !bad.Load() && !at.regular(i, paths[i]) {
			bad.Store(true)
		}
	})
	return !bad.Load()
}

// regularPath is pathsRegular of one path.
func regularPath(p string) bool {
	fi, err := os.Stat(p)
	return err != nil || logpath.Check(p, fi) == nil
}

func (c *Cache) file(kind string) string {
	return filepath.Join(c.Dir, CacheFilePrefix+"-"+kind)
}

// tag is the entry's MAC over everything a hit depends on.
func (c *Cache) tag(kind, path, abs, home string, payload []byte) []byte {
	m := hmac.New(sha256.New, c.Key)
	var n [binary.MaxVarintLen64]byte
	for _, part := range [][]byte{[]byte(cacheMagic), []byte(binaryStamp()), []byte(kind), []byte(path), []byte(abs), []byte(home), payload} {
		m.Write(n[:binary.PutUvarint(n[:], uint64(len(part)))])
		m.Write(part)
	}
	return m.Sum(nil)
}

// lookup is the payload of the entry kind when its MAC matches the inputs
// given, else nil. Anything but a regular file there (a FIFO planted at the
// entry's path blocked every plan in open(2), SIGTERM included) is a miss.
func (c *Cache) lookup(kind, path, abs, home string) []byte {
	return c.lookupOf(kind, path, abs, home, nil)
}

// lookupOf is lookup of an entry whose payload starts with whole, a
// wholeTag, encoded (a validEntry's Whole): one that does not is a miss
// before its MAC is computed or anything decoded, which after an edit was
// all a validate did with the validate entry (~0.3 ms of 1,000 daemons).
// Only a miss is decided on bytes not authenticated yet.
func (c *Cache) lookupOf(kind, path, abs, home string, whole []byte) []byte {
	b, err := atomicfile.ReadOwn(c.file(kind), maxEntry)
	if err != nil {
		return nil
	}
	rest, ok := bytes.CutPrefix(b, []byte(cacheMagic))
	if !ok || len(rest) < sha256.Size {
		return nil
	}
	if whole != nil && !bytes.HasPrefix(rest, append(binary.AppendUvarint(nil, uint64(len(whole))+1), whole...)) {
		return nil
	}
	payload, tag := rest[:len(rest)-sha256.Size], rest[len(rest)-sha256.Size:]
	if !hmac.Equal(tag, c.tag(kind, path, abs, home, payload)) {
		return nil
	}
	return payload
}

// entryBuffer is where an entry of about n bytes of payload is encoded: the
// magic, then the payload, with room for the MAC (store): the payload was
// grown by doubling, then copied.
func entryBuffer(n int) []byte {
	return append(make([]byte, 0, len(cacheMagic)+n+sha256.Size), cacheMagic...)
}

// store writes the entry kind, b being the magic and the payload
// (entryBuffer; atomicfile.WriteCache: a crash leaves the old entry, the
// new, none, or an empty one that fails its MAC, and a reader at that moment
// finds one of the first three); a failure only costs the next command a
// parse, so it is ignored.
func (c *Cache) store(kind, path, abs, home string, b []byte) {
	b = append(b, c.tag(kind, path, abs, home, b[len(cacheMagic):])...)
	_ = atomicfile.WriteCache(c.file(kind), b, 0o600)
}
