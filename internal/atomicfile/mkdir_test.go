package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMkdirAll(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "c")
	if err := MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("%s not made: %v", dir, err)
	}
	if err := MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("again: %v", err)
	}
	file := filepath.Join(root, "f")
	os.WriteFile(file, nil, 0o644)
	if err := MkdirAll(filepath.Join(file, "x"), 0o755); err == nil {
		t.Fatal("made a directory under a file")
	}
	if err := MkdirAll(file, 0o755); err == nil {
		t.Fatal("a file taken for a directory")
	}
}
