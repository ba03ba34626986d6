package lake

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/spoor-dev/spoor/internal/atomicfile"
)

// The schema file records which part schema the directory writes now and
// since when. Parts written before that (by an older spoor whose catalog had
// fewer fields) are legacy: queries over them check the columns each part
// holds, and compaction leaves them as they are.
const schemaFile = "schema.json"

type schemaRecord struct {
	Fingerprint string   `json:"fingerprint"`
	Since       int64    `json:"since"` // epoch ms; parts written before are legacy
	Columns     []string `json:"columns"`
}

func (ps *partSchema) fingerprint() (string, []string) {
	var cols []string
	for _, c := range ps.schema.Columns() {
		cols = append(cols, strings.Join(c, "."))
	}
	return fmt.Sprintf("%016x", xxhash.Sum64String(strings.Join(cols, "\n"))), cols
}

// loadSchema reads or writes the schema file and returns since.
func (s *Store) loadSchema(hadParts bool) (int64, error) {
	path := filepath.Join(s.dir, schemaFile)
	fp, cols := s.schema.fingerprint()
	var rec schemaRecord
	b, err := os.ReadFile(path)
	switch {
	case err == nil && json.Unmarshal(b, &rec) == nil && rec.Fingerprint == fp:
		return rec.Since, nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return 0, fmt.Errorf("read %s: %w", schemaFile, err)
	}
	rec = schemaRecord{Fingerprint: fp, Columns: cols}
	if hadParts {
		rec.Since = time.Now().UnixMilli()
	}
	b, _ = json.MarshalIndent(rec, "", "  ")
	if _, err := atomicfile.Write(path, b, 0o644); err != nil {
		return 0, fmt.Errorf("write %s: %w", schemaFile, err)
	}
	return rec.Since, nil
}

// legacy reports whether a part may have another schema than the current.
func (s *Store) legacy(p Part) bool { return int64(p.ULID.Time()) < s.schemaSince }

// MaybeMixed reports whether some of the files may lack columns of the
// current schema (parts written by an older spoor).
func (s *Store) MaybeMixed(files []string) bool {
	if s.schemaSince == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	set := make(map[string]bool, len(files))
	for _, f := range files {
		set[f] = true
	}
	for _, ps := range s.parts {
		for _, p := range ps {
			if set[p.Path] && s.legacy(p) {
				return true
			}
		}
	}
	return false
}
