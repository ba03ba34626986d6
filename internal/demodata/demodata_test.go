package demodata

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// The shipped set stays under 3 MB, and every folder that holds data has
// its source's license beside it (in it or in a folder above it).
func TestSizeAndLicenses(t *testing.T) {
	var total int64
	licensed := map[string]bool{}
	var data []string
	fs.WalkDir(FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if d.IsDir() {
			return nil
		}
		info, _ := d.Info()
		total += info.Size()
		base := path.Base(name)
		switch {
		case strings.HasPrefix(base, "LICENSE"):
			licensed[path.Dir(name)] = true
		case base != "README.md":
			data = append(data, name)
		}
		return nil
	})
	if total > 3<<20 {
		t.Errorf("the demo set holds %d bytes, over 3 MB", total)
	}
	if len(data) < 60 {
		t.Errorf("only %d data files", len(data))
	}
	for _, name := range data {
		ok := false
		for dir := path.Dir(name); ; dir = path.Dir(dir) {
			if licensed[dir] && dir != "." {
				ok = true
				break
			}
			if dir == "." {
				break
			}
		}
		if !ok {
			t.Errorf("%s has no license beside it", name)
		}
	}
}

func TestExtract(t *testing.T) {
	dir := t.TempDir()
	if err := Extract(dir); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "windows", "rdp_interactive_taskmanager_lsass_dump.zip"))
	if err != nil || st.Size() < 100000 {
		t.Fatalf("the LSASS recording: %v", err)
	}
	// A second run keeps what is there.
	p := filepath.Join(dir, "README.md")
	old, _ := os.Stat(p)
	if err := Extract(dir); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.Stat(p); !now.ModTime().Equal(old.ModTime()) {
		t.Error("a second extract rewrote the files")
	}
}
