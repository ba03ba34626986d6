package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entries lists dir's names, so a test can see a temporary file left over.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, content := range []string{"old", "new, and longer than the old"} {
		st, err := Write(path, []byte(content), 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if got := read(t, path); got != content {
			t.Fatalf("content %q, want %q", got, content)
		}
		if st.Size() != int64(len(content)) {
			t.Fatalf("FileInfo size %d, want %d", st.Size(), len(content))
		}
		now, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if !os.SameFile(st, now) {
			t.Fatal("FileInfo does not name the file now at path")
		}
		if now.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, want 0600", now.Mode().Perm())
		}
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("directory holds %v, want only state.json", names)
	}
}

// A crash before the rename (here: a File written but never committed)
// leaves the old content at the target; the temporary file it leaves ends
// in TempSuffix, so a scan can remove it.
func TestCrashBeforeRenameKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if _, err := Write(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("new"); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, path); got != "old" {
		t.Fatalf("before commit the target holds %q, want the old content", got)
	}
	tmp := f.Name()
	if filepath.Dir(tmp) != dir || !strings.HasSuffix(tmp, TempSuffix) || !strings.HasPrefix(filepath.Base(tmp), ".") {
		t.Fatalf("temporary file %s: want a hidden name ending in %s beside the target", tmp, TempSuffix)
	}
	f.Abort()
	if got := read(t, path); got != "old" {
		t.Fatalf("after abort the target holds %q, want the old content", got)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("after abort the directory holds %v, want only state.json", names)
	}
	f.Abort() // a second abort is harmless
	if err := f.Commit(); err == nil {
		t.Fatal("commit after abort succeeded")
	}
}

// A failed publish removes its temporary file and leaves the target alone.
func TestFailedCommitCleansUp(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "busy")
	// A non-empty directory cannot be renamed over.
	if err := os.MkdirAll(filepath.Join(target, "child"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(target, []byte("x"), 0o644); err == nil {
		t.Fatal("write over a non-empty directory succeeded")
	}
	if names := entries(t, dir); len(names) != 1 || names[0] != "busy" {
		t.Fatalf("after the failed write the directory holds %v, want only busy", names)
	}
	if st, err := os.Stat(target); err != nil || !st.IsDir() {
		t.Fatalf("target changed: %v %v", st, err)
	}
	if _, err := Write(filepath.Join(dir, "missing", "f"), []byte("x"), 0o644); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

func TestCommitTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CommitNoSync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err == nil {
		t.Fatal("second commit succeeded")
	}
	f.Abort() // after a commit, does nothing
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("abort after commit removed the file: %v", err)
	}
}
