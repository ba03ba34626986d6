package lake

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/spoor-dev/spoor/internal/atomicfile"
	"github.com/spoor-dev/spoor/internal/event"
)

// A compaction journal records a merge so a crash between publishing the new
// part and deleting the old ones is finished on the next open, and no event
// is ever held by two live parts.
const journalDir = "compact-journal"

type journal struct {
	New string   `json:"new"`
	Old []string `json:"old"`
}

// finishCompactions completes or abandons merges a crash interrupted. A
// journal whose new part was published has its old parts removed (and the
// removal fsynced) before the journal goes; one whose new part is absent
// was never published, and its old parts stay.
func (s *Store) finishCompactions() error {
	dir := filepath.Join(s.dir, journalDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read compaction journal: %w", err)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if strings.HasSuffix(e.Name(), tmpSuffix) {
			os.Remove(path) // a journal never written whole: nothing was published
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read compaction journal: %w", err)
		}
		var j journal
		if err := json.Unmarshal(b, &j); err != nil {
			// Journals are published whole (atomicfile): this one is not
			// ours to act on.
			return fmt.Errorf("compaction journal %s: %w", path, err)
		}
		_, err = os.Stat(j.New)
		switch {
		case err == nil:
			if err := s.removeParts(j.Old); err != nil {
				return fmt.Errorf("finish compaction %s: %w", path, err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("finish compaction %s: %w", path, err)
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("finish compaction: %w", err)
		}
	}
	return s.syncDir(dir)
}

// removeParts deletes part files and fsyncs each directory they were in,
// so the deletions are durable when it returns; files already gone are
// fine.
func (s *Store) removeParts(paths []string) error {
	dirs := map[string]bool{}
	for _, p := range paths {
		if err := s.step("remove", p); err != nil {
			return err
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		dirs[filepath.Dir(p)] = true
	}
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		if err := s.syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// step tells Options.Fault (a test's) that a durable step is next.
func (s *Store) step(op, path string) error {
	if s.opts.Fault == nil {
		return nil
	}
	return s.opts.Fault(op, path)
}

// syncDir fsyncs dir, making the names created or removed in it durable.
func (s *Store) syncDir(dir string) error {
	if err := s.step("syncdir", dir); err != nil {
		return err
	}
	return atomicfile.SyncDir(dir)
}

// partMeta is what a part's footer says of it.
type partMeta struct {
	rows                 int64
	minInsert, maxInsert int64
}

func readPartMeta(path string) (partMeta, error) {
	f, err := os.Open(path)
	if err != nil {
		return partMeta{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return partMeta{}, err
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return partMeta{}, err
	}
	m := partMeta{rows: pf.NumRows(), minInsert: 1<<63 - 1, maxInsert: -1 << 63}
	leaf, ok := pf.Schema().Lookup(event.Get(event.InsertTime).Name)
	if !ok {
		return partMeta{}, fmt.Errorf("no %s column", event.Get(event.InsertTime).Name)
	}
	for _, rg := range pf.Metadata().RowGroups {
		st := rg.Columns[leaf.ColumnIndex].MetaData.Statistics
		if len(st.MinValue) != 8 || len(st.MaxValue) != 8 {
			return partMeta{}, fmt.Errorf("no statistics for %s", event.Get(event.InsertTime).Name)
		}
		m.minInsert = min(m.minInsert, int64(binary.LittleEndian.Uint64(st.MinValue)))
		m.maxInsert = max(m.maxInsert, int64(binary.LittleEndian.Uint64(st.MaxValue)))
	}
	return m, nil
}

// CompactResult counts what compaction and retention did.
type CompactResult struct {
	Merged    int // parts merged away
	Written   int // parts written
	Expired   int // parts deleted by retention
	Rewritten int // parts rewritten without their expired events
}

// Compact merges the small parts of each partition into one, and applies
// retention: parts whose every event was ingested before now-EventRetention
// are deleted, parts with some such events are rewritten without them.
func (s *Store) Compact(ctx context.Context, now time.Time) (CompactResult, error) {
	if s.readOnly {
		return CompactResult{}, ErrReadOnly
	}
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	var res CompactResult
	cutoff := now.Add(-s.opts.EventRetention).UnixMilli()
	s.mu.Lock()
	days := make([]string, 0, len(s.parts))
	for d := range s.parts {
		days = append(days, d)
	}
	s.mu.Unlock()
	slices.Sort(days)
	for _, day := range days {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		s.mu.Lock()
		parts := slices.Clone(s.parts[day])
		s.mu.Unlock()
		var merge []Part
		var expired []Part
		rewrite := false
		for _, p := range parts {
			if s.legacy(p) {
				// Another schema: never merged with current parts. Only
				// whole-part expiry applies to it (below).
				if m, err := readPartMeta(p.Path); err == nil && m.maxInsert < cutoff {
					expired = append(expired, p)
				}
				continue
			}
			m, err := readPartMeta(p.Path)
			if err != nil {
				s.Quarantine(p.Path, err.Error())
				continue
			}
			switch {
			case m.maxInsert < cutoff:
				expired = append(expired, p)
			case m.minInsert < cutoff:
				merge = append(merge, p) // rewritten without its expired events
				res.Rewritten++
				rewrite = true
			case m.rows < s.opts.SmallPartRows:
				merge = append(merge, p)
			}
		}
		if len(expired) > 0 {
			if err := s.dropParts(day, expired, nil); err != nil {
				return res, fmt.Errorf("retention %s: %w", day, err)
			}
			res.Expired += len(expired)
		}
		if len(merge) < 2 && !rewrite {
			continue
		}
		n, err := s.mergeParts(day, merge, cutoff)
		if err != nil {
			return res, fmt.Errorf("compact %s: %w", day, err)
		}
		if n > 0 {
			res.Written++
		}
		res.Merged += len(merge)
	}
	return res, nil
}

// dropParts removes old parts from the catalog and disk, adding np if set.
// When it fails, some old parts may still be on disk beside np: the
// caller's journal, kept, has the next open remove them.
func (s *Store) dropParts(day string, old []Part, np *Part) error {
	s.mu.Lock()
	ps := s.parts[day][:0:0]
	for _, p := range s.parts[day] {
		if !slices.ContainsFunc(old, func(o Part) bool { return o.Path == p.Path }) {
			ps = append(ps, p)
		}
	}
	if np != nil {
		ps = append(ps, *np)
	}
	s.parts[day] = ps
	delete(s.ids, day) // reloaded from the parts on next use
	s.mu.Unlock()
	paths := make([]string, len(old))
	for i, p := range old {
		paths[i] = p.Path
	}
	return s.removeParts(paths)
}

// journaled publishes a new part in place of old ones so that a crash
// anywhere leaves either the old parts (no new one published) or the new
// one and a journal that the next open (finishCompactions) uses to delete
// the old ones: never both. commit publishes the new part; finish takes
// the old ones away and makes that durable; the journal goes last.
func (s *Store) journaled(id ulid.ULID, final string, old []string, commit, finish func() error) error {
	jdir := filepath.Join(s.dir, journalDir)
	if err := atomicfile.MkdirAll(jdir, 0o755); err != nil {
		return err
	}
	jb, _ := json.Marshal(journal{New: final, Old: old})
	jpath := filepath.Join(jdir, id.String()+".json")
	if err := s.step("journal", jpath); err != nil {
		return err
	}
	if _, err := atomicfile.Write(jpath, jb, 0o644); err != nil {
		return err
	}
	if err := commit(); err != nil {
		os.Remove(jpath)
		return err
	}
	if err := finish(); err != nil {
		return err // the journal stays: the next open finishes
	}
	if err := s.step("unjournal", jpath); err != nil {
		return err
	}
	return os.Remove(jpath)
}
