package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
)

// hashVersion prefixes the hashed text; change it when the canonical form changes.
const hashVersion = "beadsctl.daemon.v2\n"

// HashDaemon is a stable sha256 (hex) of everything in d that describes the
// daemon: its canonical JSON form, without Hash, Root and DeclRange, with
// Sensitive sorted, and with Dir and log paths inside d.Root written relative
// to it. encoding/json writes map keys sorted, so map order never changes the
// hash; the same file and profile give the same hash on every machine.
func HashDaemon(d *Daemon) string {
	c := *d
	c.Hash, c.Root = "", ""
	c.Sensitive = slices.Clone(d.Sensitive)
	slices.Sort(c.Sensitive)
	if c.Args == nil {
		c.Args = []string{}
	}
	if len(c.Environment) == 0 {
		c.Environment = nil
	}
	c.Dir = relTo(d.Root, c.Dir)
	c.EnvFiles = slices.Clone(d.EnvFiles)
	for i := range c.EnvFiles {
		c.EnvFiles[i] = relTo(d.Root, c.EnvFiles[i])
	}
	c.Logs.Out = relTo(d.Root, c.Logs.Out)
	c.Logs.Error = relTo(d.Root, c.Logs.Error)
	c.Logs.Combined = relTo(d.Root, c.Logs.Combined)
	if d.Dolt != nil {
		ds := *d.Dolt
		ds.Workspace, ds.ServerDir, ds.DataDir = relTo(d.Root, ds.Workspace), relTo(d.Root, ds.ServerDir), relTo(d.Root, ds.DataDir)
		ds.Workspaces = slices.Clone(ds.Workspaces)
		for i := range ds.Workspaces {
			ds.Workspaces[i].Workspace = relTo(d.Root, ds.Workspaces[i].Workspace)
			ds.Workspaces[i].BeadsDir = relTo(d.Root, ds.Workspaces[i].BeadsDir)
		}
		c.Dolt = &ds
	}
	b, err := json.Marshal(c)
	if err != nil {
		// Only plain strings, numbers and maps of strings: cannot happen.
		panic("schema: hash daemon: " + err.Error())
	}
	sum := sha256.Sum256(append([]byte(hashVersion), b...))
	return hex.EncodeToString(sum[:])
}

// relTo writes p as "$root/..." when it is inside root, else as it is, with
// forward slashes either way.
func relTo(root, p string) string {
	if root == "" || p == "" {
		return filepath.ToSlash(p)
	}
	r, err := filepath.Rel(root, p)
	if err != nil || filepath.IsAbs(r) || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(p)
	}
	return "$root/" + filepath.ToSlash(r)
}
