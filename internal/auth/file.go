package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spoor-dev/spoor/internal/atomicfile"
)

// maxFileSize bounds what is read as a token file (a million tokens fit).
const maxFileSize = 256 << 20

// stamp identifies one version of the token file: every write renames a
// new inode over the path, so a change shows in the inode, size or mtime.
type stamp struct {
	exists bool
	ino    uint64
	size   int64
	mtime  int64 // ns
}

func stampOf(fi os.FileInfo) stamp {
	st := stamp{exists: true, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = uint64(sys.Ino)
	}
	return st
}

func statFile(path string) (stamp, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return stamp{}, nil
	}
	if err != nil {
		return stamp{}, err
	}
	return stampOf(fi), nil
}

// badFileError is a token file that reads but is not a token list.
type badFileError struct{ err error }

func (e *badFileError) Error() string { return e.err.Error() }
func (e *badFileError) Unwrap() error { return e.err }

// readFile reads the token file and the stamp of what it read (stat'ed
// through the same descriptor, so the two agree); absent is no tokens.
func readFile(path string) ([]Token, stamp, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, stamp{}, nil
	}
	if err != nil {
		return nil, stamp{}, fmt.Errorf("read tokens: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, stamp{}, fmt.Errorf("read tokens: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, stamp{}, fmt.Errorf("read tokens: %w", err)
	}
	if len(b) > maxFileSize {
		return nil, stamp{}, &badFileError{fmt.Errorf("read tokens %s: larger than %d bytes", path, maxFileSize)}
	}
	var tokens []Token
	if err := json.Unmarshal(b, &tokens); err != nil {
		return nil, stamp{}, &badFileError{fmt.Errorf("read tokens %s: %w", path, err)}
	}
	return tokens, stampOf(fi), nil
}

// update changes the token file under its lock: the file is read afresh
// (another process may have written it since this Store last looked),
// change edits the list, and the result is written durably, readable by
// its owner only. The Store then holds what was written.
func (s *Store) update(change func([]Token) ([]Token, error)) error {
	unlock, err := lockFile(s.path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	tokens, _, err := readFile(s.path)
	if err != nil {
		return err
	}
	if tokens, err = change(tokens); err != nil {
		return err
	}
	b, err := json.MarshalIndent(tokens, "", "  ")
	if err != nil {
		return err
	}
	fi, err := atomicfile.Write(s.path, b, 0o600)
	if err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	s.mu.Lock()
	s.install(tokens, stampOf(fi), s.now())
	s.mu.Unlock()
	return nil
}

// lockFile takes an exclusive flock on path, creating it and its directory
// when absent, and returns its release. The lock is held by the open file,
// so two Stores in one process exclude each other as two processes do, and
// a process that dies releases it.
func lockFile(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock tokens: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock tokens: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock tokens %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
