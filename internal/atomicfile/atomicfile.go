// Package atomicfile replaces files so that a reader sees either the old content or the new, never a
// half-written file, and so that a crash right after Write returns does not lose the new content.
//
// Every file beadsctl writes whole (state.json and its backup, agent.json, exported units, beads.hcl
// after fmt, bd's registry after migrate, and the bd 1.x server's pid and port files) goes through
// Write. The recipe is the one rule for all of them: a temporary file created in the same folder
// (O_EXCL|O_NOFOLLOW, so nothing planted there is written through), the data written and fsynced, its
// mode set, renamed over the path, and the folder fsynced so the rename itself is durable.
//
// A symlink found at the path is replaced by the new regular file; its target is never opened or
// changed. Where the caller must refuse a link instead (a file that is ours and that nobody has a
// reason to link), it says so with RefuseSymlink.
//
// It is a leaf: it imports nothing of beadsctl's.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrSymlink is returned (wrapped) by RefuseSymlink when the path is a symbolic link.
var ErrSymlink = errors.New("is a symbolic link")

// Write replaces path with data, with permissions perm exactly (the umask does not apply). The folder
// must exist. On any error the old file is untouched and no temporary file is left behind.
func Write(path string, data []byte, perm os.FileMode) error {
	if err := write(path, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteNew creates path with data and permissions perm, as Write does, but fails with an error
// wrapping fs.ErrExist when anything (a symlink included) is already at path: the file appears whole
// (hard-linked from the fsynced temporary file) or not at all, and an existing file is never replaced.
func WriteNew(path string, data []byte, perm os.FileMode) error {
	if err := writeWith(path, data, perm, linkNew); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteUnsynced replaces path with data as Write does (a reader sees the old
// file or the new, whole), without the fsyncs: after a crash the file may be
// the old one, or empty. Only for a file that is checked against what it
// stands for at every read and rebuilt when lost (state.json's summary).
func WriteUnsynced(path string, data []byte, perm os.FileMode) error {
	if err := writeOpts(path, data, perm, os.Rename, false); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteCache writes path as WriteUnsynced does, for a file rewritten at
// every command and read back by the next (the configuration cache's
// entries): the old file is removed just before the rename, so that the
// rename never replaces a file. On ext4 (auto_da_alloc, the default) a
// rename over an existing file starts the writeback of the new one's data
// there and then: 250-280 µs a rename of a 240 KB entry on an idle disk
// against 35 µs for the removal and a rename to a free name, milliseconds
// behind other writers, and a disk write each command; a file that is
// replaced again within the writeback delay is then never written at all.
// Between the removal and the rename there is no file at path (a reader
// finds none; a crash there leaves none): only for a file whose absence is
// merely a miss.
func WriteCache(path string, data []byte, perm os.FileMode) error {
	if err := writeOpts(path, data, perm, removeRename, false); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// removeRename removes path (whatever is there: a link is not followed),
// then renames name to it.
func removeRename(name, path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Rename(name, path)
}

// linkNew puts the temporary file name at path only when path is free, then drops the temporary name.
func linkNew(name, path string) error {
	if err := os.Link(name, path); err != nil {
		return err
	}
	return os.Remove(name)
}

func write(path string, data []byte, perm os.FileMode) error {
	return writeWith(path, data, perm, os.Rename)
}

func writeWith(path string, data []byte, perm os.FileMode, commit func(tmp, path string) error) error {
	return writeOpts(path, data, perm, commit, true)
}

func writeOpts(path string, data []byte, perm os.FileMode, commit func(tmp, path string) error, durable bool) error {
	dir := filepath.Dir(path)
	tmp, name, err := createTemp(dir, filepath.Base(path))
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(perm.Perm()); err != nil {
		return err
	}
	if durable {
		if err := tmp.Sync(); err != nil {
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := commit(name, path); err != nil {
		return err
	}
	committed = true
	if !durable {
		return nil
	}
	return syncDir(dir)
}

// createTemp makes a new file ".BASE.tmp-RANDOM" in dir, mode 0600, refusing to follow a link.
func createTemp(dir, base string) (*os.File, string, error) {
	for range 10000 {
		var r [6]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, "", err
		}
		name := filepath.Join(dir, "."+base+".tmp-"+hex.EncodeToString(r[:]))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|NoFollow, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("create temporary file in %s: too many attempts", dir)
}

// RefuseSymlink returns an error wrapping ErrSymlink when path is a symbolic link, and nil when it is
// anything else or does not exist. Call it before Write where a link at path can only have been planted.
func RefuseSymlink(path string) error {
	st, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s: %w", path, ErrSymlink)
	}
	return nil
}

// ErrNotOwn is returned (wrapped) by ReadOwn for a path that is not a regular file of at most its
// size (a FIFO, a device, a folder, a symbolic link).
var ErrNotOwn = errors.New("not a regular file of beadsctl's")

// ReadOwn reads a file that only beadsctl writes, by Write (a cache entry, a summary): the path
// itself, never through a symbolic link (NoFollow), opened without waiting (a FIFO planted there
// would block the reader forever, and SIGTERM with it), and only when it is a regular file of at
// most max bytes (a link to /dev/zero, a huge file). Any other file is an error wrapping ErrNotOwn.
func ReadOwn(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|NoFollow|nonBlock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > max {
		return nil, fmt.Errorf("%s: %w", path, ErrNotOwn)
	}
	b := make([]byte, 0, fi.Size()+1)
	for {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > max {
			return nil, fmt.Errorf("%s: %w", path, ErrNotOwn)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return b, nil
			}
			return nil, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// KeepAs makes backup a second name for the file at path, as it is now: a
// hard link under a temporary name, renamed over backup. Nothing is copied
// or synced: path was written by Write (synced, renamed, its folder synced),
// and it is only ever replaced by renames, never changed in place, so the
// link keeps the old content once path names a new file; the next Write in
// the same folder syncs the folder, which makes both renames durable. Where
// the file system has no hard links, the content is copied with Write. A
// missing path is no error (nothing to keep).
func KeepAs(path, backup string) error {
	if err := RefuseSymlink(path); err != nil {
		return err
	}
	dir := filepath.Dir(backup)
	for range 10000 {
		var r [6]byte
		if _, err := rand.Read(r[:]); err != nil {
			return err
		}
		name := filepath.Join(dir, "."+filepath.Base(backup)+".tmp-"+hex.EncodeToString(r[:]))
		err := os.Link(path, name)
		switch {
		case err == nil:
			if err := os.Rename(name, backup); err != nil {
				os.Remove(name)
				return fmt.Errorf("keep %s as %s: %w", path, backup, err)
			}
			return nil
		case errors.Is(err, fs.ErrExist):
			continue
		case errors.Is(err, fs.ErrNotExist):
			return nil
		}
		// No hard links here (FAT, some network file systems): copy.
		b, rerr := os.ReadFile(path)
		if errors.Is(rerr, fs.ErrNotExist) {
			return nil
		} else if rerr != nil {
			return rerr
		}
		return Write(backup, b, 0o600)
	}
	return fmt.Errorf("keep %s: too many attempts", path)
}
