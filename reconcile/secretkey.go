package reconcile

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
)

// SecretKeyName is the file, in agentapi.StateDir, of the project's secret key: 32
// random bytes (hex) that key the hash of every environment value recorded in
// state.json. It is created on the first write of the state, mode 0600, and
// never appears in the state, plans, logs or the agent's files; without it a
// recorded value cannot be checked against a guess.
const SecretKeyName = "secret.key"

// Value hashes as state.json records them: keyed now; unkeyed sha256 as
// beadsctl wrote it before the key existed, still read.
const (
	keyedPrefix   = "hmac-sha256:"
	unkeyedPrefix = "sha256:"
)

// readKey reads the key file at path: nil when there is none yet.
func readKey(path string) ([]byte, error) {
	if err := atomicfile.RefuseSymlink(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret key %s is readable by others (mode %v): run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("secret key %s is not 64 hex digits: remove it (recorded values then read as changed once)", path)
	}
	return key, nil
}

// ensureKey returns the key at path, creating it when there is none. Two
// processes creating it at once agree: the file appears whole or not at all,
// and the one that loses the race reads the winner's.
func ensureKey(path string) ([]byte, error) {
	if key, err := readKey(path); err != nil || key != nil {
		return key, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	err := atomicfile.WriteNew(path, []byte(hex.EncodeToString(key)+"\n"), 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return key, nil
}

// hashValue is v as state.json records it, keyed with key.
func hashValue(key []byte, v string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(v))
	return keyedPrefix + hex.EncodeToString(m.Sum(nil))
}

// recordedAs reports whether recorded (an environment value of state.json) is
// v: its keyed hash, its unkeyed sha256 (state written before the key), or v
// itself. A keyed hash without the key reads as changed.
func recordedAs(key []byte, recorded, v string) bool {
	switch {
	case strings.HasPrefix(recorded, keyedPrefix):
		return key != nil && hmac.Equal([]byte(recorded), []byte(hashValue(key, v)))
	case strings.HasPrefix(recorded, unkeyedPrefix):
		sum := sha256.Sum256([]byte(v))
		return recorded == unkeyedPrefix+hex.EncodeToString(sum[:])
	}
	return recorded == v
}

// keyedDigest is raw, an unkeyed hex sha256 digest of content that holds
// values (schema.HashDaemon's, unkeyedEnvDigest's), as beadsctl records it:
// HMAC-SHA256 of the digest under key. A digest from beads.hcl and a known
// configuration are no use to a dictionary without the key. A digest already
// keyed is returned as it is, and so is "" (nothing recorded); with no key
// (tests that build states by hand) raw is returned unchanged.
//
// Keying the unkeyed digest (rather than the content again) lets an unkeyed
// digest recorded by an older beadsctl (state.json, a running agent) be
// compared with a keyed one: see sameDigest.
func keyedDigest(key []byte, raw string) string {
	if key == nil || raw == "" || strings.HasPrefix(raw, keyedPrefix) {
		return raw
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(digestDomain))
	m.Write([]byte(raw))
	return keyedPrefix + hex.EncodeToString(m.Sum(nil))
}

// digestDomain keeps keyed digests apart from keyed values.
const digestDomain = "beadsctl.digest.v1\n"

// sameDigest reports whether two recorded digests describe the same content:
// equal, or equal once keyed (one of them written unkeyed by an older
// beadsctl, before the key covered digests).
func sameDigest(key []byte, a, b string) bool {
	return a == b || keyedDigest(key, a) == keyedDigest(key, b)
}

// unkeyedEnvDigest is the hex sha256 of the sorted KEY=VALUE lines of env,
// as beadsctl before this version recorded the environment of a running
// daemon (agent.json's and state.json's env_hash). It is never recorded now:
// envDigest keys it.
func unkeyedEnvDigest(env map[string]string) string {
	kv := make([]string, 0, len(env))
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	sum := sha256.Sum256([]byte(strings.Join(kv, "\n")))
	return hex.EncodeToString(sum[:])
}

// envDigest is the recorded hash of a daemon's declared environment: it tells
// whether the environment changed, and no value can be guessed from it.
func envDigest(key []byte, env map[string]string) string {
	return keyedDigest(key, unkeyedEnvDigest(env))
}

// argvDigest is the recorded hash of a command line (the events' argv_hash):
// an argument may be a secret (a token on the command line), so it is keyed
// as envDigest is. Arguments are NUL-separated: none can hold a NUL.
func argvDigest(key []byte, argv []string) string {
	sum := sha256.Sum256([]byte(strings.Join(argv, "\x00")))
	return keyedDigest(key, hex.EncodeToString(sum[:]))
}

// temporaryKey is a key for a command that records nothing and sends nothing
// (plan, drift without the lock) in a project that has no key yet: the hashes
// it shows are keyed all the same, and it creates no file.
func temporaryKey() []byte {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails: since Go 1.24 it crashes the program instead
	return key
}

// isRecordedHash reports whether s is a hashed value of state.json.
func isRecordedHash(s string) bool {
	return strings.HasPrefix(s, keyedPrefix) || strings.HasPrefix(s, unkeyedPrefix)
}
