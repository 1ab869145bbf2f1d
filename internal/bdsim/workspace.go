package bdsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// errNoDatabase is bd's own message (cmd/bd/daemon.go, ensureBeadsDir) when
// `bd daemon` finds no database: it prints "Error: " and this, exit code 1,
// before it looks at any other flag.
var errNoDatabase = errors.New("no database path configured (run 'bd init' or set BEADS_DB)")

// findDatabase finds the database as bd v0.2x's beads.FindDatabasePath does:
// $BEADS_DIR (a .beads folder holding one), $BEADS_DB (the file itself), then
// .beads/ in the current folder and each parent up to the root, the first that
// holds one (findDatabaseInBeadsDir: the database metadata.json or config.json
// names, else beads.db, else another *.db that is not a backup nor vc.db).
func findDatabase() (string, error) {
	if d := os.Getenv("BEADS_DIR"); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			if db := databaseIn(abs); db != "" {
				return db, nil
			}
		}
	}
	if db := os.Getenv("BEADS_DB"); db != "" {
		return filepath.Abs(db)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		dir = r
	}
	for {
		b := filepath.Join(dir, ".beads")
		if st, err := os.Stat(b); err == nil && st.IsDir() {
			if db := databaseIn(b); db != "" {
				return db, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errNoDatabase
		}
		dir = parent
	}
}

// databaseIn is findDatabaseInBeadsDir: the database of beadsDir, or "".
func databaseIn(beadsDir string) string {
	for _, cfg := range []string{"metadata.json", "config.json"} {
		var c struct {
			Database string `json:"database"`
		}
		if b, err := os.ReadFile(filepath.Join(beadsDir, cfg)); err == nil && json.Unmarshal(b, &c) == nil && c.Database != "" {
			db := c.Database
			if !filepath.IsAbs(db) {
				db = filepath.Join(beadsDir, db)
			}
			if _, err := os.Stat(db); err == nil {
				return db
			}
		}
	}
	if db := filepath.Join(beadsDir, "beads.db"); fileExists(db) {
		return db
	}
	matches, _ := filepath.Glob(filepath.Join(beadsDir, "*.db"))
	for _, m := range matches {
		if n := filepath.Base(m); !strings.Contains(n, ".backup") && n != "vc.db" {
			return m
		}
	}
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// initCommand is bd v0.2x's `bd init [--prefix P] [-q]` as far as the daemon
// cares: .beads/ (0700) in the current folder with beads.db, issues.jsonl and
// metadata.json naming them. The database is an empty file: the simulator
// keeps no issues in bd 0.x mode. An existing database is kept.
func initCommand(args []string, stdout, stderr io.Writer) int {
	prefix, quiet := "", false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-q" || a == "--quiet":
			quiet = true
		case a == "--prefix" || a == "-p":
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "Error: flag needs an argument: %s\n", a)
				return 1
			}
			i++
			prefix = args[i]
		case strings.HasPrefix(a, "--prefix="):
			prefix = strings.TrimPrefix(a, "--prefix=")
		default:
			fmt.Fprintf(stderr, "Error: unknown flag: %s\n", a)
			return 1
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	if prefix == "" {
		prefix = filepath.Base(wd)
	}
	dir := filepath.Join(wd, ".beads")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		fmt.Fprintf(stderr, "Error: failed to create .beads directory: %v\n", err)
		return 1
	}
	meta, _ := json.MarshalIndent(map[string]string{"database": "beads.db", "jsonl_export": "issues.jsonl"}, "", "  ")
	for name, content := range map[string][]byte{"beads.db": nil, "issues.jsonl": nil, "metadata.json": append(meta, '\n')} {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue // bd init keeps what is there
		}
		if err == nil {
			_, err = f.Write(content)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
	}
	if !quiet {
		fmt.Fprintf(stdout, "\n✓ bd initialized successfully!\n\n  Database: .beads/beads.db\n  Issue prefix: %s\n  Issues will be named: %s-1, %s-2, ...\n\n", prefix, prefix, prefix)
	}
	return 0
}
