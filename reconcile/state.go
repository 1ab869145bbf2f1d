package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/schema"
)

// StateFormatVersion is the format_version this build writes and the highest it reads.
const StateFormatVersion = 1

// State is .beadsctl/state.json: what the last apply left running. Sensitive
// environment values never appear in it: they are replaced by a keyed hash
// (HMAC-SHA256 with the project's secret key, see SecretKeyName). The others
// are recorded as they are, so that plan shows what they were. Every digest
// that covers values (a daemon's hash, its environment's hash) is keyed too;
// an older beadsctl's unkeyed ones are still read (SameDigest) and keyed when
// the state is written again.
type State struct {
	FormatVersion int `json:"format_version"`
	// Lineage is a uuid chosen when the state is first written; Serial grows by
	// one on every write. A saved plan records both and is refused when they moved.
	Lineage string `json:"lineage"`
	Serial  int64  `json:"serial"`
	// Env is the profile of the last apply; ConfigHash the ConfigHash of its
	// config. Env is also the profile of every later command that names none
	// (no --env, BEADSCTL_ENV or saved plan): the applied profile sticks.
	Env        string                 `json:"env"`
	ConfigHash string                 `json:"config_hash"`
	Daemons    map[string]DaemonState `json:"daemons"`

	// key is the project's secret key (nil until the first write creates it).
	// temporary marks a key of this command only (temporaryKey): the state
	// is then never written.
	key       []byte
	temporary bool
}

// DaemonState is what the last apply recorded of one daemon.
type DaemonState struct {
	// Spec is the applied daemon with its sensitive environment values hashed
	// (every value, in a state written before EnvPlain).
	Spec schema.Daemon `json:"spec"`
	// EnvPlain is true when Spec records the values of environment variables
	// that are not sensitive as they are; false in a state written before
	// (every value hashed), which the next apply rewrites.
	EnvPlain bool `json:"environment_plain,omitempty"`
	// Hash is the schema hash of the applied daemon (of the real values),
	// keyed (keyedDigest); an older beadsctl's unkeyed one is still read.
	Hash      string    `json:"hash"`
	AppliedAt time.Time `json:"applied_at"`
	// Pid, StartTime, Argv, Dir and EnvHash are what the agent reported of the
	// process right after apply (zero when it was not running).
	Pid       int       `json:"pid,omitempty"`
	StartTime time.Time `json:"start_time,omitzero"`
	Argv      []string  `json:"argv,omitempty"`
	Dir       string    `json:"dir,omitempty"`
	EnvHash   string    `json:"env_hash,omitempty"`
	// Stopped is true when a user stopped the daemon on purpose (beadsctl stop or destroy).
	Stopped bool `json:"stopped,omitempty"`
	// Destroyed is set with Stopped by beadsctl destroy: nothing runs, the
	// agent included (what status, plan and drift say), not one daemon stopped.
	Destroyed bool `json:"destroyed,omitempty"`
	// CompletedAt is when this one-shot (restart.policy "once") completed
	// successfully with the spec of Hash: apply does not run it again until
	// its spec changes (destroy forgets it).
	CompletedAt time.Time `json:"completed_at,omitzero"`

	// plain is true while Spec holds real environment values (a daemon just
	// recorded); writeState hashes them with the key before anything is written.
	plain bool
}

// Applied reports whether the state was ever written (a fresh state is not).
func (s *State) Applied() bool { return s != nil && s.Lineage != "" }

// Names returns the daemon names of the state, sorted.
func (s *State) Names() []string {
	names := make([]string, 0, len(s.Daemons))
	for n := range s.Daemons {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// StatePath is the state file of the project in dir (the folder of beads.hcl).
func StatePath(dir string) string { return filepath.Join(dir, agentapi.StateDir, "state.json") }

// AppliedProfile is the profile of the last apply in dir (the folder of
// beads.hcl), the profile of every command that names none, and whether
// anything was applied there (when not, the profile is "": the base blocks).
func AppliedProfile(dir string) (profile string, applied bool, err error) {
	st, err := ReadState(StatePath(dir))
	if err != nil {
		return "", false, err
	}
	return st.Env, st.Applied(), nil
}

// ErrStateCorrupt is wrapped by ReadState when the file exists but cannot be used.
var ErrStateCorrupt = errors.New("state file unusable")

// ReadState reads the state file at path. A missing file gives a fresh, empty
// state (Applied() false). A corrupt, truncated or future-version file is an
// error naming the file and the way out, never a silent fresh start.
func ReadState(path string) (*State, error) { return readState(path, nil) }

// readState is ReadState, calling read (when not nil) once the file has
// been read, before it is decoded (SessionOptions.Prefetch).
func readState(path string, read func()) (*State, error) {
	key, err := readKey(filepath.Join(filepath.Dir(path), SecretKeyName))
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if read != nil {
		read()
	}
	if errors.Is(err, os.ErrNotExist) {
		return &State{FormatVersion: StateFormatVersion, Daemons: map[string]DaemonState{}, key: key}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var st State
	if err := checkState(path, decodeState(b, &st), st.FormatVersion, st.Lineage); err != nil {
		return nil, err
	}
	st.key = key
	return &st, nil
}

// checkState is the error of a state file at path that did not decode
// (decodeErr) or whose header says it cannot be used (nil when it can).
func checkState(path string, decodeErr error, format int, lineage string) error {
	way := fmt.Sprintf("restore %s.backup over it, or run `beadsctl state reset` to forget what runs", path)
	switch {
	case decodeErr != nil:
		return fmt.Errorf("%w: %s: %v; %s", ErrStateCorrupt, path, decodeErr, way)
	case format > StateFormatVersion:
		return fmt.Errorf("%w: %s has format_version %d but this beadsctl reads up to %d; upgrade beadsctl, or %s",
			ErrStateCorrupt, path, format, StateFormatVersion, way)
	case format < 1 || lineage == "":
		return fmt.Errorf("%w: %s lacks format_version or lineage; %s", ErrStateCorrupt, path, way)
	}
	return nil
}

// ReadStateSummary reads of the state file at path only what status shows:
// the profile, and per daemon its name, memory limit, pid and whether it was
// stopped or destroyed. It reads them from the summary file writeState
// leaves beside it (state.summary.json, a few KB) when that was written for
// the state file as it is now, and otherwise skips the specs of the state
// file (every daemon's environment, restart, logs, health...): status of 50
// daemons spent 1.4 ms reading the whole state, ~1 ms its summary from
// state.json (75 KB), ~0.05 ms the summary file. Where the summary names the
// state file by its identity (contentStamp.File: Linux and macOS), one stat
// of state.json tells; elsewhere its content is read and its CRC-32 compared
// (the read was ~0.35 ms of status's 4 ms). The file is checked as ReadState
// checks it. The state returned is for reading only: it is never written (it
// has no key), and its specs are empty but for Name and Limits.Memory.
func ReadStateSummary(path string) (*State, error) {
	sb, serr := atomicfile.ReadOwn(summaryPath(path), maxSummary)
	var sum stateSummary
	if serr == nil && decodeStateSummary(sb, &sum) == nil && sum.Of != nil && sum.Of.File != nil {
		if fi, err := os.Stat(path); err == nil {
			if id, ok := fileIdentityOf(fi); ok && id == *sum.Of.File && fi.Size() == int64(sum.Of.Size) &&
				checkState(path, nil, sum.FormatVersion, sum.Lineage) == nil {
				return sum.state(), nil
			}
		}
	}
	b, err := readStateFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &State{FormatVersion: StateFormatVersion, Daemons: map[string]DaemonState{}, temporary: true}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	// The content the summary was written for, in another file or the same
	// one touched since (a folder copied, the same bytes put back): still
	// its summary.
	if serr == nil && sum.Of != nil && sum.Of.Size == len(b) && sum.Of.CRC32 == crc32.ChecksumIEEE(b) &&
		checkState(path, nil, sum.FormatVersion, sum.Lineage) == nil {
		return sum.state(), nil
	}
	var v stateSummary
	if err := checkState(path, decodeStateSummary(b, &v), v.FormatVersion, v.Lineage); err != nil {
		return nil, err
	}
	return v.state(), nil
}

// readStateFile reads state.json where ReadStateSummary must (a test counts
// its calls).
var readStateFile = os.ReadFile

// stateSummary is what ReadStateSummary decodes of state.json, in its
// layout; the summary file holds the same, and Of, the content of the state
// file it was written for.
type stateSummary struct {
	Of            *contentStamp            `json:"of,omitempty"`
	FormatVersion int                      `json:"format_version"`
	Lineage       string                   `json:"lineage"`
	Serial        int64                    `json:"serial"`
	Env           string                   `json:"env"`
	ConfigHash    string                   `json:"config_hash"`
	Daemons       map[string]summaryDaemon `json:"daemons"`
}

type summaryDaemon struct {
	Spec struct {
		Limits struct {
			Memory uint64 `json:"memory,omitempty"`
		} `json:"limits"`
	} `json:"spec"`
	Hash      string    `json:"hash"`
	Pid       int       `json:"pid,omitempty"`
	StartTime time.Time `json:"start_time,omitzero"`
	Stopped   bool      `json:"stopped,omitempty"`
	Destroyed bool      `json:"destroyed,omitempty"`
	// CompletedAt: a one-shot done, which an agent that is down need not run.
	CompletedAt time.Time `json:"completed_at,omitzero"`
}

// contentStamp tells one content of a file from another: its size and
// CRC-32 (IEEE's, with the CPU's carry-less multiply: ~15 µs for 75 KB the
// first time; Castagnoli's first use builds tables for 0.15 ms) and, where
// the system tells it, File: which file it is and when it last changed.
type contentStamp struct {
	Size  int           `json:"size"`
	CRC32 uint32        `json:"crc32"`
	File  *fileIdentity `json:"file,omitempty"`
}

// fileIdentity is a file's device and inode, and its modification and
// change times to the nanosecond. writeState sets the modification time of
// the state file it wrote to its own clock's reading, to the nanosecond, and
// records it only when the file system kept all of it: a file changed since
// by anything else (a hand edit in place, cp of the backup over it: same
// inode, maybe the same size) has the system's time instead, which ticks in
// steps of a few ms and does not fall on the same nanosecond, and a new
// change time; one put back with its times kept (cp -p, rsync -t) has a new
// change time, which no program sets. Not the modification time alone: cp
// over the file at once, in the same clock tick as the write, kept it.
type fileIdentity struct {
	Dev     uint64 `json:"dev"`
	Ino     uint64 `json:"ino"`
	MtimeNs int64  `json:"mtime_ns"`
	CtimeNs int64  `json:"ctime_ns"`
}

func contentOf(b []byte) contentStamp {
	return contentStamp{Size: len(b), CRC32: crc32.ChecksumIEEE(b)}
}

func (v *stateSummary) state() *State {
	st := &State{FormatVersion: v.FormatVersion, Lineage: v.Lineage, Serial: v.Serial, Env: v.Env, ConfigHash: v.ConfigHash,
		Daemons: make(map[string]DaemonState, len(v.Daemons)), temporary: true}
	for name, d := range v.Daemons {
		ds := DaemonState{Hash: d.Hash, Pid: d.Pid, StartTime: d.StartTime, Stopped: d.Stopped, Destroyed: d.Destroyed,
			CompletedAt: d.CompletedAt}
		ds.Spec.Name, ds.Spec.Limits.Memory = name, d.Spec.Limits.Memory
		st.Daemons[name] = ds
	}
	return st
}

// maxSummary bounds what ReadStateSummary reads of the summary file: a
// FIFO, a device or a huge file there is not one writeSummary wrote (a FIFO
// blocked status in open(2)), and state.json is read instead.
const maxSummary = 64 << 20

// summaryPath is the summary file of the state file at path.
func summaryPath(path string) string {
	return filepath.Join(filepath.Dir(path), "state.summary.json")
}

// writeSummary writes the summary of st, just written to path as data,
// beside it. Not synced: ReadStateSummary uses it only for the content it
// names, and reads state.json when it is stale, empty or missing.
func writeSummary(path string, data []byte, st *State) error {
	stamp := contentOf(data)
	if id, ok := stampFile(path); ok {
		stamp.File = &id
	}
	v := stateSummary{Of: &stamp, FormatVersion: st.FormatVersion, Lineage: st.Lineage, Serial: st.Serial, Env: st.Env, ConfigHash: st.ConfigHash,
		Daemons: make(map[string]summaryDaemon, len(st.Daemons))}
	for name, d := range st.Daemons {
		sd := summaryDaemon{Hash: d.Hash, Pid: d.Pid, StartTime: d.StartTime, Stopped: d.Stopped, Destroyed: d.Destroyed,
			CompletedAt: d.CompletedAt}
		sd.Spec.Limits.Memory = d.Spec.Limits.Memory
		v.Daemons[name] = sd
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.WriteUnsynced(summaryPath(path), b, 0o600)
}

// stampFile sets the modification time of the file at path, just written,
// to this moment to the nanosecond and returns its identity, when the file
// system keeps all of that time (see fileIdentity).
func stampFile(path string) (fileIdentity, bool) {
	now := time.Now()
	if err := os.Chtimes(path, time.Time{}, now); err != nil {
		return fileIdentity{}, false
	}
	fi, err := os.Stat(path)
	if err != nil || !fi.ModTime().Equal(now) {
		return fileIdentity{}, false
	}
	return fileIdentityOf(fi)
}

// writeState writes st to path through atomicfile (temporary file in the same
// folder, fsync, rename, fsync of the folder), the previous file kept first as
// path+".backup" (a second name for it).
// It gives the state a lineage when it has none and increments its serial.
// The file is mode 0600 in a 0700 folder.
func writeState(path string, st *State) error {
	if st.temporary {
		return errors.New("write state: this command holds no project key (it did not take the lock)")
	}
	if err := st.hashPlain(filepath.Join(filepath.Dir(path), SecretKeyName)); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if st.Lineage == "" {
		st.Lineage = uuid.NewString()
	}
	st.FormatVersion = StateFormatVersion
	st.Serial++
	if st.Daemons == nil {
		st.Daemons = map[string]DaemonState{}
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	b = append(b, '\n')
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	// The previous file becomes the backup by a hard link (atomicfile.KeepAs):
	// apply's state write is two fsyncs, not four (~5 ms here).
	if err := atomicfile.KeepAs(path, path+".backup"); err != nil {
		return fmt.Errorf("write state backup: %w", err)
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	// The summary status reads: when it cannot be written, the one there
	// (of an older state file) goes, and status reads state.json.
	if err := writeSummary(path, b, st); err != nil {
		os.Remove(summaryPath(path))
	}
	return nil
}

// hashedSpec returns d with every sensitive environment value replaced by its
// keyed hash (see SecretKeyName), the form state.json records (with EnvPlain).
func hashedSpec(key []byte, d schema.Daemon) schema.Daemon {
	d = cloneSpec(d)
	for _, k := range d.Sensitive {
		if v, ok := d.Environment[k]; ok && !isRecordedHash(v) {
			d.Environment[k] = hashValue(key, v)
		}
	}
	return d
}

// cloneSpec is a copy of d sharing no map or slice with it.
func cloneSpec(d schema.Daemon) schema.Daemon {
	if d.Environment != nil {
		d.Environment = maps.Clone(d.Environment)
	}
	d.Args = slices.Clone(d.Args)
	d.Sensitive = slices.Clone(d.Sensitive)
	return d
}

// DiffDaemons lists the attributes that differ between before (a daemon as st
// records it) and after (as declared); see diffDaemons.
func (st *State) DiffDaemons(before *DaemonState, after *schema.Daemon) []Attribute {
	r := recording{plain: before.EnvPlain || before.plain, sensitive: map[string]bool{}}
	if st != nil {
		r.key = st.key
	}
	for _, k := range before.Spec.Sensitive {
		r.sensitive[k] = true
	}
	return diffDaemons(&before.Spec, after, r)
}

// recording is how state.json recorded the environment values of one daemon.
type recording struct {
	key []byte
	// plain: the values of keys not in sensitive are recorded as they are.
	plain     bool
	sensitive map[string]bool
}

// hashed reports whether the value recorded for key k is a hash of the value.
func (r recording) hashed(k, recorded string) bool {
	return isRecordedHash(recorded) && (!r.plain || r.sensitive[k])
}

// same reports whether recorded, the value of key k in state, records v.
func (r recording) same(k, recorded, v string) bool {
	if r.hashed(k, recorded) {
		return recordedAs(r.key, recorded, v)
	}
	return recorded == v
}

// hashPlain replaces the real environment values of the daemons just recorded
// by their keyed hashes and keys every digest (keyedDigest: an older
// beadsctl's unkeyed ones too), creating the key at keyPath when there is
// none. It is the last step before anything is written: no unkeyed digest of
// a value reaches the file, whatever path recorded it.
func (st *State) hashPlain(keyPath string) error {
	if st.key == nil && len(st.Daemons) > 0 {
		key, err := ensureKey(keyPath)
		if err != nil {
			return err
		}
		st.key = key
	}
	unkeyed := false
	for name, ds := range st.Daemons {
		if ds.plain {
			ds.Spec, ds.plain, ds.EnvPlain = hashedSpec(st.key, ds.Spec), false, true
		}
		unkeyed = unkeyed || !strings.HasPrefix(ds.Hash, keyedPrefix)
		ds.Hash, ds.EnvHash = keyedDigest(st.key, ds.Hash), keyedDigest(st.key, ds.EnvHash)
		ds.Spec.Hash = keyedDigest(st.key, ds.Spec.Hash)
		st.Daemons[name] = ds
	}
	if unkeyed {
		// A config hash an older beadsctl made from unkeyed daemon hashes;
		// nothing compares it, so keying it keeps what it says.
		st.ConfigHash = keyedDigest(st.key, st.ConfigHash)
	}
	return nil
}

// useKey gives a state read without a key (none on disk yet) the key of this
// command: the project's (created by a command holding the lock), or a
// temporary one, with which nothing is written.
func (st *State) useKey(key []byte, temporary bool) {
	st.key, st.temporary = key, temporary
}

// digest is raw keyed with the state's key (keyedDigest).
func (st *State) digest(raw string) string {
	if st == nil {
		return raw
	}
	return keyedDigest(st.key, raw)
}

// SameDigest reports whether two digests (one recorded, one computed or
// reported by the agent) describe the same content, keyed or not.
func (st *State) SameDigest(a, b string) bool {
	if st == nil {
		return a == b
	}
	return sameDigest(st.key, a, b)
}

// Unkeyed reports whether the state holds a hash an older beadsctl recorded
// without the key (a digest or an environment value): apply then writes it
// again, keyed, even when nothing else changes.
func (st *State) Unkeyed() bool {
	for _, ds := range st.Daemons {
		if ds.plain {
			continue
		}
		for _, h := range []string{ds.Hash, ds.EnvHash, ds.Spec.Hash} {
			if h != "" && !strings.HasPrefix(h, keyedPrefix) {
				return true
			}
		}
		for _, v := range ds.Spec.Environment {
			if strings.HasPrefix(v, unkeyedPrefix) {
				return true
			}
		}
	}
	return false
}

// KeyDaemons keys the hashes of daemons loaded outside a Session
// (schema.Load) with the state's key, as a Session keys its config, so that
// they compare with the recorded ones and can be shown. A state without a key
// on disk gets a temporary one (temporaryKey): it is then never written.
func (st *State) KeyDaemons(ds []schema.Daemon) {
	if st.key == nil {
		st.useKey(temporaryKey(), true)
	}
	for i := range ds {
		ds[i].Hash = st.digest(ds[i].Hash)
	}
}

// Shown is the recorded spec of ds as plans and reports show it
// (Change.Before, saved with plan --out; beadsctl show): its hash keyed, and a
// value an older beadsctl hashed without the key keyed too, so that nothing
// shown carries an unkeyed hash.
func (st *State) Shown(ds DaemonState) schema.Daemon {
	d := cloneSpec(ds.Spec)
	d.Hash = st.digest(d.Hash)
	for k, v := range d.Environment {
		if strings.HasPrefix(v, unkeyedPrefix) {
			d.Environment[k] = st.digest(strings.TrimPrefix(v, unkeyedPrefix))
		}
	}
	return d
}

// Rekey records d, which st shows applied with the same hash, again from its
// real values when an older beadsctl recorded them otherwise: a value hashed
// without a key is then written keyed, and a value that is not sensitive
// (hashed before EnvPlain) as it is. It changes nothing else of the entry.
func (st *State) Rekey(d *schema.Daemon) {
	ds, ok := st.Daemons[d.Name]
	if !ok || !st.SameDigest(ds.Hash, d.Hash) || ds.plain {
		return
	}
	ds.Hash = d.Hash // keyed (the state may hold an older, unkeyed one)
	st.Daemons[d.Name] = ds
	for k, v := range ds.Spec.Environment {
		if strings.HasPrefix(v, unkeyedPrefix) || !ds.EnvPlain && !slices.Contains(ds.Spec.Sensitive, k) {
			ds.Spec, ds.plain = cloneSpec(*d), true
			st.Daemons[d.Name] = ds
			return
		}
	}
}

// recordedConfig is the config st records: every daemon as last applied
// (sensitive environment values as hashes), under the applied profile, for
// file in dir. A session that must act without beads.hcl (destroy) uses it.
func (st *State) recordedConfig(file, dir string) *schema.Config {
	c := &schema.Config{Path: filepath.Join(dir, filepath.Base(file)), Dir: dir, Env: st.Env, Profiles: []string{}, Daemons: []schema.Daemon{}}
	for _, n := range st.Names() {
		c.Daemons = append(c.Daemons, cloneSpec(st.Daemons[n].Spec))
	}
	return c
}

// ConfigHash is the hash of a whole config under its profile: the profile name
// and every daemon's name and hash. A Session's config has keyed daemon
// hashes, so that this hash, recorded in state and saved plans, is keyed too.
func ConfigHash(c *schema.Config) string {
	h := sha256.New()
	fmt.Fprintf(h, "env=%s\n", c.Env)
	for _, d := range c.Daemons {
		fmt.Fprintf(h, "%s=%s\n", d.Name, d.Hash)
	}
	return hex.EncodeToString(h.Sum(nil))
}
