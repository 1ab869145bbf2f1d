package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/schema"
)

// StateFormatVersion is the format_version this build writes and the highest it reads.
const StateFormatVersion = 1

// StateDir is the folder, beside beads.hcl, that holds the state file, the lock,
// the agent's socket and its log.
const StateDir = ".beadsctl"

// State is .beadsctl/state.json: what the last apply left running. Environment
// values never appear in it: they are replaced by their sha256 (see HashedSpec).
type State struct {
	FormatVersion int `json:"format_version"`
	// Lineage is a uuid chosen when the state is first written; Serial grows by
	// one on every write. A saved plan records both and is refused when they moved.
	Lineage string `json:"lineage"`
	Serial  int64  `json:"serial"`
	// Env is the profile of the last apply; ConfigHash the ConfigHash of its config.
	Env        string                 `json:"env"`
	ConfigHash string                 `json:"config_hash"`
	Daemons    map[string]DaemonState `json:"daemons"`
}

// DaemonState is what the last apply recorded of one daemon.
type DaemonState struct {
	// Spec is the applied daemon with environment values hashed.
	Spec schema.Daemon `json:"spec"`
	// Hash is the schema hash of the applied daemon (of the real values).
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
func StatePath(dir string) string { return filepath.Join(dir, StateDir, "state.json") }

// ErrStateCorrupt is wrapped by ReadState when the file exists but cannot be used.
var ErrStateCorrupt = errors.New("state file unusable")

// ReadState reads the state file at path. A missing file gives a fresh, empty
// state (Applied() false). A corrupt, truncated or future-version file is an
// error naming the file and the way out, never a silent fresh start.
func ReadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &State{FormatVersion: StateFormatVersion, Daemons: map[string]DaemonState{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	way := fmt.Sprintf("restore %s.backup over it, or run `beadsctl state reset` to forget what runs", path)
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%w: %s: %v; %s", ErrStateCorrupt, path, err, way)
	}
	switch {
	case st.FormatVersion > StateFormatVersion:
		return nil, fmt.Errorf("%w: %s has format_version %d but this beadsctl reads up to %d; upgrade beadsctl, or %s",
			ErrStateCorrupt, path, st.FormatVersion, StateFormatVersion, way)
	case st.FormatVersion < 1 || st.Lineage == "":
		return nil, fmt.Errorf("%w: %s lacks format_version or lineage; %s", ErrStateCorrupt, path, way)
	}
	if st.Daemons == nil {
		st.Daemons = map[string]DaemonState{}
	}
	return &st, nil
}

// WriteState writes st to path through atomicfile (temporary file in the same
// folder, fsync, rename, fsync of the folder), the previous file kept first as
// path+".backup" the same way.
// It gives the state a lineage when it has none and increments its serial.
// The file is mode 0600 in a 0700 folder.
func WriteState(path string, st *State) error {
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
	if prev, err := os.ReadFile(path); err == nil {
		if err := atomicfile.Write(path+".backup", prev, 0o600); err != nil {
			return fmt.Errorf("write state backup: %w", err)
		}
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// HashValue is how environment values are recorded in state: "sha256:" and the hex digest.
func HashValue(v string) string {
	sum := sha256.Sum256([]byte(v))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// HashedSpec returns d with every environment value replaced by HashValue of it,
// the form state.json records.
func HashedSpec(d schema.Daemon) schema.Daemon {
	if d.Environment != nil {
		env := make(map[string]string, len(d.Environment))
		for k, v := range d.Environment {
			env[k] = HashValue(v)
		}
		d.Environment = env
	}
	d.Args = slices.Clone(d.Args)
	d.Sensitive = slices.Clone(d.Sensitive)
	return d
}

// ConfigHash is the hash of a whole config under its profile: the profile name
// and every daemon's name and hash.
func ConfigHash(c *schema.Config) string {
	h := sha256.New()
	fmt.Fprintf(h, "env=%s\n", c.Env)
	for _, d := range c.Daemons {
		fmt.Fprintf(h, "%s=%s\n", d.Name, d.Hash)
	}
	return hex.EncodeToString(h.Sum(nil))
}
