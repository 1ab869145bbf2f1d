package atomicfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

func TestWriteReplacesWithExactMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, perm := range []os.FileMode{0o600, 0o640, 0o755} {
		if err := Write(path, []byte("new"), perm); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != "new" {
			t.Fatalf("content = %q, %v; want new", got, err)
		}
		if runtime.GOOS == "windows" {
			continue
		}
		st, _ := os.Stat(path)
		if st.Mode().Perm() != perm {
			t.Errorf("mode = %v, want %v", st.Mode().Perm(), perm)
		}
	}
	assertOnly(t, dir, "state.json")
}

func TestWriteNeverWritesThroughALink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "agent.json")
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	if err := RefuseSymlink(path); !errors.Is(err, ErrSymlink) {
		t.Errorf("RefuseSymlink = %v, want ErrSymlink", err)
	}
	if err := Write(path, []byte("ours"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "precious" {
		t.Errorf("victim = %q: written through the link", got)
	}
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() {
		t.Fatalf("path is %v, %v; want a regular file of our own", st.Mode(), err)
	}
	if err := RefuseSymlink(path); err != nil {
		t.Errorf("RefuseSymlink on a regular file = %v", err)
	}
	if err := RefuseSymlink(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("RefuseSymlink on a missing file = %v", err)
	}
}

func TestWriteFailureLeavesOldFileAndNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	// a folder in the way: the rename fails after the temporary file was written
	target := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(target, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Write(target, []byte("new"), 0o600); err == nil {
		t.Fatal("Write over a non-empty folder succeeded")
	}
	if err := Write(filepath.Join(dir, "nofolder", "f"), []byte("new"), 0o600); err == nil {
		t.Fatal("Write into a missing folder succeeded")
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("old file = %q", got)
	}
	assertOnly(t, dir, "f", "sub")
}

func TestWriteConcurrentReadersSeeWholeFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	a, b := make([]byte, 1<<16), make([]byte, 1<<16)
	for i := range a {
		a[i], b[i] = 'a', 'b'
	}
	if err := Write(path, a, 0o600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		writeAlternately(t, 50, path, a, b, Write)
	}()
	for range 200 {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(a) || (got[0] != got[len(got)-1]) {
			t.Fatalf("a reader saw a half-written file (%d bytes)", len(got))
		}
	}
	wg.Wait()
	assertOnly(t, dir, "f")
}

// writeAlternately writes a, then b, and so on, n times at path (from a
// goroutine of the test's: t.Error only).
func writeAlternately(t *testing.T, n int, path string, a, b []byte, write func(string, []byte, os.FileMode) error) {
	for i := range n {
		data := a
		if i%2 == 1 {
			data = b
		}
		if err := write(path, data, 0o600); err != nil {
			t.Error(err)
			return
		}
	}
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("folder holds %v, want %v (a temporary file left behind?)", got, names)
	}
	for i := range names {
		if got[i] != names[i] {
			t.Fatalf("folder holds %v, want %v", got, names)
		}
	}
}

func TestWriteNewNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "beads.hcl")
	if err := WriteNew(path, []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteNew(path, []byte("second"), 0o644); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("WriteNew over an existing file = %v, want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "first" {
		t.Errorf("content = %q, want first", got)
	}
	link := filepath.Join(dir, "link.hcl")
	if err := os.Symlink(filepath.Join(dir, "absent"), link); err != nil {
		t.Fatal(err)
	}
	if err := WriteNew(link, []byte("x"), 0o644); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("WriteNew over a dangling link = %v, want fs.ErrExist", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the link's target was created")
	}
	assertOnly(t, dir, "beads.hcl", "link.hcl")
}

// TestKeepAsKeepsTheOldContent: the backup holds what path held, also after
// Write replaced path; no temporary name is left behind.
func TestKeepAsKeepsTheOldContent(t *testing.T) {
	dir := t.TempDir()
	path, backup := filepath.Join(dir, "state.json"), filepath.Join(dir, "state.json.backup")
	if err := KeepAs(path, backup); err != nil {
		t.Fatalf("KeepAs of a missing file: %v", err)
	}
	for _, v := range []string{"one", "two", "three"} {
		if err := KeepAs(path, backup); err != nil {
			t.Fatal(err)
		}
		if err := Write(path, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(backup); err != nil || string(b) != "two" {
		t.Errorf("backup = %q, %v; want the content before the last Write", b, err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "three" {
		t.Errorf("path = %q, %v", b, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("files left: %v, want state.json and its backup", ents)
	}
}

// TestWriteUnsynced replaces the file whole with the mode asked, through a
// link planted at the path without writing through it, and leaves no
// temporary file.
func TestWriteUnsynced(t *testing.T) {
	replacesLink(t, "summary.json", WriteUnsynced)
}

// replacesLink has write replace a link planted at name (in a folder of its
// own) with a regular file of the mode asked, without writing through it,
// and checks that no temporary file is left; it returns the path.
func replacesLink(t *testing.T, name string, write func(string, []byte, os.FileMode) error) string {
	t.Helper()
	dir := t.TempDir()
	path, victim := filepath.Join(dir, name), filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	if err := write(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("after the write: %v, %v; want a regular file, 0600", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("content %q, want new", b)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the link's target was written: %q", b)
	}
	assertOnly(t, dir, name, "victim")
	return path
}

// TestWriteCache replaces the file whole with the mode asked, through a link
// planted at the path without writing through it (the link is removed, not
// followed), leaves no temporary file, and a reader running beside it sees
// the old content, the new, or no file, never part of one.
func TestWriteCache(t *testing.T) {
	path := replacesLink(t, "entry", WriteCache)
	dir := filepath.Dir(path)
	if err := os.Remove(filepath.Join(dir, "victim")); err != nil {
		t.Fatal(err)
	}

	a, b := bytes.Repeat([]byte("a"), 1<<16), bytes.Repeat([]byte("b"), 1<<16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		writeAlternately(t, 200, path, a, b, WriteCache)
	}()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		got, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if whole := string(got) == "new" || len(got) == len(a) && got[0] == got[len(got)-1]; !whole {
			t.Fatalf("a reader saw a half-written file (%d bytes)", len(got))
		}
	}
	assertOnly(t, dir, "entry")
}
