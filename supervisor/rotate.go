package supervisor

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// rotatingFile is a log file that never grows past max bytes: before a write
// would take it over, the file is renamed to a backup and a new one started.
// At most keep backups are kept (0 keeps all), so the files of one log take
// at most max × (keep+1) bytes, for any max, while a compressed backup is
// being written too.
//
// beadsctl owns this rotator rather than using lumberjack, because
// lumberjack counts max_size in whole megabytes (below 1 MB its bound is
// false) and names a backup after the millisecond, so two rotations in one
// millisecond gave one name and lost a backup. Backups keep lumberjack's
// names (NAME-2006-01-02T15-04-05.000.EXT, UTC, .gz when compressed), so
// existing ones are pruned as before; two rotations within a millisecond give
// the second backup the next millisecond's name instead of waiting for it.
//
// Only the sink's writer goroutine uses a rotatingFile.
type rotatingFile struct {
	path     string
	max      int64
	keep     int
	compress bool
	now      func() time.Time

	f    *os.File
	size int64
	last time.Time // the time in the newest backup's name
}

// backupLayout is the time in a backup's name, as lumberjack writes it.
const backupLayout = "2006-01-02T15-04-05.000"

func openRotating(path string, rot Rotate) (*rotatingFile, error) {
	r := &rotatingFile{path: path, max: int64(rot.MaxSize), keep: rot.Keep, compress: rot.Compress, now: time.Now}
	if err := r.open(); err != nil {
		return nil, err
	}
	if b := r.backups(); len(b) > 0 {
		r.last = b[len(b)-1].at
	}
	return r, nil
}

func (r *rotatingFile) open() error {
	f, err := OpenLogFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, fi.Size()
	return nil
}

// Write appends b, rotating first when the file holds something and b would
// take it past max. The caller keeps each b at most max bytes long (ending at
// a newline where a line allows it), so no file exceeds max.
func (r *rotatingFile) Write(b []byte) (int, error) {
	if r.f == nil {
		if err := r.open(); err != nil {
			return 0, err
		}
	}
	if r.size > 0 && r.size+int64(len(b)) > r.max {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(b)
	r.size += int64(n)
	return n, err
}

// Close closes the current file.
func (r *rotatingFile) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// rotate renames the current file to a new backup, prunes the backups past
// keep, starts an empty current file, then compresses the new backup.
func (r *rotatingFile) rotate() error {
	if err := r.Close(); err != nil {
		return err
	}
	at := r.now().UTC().Truncate(time.Millisecond)
	if !at.After(r.last) {
		at = r.last.Add(time.Millisecond) // unique and in order, without waiting
	}
	backup := r.backupName(at)
	for exists(backup) || exists(backup+".gz") {
		at = at.Add(time.Millisecond)
		backup = r.backupName(at)
	}
	if err := os.Rename(r.path, backup); err != nil {
		return fmt.Errorf("rotate %s: %w", r.path, err)
	}
	r.last = at
	// Prune before the new current file exists: after the rename there are
	// keep+1 backups and no current file, after the prune keep backups, and
	// only then the current file is created. A reader never sees more than
	// keep+1 files of this log, nor more than max × (keep+1) bytes. (Opened
	// before the prune, the new file made keep+2 files for a moment.)
	errs := []error{r.prune()}
	if err := r.open(); err != nil {
		return errors.Join(append(errs, err)...)
	}
	// While the new backup is compressed, the current file is empty and keep
	// backups remain, so the bound holds during it too: the .gz.tmp beside
	// it stays smaller than the backup it replaces.
	if r.compress {
		errs = append(errs, compressBackup(backup))
	}
	return errors.Join(errs...)
}

func (r *rotatingFile) backupName(at time.Time) string {
	dir, base := filepath.Split(r.path)
	ext := filepath.Ext(base)
	return filepath.Join(dir, strings.TrimSuffix(base, ext)+"-"+at.Format(backupLayout)+ext)
}

type backupFile struct {
	path string
	at   time.Time
}

// backups are this log's backups, oldest first.
func (r *rotatingFile) backups() []backupFile {
	dir, base := filepath.Split(r.path)
	if dir == "" {
		dir = "."
	}
	ext := filepath.Ext(base)
	prefix := strings.TrimSuffix(base, ext) + "-"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []backupFile
	for _, e := range ents {
		name := strings.TrimSuffix(e.Name(), ".gz")
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ext) {
			continue
		}
		at, err := time.Parse(backupLayout, strings.TrimSuffix(strings.TrimPrefix(name, prefix), ext))
		if err != nil {
			continue
		}
		out = append(out, backupFile{path: filepath.Join(dir, e.Name()), at: at})
	}
	slices.SortFunc(out, func(a, b backupFile) int { return a.at.Compare(b.at) })
	return out
}

// prune removes the oldest backups past keep.
func (r *rotatingFile) prune() error {
	if r.keep <= 0 {
		return nil
	}
	b := r.backups()
	var errs []error
	for _, old := range b[:max(0, len(b)-r.keep)] {
		if err := os.Remove(old.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// compressBackup replaces path by path.gz, unless gzip would not make it
// smaller (then path stays as it is): a backup never takes more room
// compressed, and while path.gz is written the two together stay under
// twice path's size.
func compressBackup(path string) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	tmp := path + ".gz.tmp"
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // no-op after the rename
	capped := &capWriter{w: dst, left: fi.Size() - 1}
	zw := gzip.NewWriter(capped)
	_, err = io.Copy(zw, src)
	if err == nil {
		err = zw.Close()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, errNotSmaller) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("compress %s: %w", path, err)
	}
	if err := os.Rename(tmp, path+".gz"); err != nil {
		return err
	}
	return os.Remove(path)
}

var errNotSmaller = errors.New("compressed is not smaller")

// capWriter fails once more than left bytes were written.
type capWriter struct {
	w    io.Writer
	left int64
}

func (c *capWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		return 0, errNotSmaller
	}
	c.left -= int64(len(p))
	return c.w.Write(p)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
