package fim

import (
	"bytes"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BaselineFile is the baseline's file name under the state directory.
const BaselineFile = "fim.db"

var (
	bucketFiles = []byte("files") // path → Record
	bucketRoots = []byte("roots") // configured path pattern → "" once its baseline was built
)

// baseline is the last known state of every watched path, in a bbolt file:
// it survives restarts, so changes made while the agent was stopped are
// found at start.
type baseline struct {
	db *bolt.DB
}

func openBaseline(stateDir string) (*baseline, error) {
	path := filepath.Join(stateDir, BaselineFile)
	// A second agent on the same state directory waits a second for the
	// lock, then fails instead of hanging.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open fim baseline %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketFiles, bucketRoots} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init fim baseline %s: %w", path, err)
	}
	return &baseline{db: db}, nil
}

func (b *baseline) Close() error { return b.db.Close() }

// get returns the record of path; ok is false when there is none or it is
// unreadable (then the path is treated as new, which reports it).
func (b *baseline) get(path string) (Record, bool) {
	var r Record
	var ok bool
	_ = b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketFiles).Get([]byte(path))
		if v == nil {
			return nil
		}
		var err error
		r, err = decodeRecord(v)
		ok = err == nil
		return nil
	})
	return r, ok
}

// under returns the records of the paths below dir (dir itself excluded).
func (b *baseline) under(dir string) map[string]Record {
	out := map[string]Record{}
	prefix := []byte(dir + "/")
	if dir == "/" {
		prefix = []byte("/")
	}
	_ = b.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketFiles).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if r, err := decodeRecord(v); err == nil {
				out[string(k)] = r
			}
		}
		return nil
	})
	return out
}

// paths returns every path the baseline holds.
func (b *baseline) paths() []string {
	var out []string
	_ = b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFiles).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return out
}

// knownRoots returns the patterns whose baseline was built.
func (b *baseline) knownRoots() map[string]bool {
	out := map[string]bool{}
	_ = b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRoots).ForEach(func(k, _ []byte) error {
			out[string(k)] = true
			return nil
		})
	})
	return out
}

// change is one write to the baseline: a record to put, or a delete.
type change struct {
	path   string
	rec    Record
	delete bool
}

// apply writes changes and roots in one transaction (one fsync).
func (b *baseline) apply(changes []change, roots []string) error {
	if len(changes) == 0 && len(roots) == 0 {
		return nil
	}
	err := b.db.Update(func(tx *bolt.Tx) error {
		files := tx.Bucket(bucketFiles)
		for _, c := range changes {
			if c.delete {
				if err := files.Delete([]byte(c.path)); err != nil {
					return err
				}
				continue
			}
			// bbolt keeps the value until the commit: one buffer each.
			if err := files.Put([]byte(c.path), c.rec.encode(nil)); err != nil {
				return err
			}
		}
		for _, r := range roots {
			if err := tx.Bucket(bucketRoots).Put([]byte(r), []byte{1}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write fim baseline: %w", err)
	}
	return nil
}
