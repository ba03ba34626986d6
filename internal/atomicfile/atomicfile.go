// Package atomicfile writes small files so that a crash leaves either the
// old or the new content, never a mix, and the new name survives power loss.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data: a temporary file beside it, written,
// fsynced, renamed over path, then the directory fsynced so the rename is
// durable. It returns the new file's FileInfo (taken before the rename, so
// it names the inode now at path). Writers racing on one path need a lock
// of their own; each gets its own temporary file.
func Write(path string, data []byte, perm os.FileMode) (os.FileInfo, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	name := tmp.Name()
	fail := func(err error) (os.FileInfo, error) {
		tmp.Close()
		os.Remove(name)
		return nil, err
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	st, err := tmp.Stat()
	if err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return nil, err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return nil, err
	}
	return st, SyncDir(dir)
}

// SyncDir fsyncs a directory, making the names created, renamed or removed
// in it durable.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
