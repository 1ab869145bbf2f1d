package schema

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/joho/godotenv"
)

// MaxEnvFileSize bounds one env file: only that much is read, and a larger
// file is an error (an env file is a few lines of KEY=value).
const MaxEnvFileSize = 1 << 20

// envFiles reads the daemon's env_file list (dotenv syntax, parsed by
// github.com/joho/godotenv: KEY=value, export KEY=value, KEY: value, quotes,
// # comments, ${VAR} of the same file) and returns the variables, a later
// file overriding an earlier one. Paths resolve against the folder of
// beads.hcl. A file that is missing, unreadable, too large or does not parse
// is an error: at the env_file element that names it, and for a syntax error
// at the env file's own line.
func (r *resolver) envFiles(d *Daemon) map[string]string {
	files, f := r.strs("env_file")
	if f == nil {
		return nil
	}
	out := map[string]string{}
	for i, p := range files {
		rng := f.rng
		if len(f.elem) == len(files) {
			rng = f.elem[i]
		}
		if strings.TrimSpace(p) == "" {
			r.add(hcl.DiagError, rng, "Empty env_file", "env_file names a dotenv file (KEY=value lines), such as \".env\".")
			continue
		}
		abs := absPath(d.Root, p)
		d.EnvFiles = append(d.EnvFiles, abs)
		vars, diag := readEnvFile(abs, r.shown(p, abs), rng)
		if diag != nil {
			r.diags = append(r.diags, diag)
			continue
		}
		maps.Copy(out, vars)
		if d.EnvFrom == nil {
			d.EnvFrom = map[string]string{}
		}
		for k := range vars {
			d.EnvFrom[k] = p
		}
	}
	return out
}

// shown is how a path written p (resolved to abs) is named in a diagnostic:
// beside beads.hcl as the diagnostics name it.
func (r *resolver) shown(p, abs string) string {
	if filepath.IsAbs(p) {
		return abs
	}
	return filepath.Join(filepath.Dir(r.decl.Filename), p)
}

// readEnvFile reads and parses one env file; the diagnostic says what is
// wrong, at the file's line for a syntax error and at named (the env_file
// element) otherwise.
func readEnvFile(abs, shown string, named hcl.Range) (map[string]string, *hcl.Diagnostic) {
	fail := func(summary, detail string) (map[string]string, *hcl.Diagnostic) {
		return nil, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: named.Ptr()}
	}
	fi, err := os.Stat(abs)
	switch {
	case os.IsNotExist(err):
		return fail("Env file not found", fmt.Sprintf("env_file: %s does not exist (relative paths resolve against the folder of beads.hcl).", abs))
	case err != nil:
		return fail("Env file unreadable", fmt.Sprintf("env_file: %v.", err))
	case !fi.Mode().IsRegular():
		return fail("Env file is not a regular file", fmt.Sprintf("env_file: %s is not a regular file.", abs))
	case fi.Size() > MaxEnvFileSize:
		return fail("Env file too large", fmt.Sprintf("env_file: %s has %d bytes; an env file may have at most %d.", abs, fi.Size(), MaxEnvFileSize))
	}
	src, err := os.ReadFile(abs)
	if err != nil {
		return fail("Env file unreadable", fmt.Sprintf("env_file: %v.", err))
	}
	vars, line, perr := ParseEnv(src)
	if perr != nil {
		return nil, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Env file does not parse",
			Detail:   fmt.Sprintf("%s (dotenv syntax: KEY=value lines; named by env_file at %s).", perr, pos(named)),
			Subject: &hcl.Range{Filename: shown,
				Start: hcl.Pos{Line: line, Column: 1, Byte: 0}, End: hcl.Pos{Line: line, Column: 1, Byte: 0}},
		}
	}
	for k, v := range vars {
		if strings.IndexByte(v, 0) >= 0 {
			return fail("Env file holds a NUL byte", fmt.Sprintf("env_file: %s: the value of %s %s.", abs, k, nulDetail))
		}
	}
	return vars, nil
}

// noNameLine is a dotenv statement without a variable name ("=value").
var noNameLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^[ \t]*(export[ \t]+)?[=:]`) })

// ParseEnv parses dotenv source with godotenv and, when it does not parse,
// returns the 1-based line of the statement at fault (godotenv's errors
// quote the rest of the input from there, which locates it).
func ParseEnv(src []byte) (vars map[string]string, line int, err error) {
	norm := bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	vars, err = godotenv.UnmarshalBytes(norm)
	lineAt := func(off int) int { return 1 + bytes.Count(norm[:max(off, 0)], []byte("\n")) }
	if err != nil {
		msg := err.Error()
		off := 0
		if _, near, ok := strings.Cut(msg, " in variable name near "); ok {
			if rest, uerr := strconv.Unquote(near); uerr == nil && bytes.HasSuffix(norm, []byte(rest)) {
				off = len(norm) - len(rest)
				if i := strings.IndexByte(rest, '\n'); i >= 0 && strings.TrimSpace(rest[:i]) != "" && !strings.ContainsAny(rest[:i], "=:") {
					msg = fmt.Sprintf("%q is not KEY=value", rest[:i])
				} else if i >= 0 {
					msg = strings.Replace(msg, " near "+near, " in "+strconv.Quote(rest[:i]), 1)
				}
			}
		} else if val, ok := strings.CutPrefix(msg, "unterminated quoted value "); ok {
			off = bytes.LastIndex(norm, []byte(val))
			msg = "a quoted value is not closed"
		}
		return nil, lineAt(off), fmt.Errorf("%s", msg)
	}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			loc := noNameLine().FindIndex(norm)
			off := 0
			if loc != nil {
				off = loc[0]
			}
			return nil, lineAt(off), fmt.Errorf("a line has no variable name before =")
		}
	}
	return vars, 0, nil
}
