package export

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spoor-dev/spoor/internal/atomicfile"
)

// move moves a file the engine wrote under the lake to dst, renaming it
// when both are on one filesystem and copying it otherwise, and makes its
// content durable. It returns the file's size.
func move(src, dst string) (int64, error) {
	err := os.Rename(src, dst)
	if errors.Is(err, syscall.EXDEV) {
		err = copyFile(src, dst)
		if err == nil {
			err = os.Remove(src)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("move %s: %w", filepath.Base(src), err)
	}
	f, err := os.Open(dst)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("sync %s: %w", dst, err)
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(dst)
		return err
	}
	return nil
}

// publish renames the whole directory work to target. With force an
// existing target is moved aside first and removed once work is in place;
// without it an existing target is an error (an export that appeared
// since Run checked).
func publish(work, target string, force bool) error {
	old := ""
	if force {
		if _, err := os.Lstat(target); err == nil {
			old = work + ".old"
			if err := os.Rename(target, old); err != nil {
				return fmt.Errorf("replace %s: %w", target, err)
			}
		}
	} else if _, err := os.Lstat(target); err == nil {
		return &ExistsError{[]string{target}}
	}
	if err := os.Rename(work, target); err != nil {
		if old != "" {
			os.Rename(old, target)
		}
		return fmt.Errorf("publish %s: %w", target, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(target)); err != nil {
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}
