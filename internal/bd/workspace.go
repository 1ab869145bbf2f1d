package bd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoDatabase means a bd daemon started in a folder finds no Beads
// database: bd exits 1 at once with "Error: no database path configured (run
// 'bd init' or set BEADS_DB)".
var ErrNoDatabase = errors.New("no Beads database")

// FindBeadsDir returns the .beads folder a bd daemon started in dir uses, found
// as bd (FindDatabasePath, v0.2x–v0.49) finds its database: $BEADS_DIR, then
// $BEADS_DB (a database file: its folder), then .beads/ in dir and in each parent
// folder up to the filesystem root that bd init set up. getenv reads the
// daemon's environment (nil: none). The error wraps ErrNoDatabase and says
// where bd looked.
//
// A .beads folder counts as set up when it holds what bd init writes and bd
// reads to find its database: metadata.json or config.json, a *.db file other
// than a backup or vc.db, or a dolt/ folder. A .beads/ holding only logs (as
// beadsctl's log files can make one) is not a workspace: bd refuses it too.
func FindBeadsDir(dir string, getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if d := getenv("BEADS_DIR"); d != "" {
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		if Initialized(d) {
			return filepath.Clean(d), nil
		}
	}
	if db := getenv("BEADS_DB"); db != "" {
		if !filepath.IsAbs(db) {
			db = filepath.Join(dir, db)
		}
		return filepath.Dir(filepath.Clean(db)), nil // bd trusts it as given
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoDatabase, err)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	for d := abs; ; {
		if b := filepath.Join(d, ".beads"); Initialized(b) {
			return b, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return "", fmt.Errorf("%w in %s or its parent folders (no .beads/ set up by bd init)", ErrNoDatabase, abs)
}

// Initialized reports whether beadsDir is a .beads folder that bd init set up
// (see FindBeadsDir).
func Initialized(beadsDir string) bool {
	entries, err := os.ReadDir(beadsDir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		n := e.Name()
		switch {
		case n == "metadata.json" || n == "config.json":
			return true
		case n == "dolt" && e.IsDir():
			return true
		case strings.HasSuffix(n, ".db") && !strings.Contains(n, ".backup") && n != "vc.db" && !e.IsDir():
			return true
		}
	}
	return false
}
