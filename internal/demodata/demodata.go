// Package demodata ships the small set of real public telemetry (and the
// SigmaHQ rules that fire on it) that spoor demo ingests, so that a clone
// runs the whole demo with nothing beside it. data/README.md names each
// source and its license.
package demodata

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/spoor-dev/spoor/internal/atomicfile"
)

//go:embed data
var files embed.FS

// FS returns the set, rooted at its top folder (windows/, linux/,
// cloudtrail/, sigma/rules/: the layout of ../shared/datasets).
func FS() fs.FS {
	sub, err := fs.Sub(files, "data")
	if err != nil {
		panic(fmt.Sprintf("demodata: %v", err)) // embedded at build time
	}
	return sub
}

// Extract writes the set under dir, keeping files already there with the
// right size (a second demo run writes nothing).
func Extract(dir string) error {
	src := FS()
	return fs.WalkDir(src, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, err := os.Stat(dst); err == nil && st.Size() == info.Size() {
			return nil
		}
		b, err := fs.ReadFile(src, name)
		if err != nil {
			return err
		}
		if _, err := atomicfile.Write(dst, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path.Base(name), err)
		}
		return nil
	})
}
