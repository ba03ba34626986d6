package lake

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/oklog/ulid/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/spoor-dev/spoor/internal/atomicfile"
)

// Lakes written before the shared day parts kept a part per organization
// and hour: lake/events/organization_id=ORG/date_key=HOUR/part-<ULID>.parquet,
// with organization_id and date_key in the path only. Open rewrites each
// such part as a part of the current layout (the same rows, sorted the
// same way, with the two columns filled in from its path) under a
// compaction journal, so a crash leaves either the old part or the new one;
// compaction then merges the small parts of each day.

// legacyPart is a part of the older layout.
type legacyPart struct {
	path, org, dateKey string
}

// scanLegacyOrg collects the parts under one organization_id= directory.
func (s *Store) scanLegacyOrg(root, name string) error {
	org := unescapePathValue(strings.TrimPrefix(name, orgPrefix))
	dates, err := os.ReadDir(filepath.Join(root, name))
	if err != nil {
		return err
	}
	for _, d := range dates {
		if !d.IsDir() || !strings.HasPrefix(d.Name(), datePrefix) {
			continue
		}
		dk := strings.TrimPrefix(d.Name(), datePrefix)
		err := s.scanDir(filepath.Join(root, name, d.Name()), func(path string) {
			if _, err := parseULID(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), partPrefix), partSuffix)); err != nil {
				s.quarantine(dayOf(dk), []string{org}, path, fmt.Errorf("%w: %s", errNotPart, filepath.Base(path)).Error())
				return
			}
			s.legacyParts = append(s.legacyParts, legacyPart{path, org, dk})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// migrateLegacy rewrites the parts of the older layout, then removes their
// emptied directories.
func (s *Store) migrateLegacy(ctx context.Context) error {
	if len(s.legacyParts) == 0 {
		return nil
	}
	s.opts.Logger.Info("migrating parts of the per-organization layout to shared day parts", "parts", len(s.legacyParts))
	w := newPartWriter(s.schema)
	w.noSync, w.fault = s.opts.NoSync, s.opts.Fault
	for _, lp := range s.legacyParts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := checkParquetFrame(lp.path); err != nil {
			s.quarantine(dayOf(lp.dateKey), []string{lp.org}, lp.path, err.Error())
			continue
		}
		p, err := s.migratePart(w, lp)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", lp.path, err)
		}
		s.parts[p.Day] = append(s.parts[p.Day], p)
	}
	s.legacyParts = nil
	root := filepath.Join(s.dir, lakeDir, eventsDir)
	orgs, _ := os.ReadDir(root)
	for _, o := range orgs {
		if !strings.HasPrefix(o.Name(), orgPrefix) {
			continue
		}
		dates, _ := os.ReadDir(filepath.Join(root, o.Name()))
		for _, d := range dates {
			os.Remove(filepath.Join(root, o.Name(), d.Name())) // only when empty
		}
		os.Remove(filepath.Join(root, o.Name()))
	}
	return s.syncDir(root)
}

// migratePart writes one legacy part's rows as a current part. Reading
// through partRow converts an older schema too: columns a part lacks read
// as NULL.
func (s *Store) migratePart(w *partWriter, lp legacyPart) (Part, error) {
	in, err := os.Open(lp.path)
	if err != nil {
		return Part{}, err
	}
	defer in.Close()
	r := parquet.NewGenericReader[partRow](in)
	defer r.Close()
	n := r.NumRows()
	day := dayOf(lp.dateKey)
	dir := partitionDir(s.dir, day)
	if err := s.makeDir(dir); err != nil {
		return Part{}, err
	}
	id := ulid.MustNew(ulid.Now(), rand.Reader)
	final := filepath.Join(dir, partPrefix+id.String()+partSuffix)
	f, out, err := w.create(final)
	if err != nil {
		return Part{}, err
	}
	defer f.Abort()
	orgs := map[string]int64{lp.org: n}
	pw := parquet.NewGenericWriter[partRow](out, append(w.options(), parquet.KeyValueMetadata(orgsKey, encodeOrgs(orgs)))...)
	rows := make([]partRow, 1024)
	var copied int64
	for {
		k, err := r.Read(rows)
		for i := range rows[:k] {
			rows[i].OrganizationId, rows[i].DateKey = lp.org, lp.dateKey
		}
		if _, werr := pw.Write(rows[:k]); werr != nil {
			return Part{}, werr
		}
		copied += int64(k)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Part{}, err
		}
	}
	if copied != n {
		return Part{}, fmt.Errorf("read %d rows of %d", copied, n)
	}
	if err := pw.Close(); err != nil {
		return Part{}, err
	}
	st, err := f.Stat()
	if err != nil {
		return Part{}, err
	}
	np := Part{Path: final, Day: day, ULID: id, Size: st.Size(), orgs: orgs, rows: n}
	err = s.journaled(id, final, []string{lp.path}, func() error { return w.commit(f) }, func() error {
		return s.removeParts([]string{lp.path})
	})
	return np, err
}

// makeDir creates a partition directory and makes its entry durable.
func (s *Store) makeDir(dir string) error {
	if err := s.step("mkdir", dir); err != nil {
		return err
	}
	return atomicfile.MkdirAll(dir, 0o755)
}
