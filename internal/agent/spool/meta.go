package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spoor-dev/spoor/internal/atomicfile"
	"github.com/spoor-dev/spoor/internal/wal"
)

const (
	metaFile    = "meta.json"
	metaVersion = 1
	// maxMetaBytes bounds what is read of meta.json: it is a few numbers.
	maxMetaBytes = 4 << 10
)

// meta is what the spool keeps beside its log.
type meta struct {
	Version int     `json:"version"`
	Ack     wal.Pos `json:"ack"` // last record the server acknowledged
	HasAck  bool    `json:"has_ack"`
	// Floor is the start of the first segment not dropped.
	Floor wal.Pos `json:"floor"`
	// Dropped counts the events dropped unsent, over the spool's life.
	Dropped int64 `json:"dropped"`
	// Orphaned counts events in flight whose segment was dropped: they
	// arrive with their batch, or, if the agent stops first, are dropped.
	Orphaned int64 `json:"orphaned"`
}

// readMeta reads meta.json; a missing file is an empty spool's meta.
func readMeta(path string) (meta, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return meta{Version: metaVersion}, nil
	}
	if err != nil {
		return meta{}, err
	}
	defer f.Close()
	b := make([]byte, maxMetaBytes+1)
	n, _ := f.Read(b)
	if n > maxMetaBytes {
		return meta{}, fmt.Errorf("%s: over %d bytes", path, maxMetaBytes)
	}
	var m meta
	if err := json.Unmarshal(b[:n], &m); err != nil {
		return meta{}, fmt.Errorf("%s: %w", path, err)
	}
	if m.Version != metaVersion {
		return meta{}, fmt.Errorf("%s: version %d, want %d", path, m.Version, metaVersion)
	}
	if m.Ack.Segment < 0 || m.Ack.Offset < 0 || m.Floor.Segment < 0 || m.Floor.Offset < 0 || m.Dropped < 0 || m.Orphaned < 0 {
		return meta{}, fmt.Errorf("%s: negative field", path)
	}
	return m, nil
}

// persist writes meta.json if it changed.
func (s *Spool) persist() error {
	s.mu.Lock()
	if !s.metaDirt {
		s.mu.Unlock()
		return nil
	}
	m := s.meta
	m.Version = metaVersion
	s.metaDirt = false
	s.metaAt = s.opts.Now()
	s.mu.Unlock()
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := atomicfile.Write(filepath.Join(s.dir, metaFile), b, 0o600); err != nil {
		return fmt.Errorf("spool meta: %w", err)
	}
	return nil
}
