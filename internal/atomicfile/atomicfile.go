// Package atomicfile writes whole files so that a crash leaves either the
// old or the new content, never a mix, and the new name survives power loss.
// It is the one way spoor replaces or publishes a file: a temporary file
// beside the target, written, fsynced, renamed over the target, then the
// directory fsynced so the rename is durable.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// TempSuffix ends every temporary file's name, so a directory scan can
// remove the ones a crash left behind.
const TempSuffix = ".tmp"

// File is a file written under a temporary name in the target's directory
// and published at the target by Commit. Until then the target keeps its old
// content (or stays absent). Abort, or a failed Commit, removes the
// temporary file.
type File struct {
	*os.File
	path string
	done bool
}

// Create starts a file that Commit will publish at path with perm.
func Create(path string, perm os.FileMode) (*File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*"+TempSuffix)
	if err != nil {
		return nil, err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return &File{File: tmp, path: path}, nil
}

// Commit fsyncs the file, closes it, renames it over the target and fsyncs
// the directory. On error the temporary file is gone and the target is as
// it was (unless only the directory's fsync failed).
func (f *File) Commit() error { return f.commit(true) }

// CommitNoSync publishes the file like Commit without either fsync: for
// files that need not survive a crash but must never be seen half written.
func (f *File) CommitNoSync() error { return f.commit(false) }

func (f *File) commit(sync bool) error {
	if f.done {
		return errors.New("atomicfile: commit after commit or abort")
	}
	f.done = true
	name := f.Name()
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			os.Remove(name)
			return fmt.Errorf("sync %s: %w", f.path, err)
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, f.path); err != nil {
		os.Remove(name)
		return err
	}
	if !sync {
		return nil
	}
	return SyncDir(filepath.Dir(f.path))
}

// Abort closes and removes the temporary file, leaving the target as it
// was. It does nothing after Commit, so it can be deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// Write replaces path with data as one File. It returns the new file's
// FileInfo (taken before the rename, so it names the inode now at path).
// Writers racing on one path need a lock of their own; each gets its own
// temporary file.
func Write(path string, data []byte, perm os.FileMode) (os.FileInfo, error) {
	f, err := Create(path, perm)
	if err != nil {
		return nil, err
	}
	defer f.Abort()
	if _, err := f.File.Write(data); err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return st, f.Commit()
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

// MkdirAll creates dir and its missing parents as os.MkdirAll does, and
// makes each new directory's name durable by fsyncing its parent: a file
// committed into a new directory must not vanish with it in a crash.
func MkdirAll(dir string, perm os.FileMode) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return &os.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := MkdirAll(parent, perm); err != nil {
			return err
		}
	}
	// A writer racing to make the same directory may not have fsynced the
	// parent yet when we see EEXIST: fsync it here too.
	if err := os.Mkdir(dir, perm); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return SyncDir(parent)
}
