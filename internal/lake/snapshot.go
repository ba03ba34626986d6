package lake

import (
	"context"
	"os"
	"path/filepath"
	"slices"

	"github.com/spoor-dev/spoor/internal/event"
)

// The head is made visible to DuckDB as snapshot parts under lake/head,
// rewritten when the head changed since the last query that needed them.
const headDir = "head"

type snapshot struct {
	gen   uint64
	files []string
	prev  []string // the generation before, which a running query may still open
}

// HeadFiles returns Parquet files holding org's events not yet in parts
// (the head and any flush in progress), for queries to read beside the parts.
func (s *Store) HeadFiles(org string) ([]string, error) {
	s.mu.Lock()
	gen := s.headGen
	if sn, ok := s.snapshots[org]; ok && sn.gen == gen {
		s.mu.Unlock()
		return sn.files, nil
	}
	byDay := map[string][]*event.Event{}
	for _, m := range []map[partKey][]*event.Event{s.head, s.flushing} {
		for k, evs := range m {
			if k.org == org {
				byDay[dayOf(k.dateKey)] = append(byDay[dayOf(k.dateKey)], evs...)
			}
		}
	}
	s.mu.Unlock()

	root := filepath.Join(s.dir, lakeDir, headDir, orgPrefix+escapePathValue(org))
	w := newPartWriter(s.schema)
	w.noSync = true // a snapshot is a view of the WAL's contents, not a copy to keep
	var files []string
	for day, evs := range byDay {
		sortForPart(evs) // a copy (append above): the head is not reordered
		p, err := w.write(context.Background(), filepath.Join(root, dayPrefix+day), day, evs)
		if err != nil {
			return nil, err
		}
		files = append(files, p.Path)
	}
	slices.Sort(files)
	s.mu.Lock()
	old := s.snapshots[org]
	s.snapshots[org] = snapshot{gen: gen, files: files, prev: old.files}
	s.mu.Unlock()
	// Files two generations old: no query that started since can hold them
	// unopened, and unlinking keeps already open readers working.
	for _, f := range old.prev {
		os.Remove(f)
	}
	return files, nil
}
