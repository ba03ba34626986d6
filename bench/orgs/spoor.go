package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// ingestRow is one file through `spoor ingest --no-detect`.
type ingestRow struct {
	ds        *dataset
	stored    int64
	cost      measured
	lake      lakeFacts // after ingest (which compacts at its end)
	compacted lakeFacts // after one more compaction
	needle    []time.Duration
	needleN   int
}

func (r *ingestRow) rate() float64 { return float64(r.stored) / r.cost.wall.Seconds() }

// lakeFacts is what DATA/lake/events holds.
type lakeFacts struct {
	bytes  int64
	parts  int
	days   int
	perOrg []int // parts holding an organization's events of a day, per organization and day
	files  []string
}

func (l lakeFacts) perEvent(events int64) float64 { return float64(l.bytes) / float64(events) }

var storedRE = regexp.MustCompile(`(?m)^\s*stored:\s+(\d+) new events`)

// ingestFile times `spoor ingest --no-detect` of the file into a fresh data
// directory, measures the lake after it and after one more compaction, and
// times the needle query.
func ingestFile(ctx context.Context, c *config, ds *dataset) (*ingestRow, error) {
	row := &ingestRow{ds: ds}
	dir := filepath.Join(c.scratch, fmt.Sprintf("lake-%d", ds.orgs))
	defer c.drop(dir)
	if err := settle(ds.path); err != nil {
		return nil, err
	}
	logf("spoor ingest --no-detect of the %s-organization file", commas(int64(ds.orgs)))
	out, m, err := run(ctx, c.spoor, "ingest", "--no-detect", "--data", dir, ds.path)
	if err != nil {
		return nil, err
	}
	row.cost = m
	sm := storedRE.FindSubmatch(out)
	if sm == nil {
		return nil, fmt.Errorf("ingest: no \"stored:\" line in its summary:\n%s", clip(out))
	}
	row.stored, _ = strconv.ParseInt(string(sm[1]), 10, 64)
	if row.stored != int64(ds.events) {
		return nil, fmt.Errorf("ingest stored %d events of the file's %d", row.stored, ds.events)
	}
	logf("  %s events in %s (%s ev/s), CPU %s, peak RSS %s", commas(row.stored), secs(m.wall), commas(int64(row.rate())), secs(m.cpu), bytesStr(m.rss))
	if row.lake, err = measureLake(ctx, dir, nil); err != nil {
		return nil, err
	}
	if err := compact(ctx, c, dir); err != nil {
		return nil, err
	}
	if row.compacted, err = measureLake(ctx, dir, &row.lake); err != nil {
		return nil, err
	}
	logf("  lake %s (%.0f B/event), %d parts; after another compaction %s, %d parts", bytesStr(row.lake.bytes),
		row.lake.perEvent(row.stored), row.lake.parts, bytesStr(row.compacted.bytes), row.compacted.parts)
	row.needle, row.needleN, err = searchNeedle(ctx, c, dir, ds.needle)
	return row, err
}

// compact runs one compaction of dir: `spoor ingest` of nothing flushes and
// compacts at its end, as every ingest does.
func compact(ctx context.Context, c *config, dir string) error {
	empty := filepath.Join(c.scratch, "empty.ndjson")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		return err
	}
	_, _, err := run(ctx, c.spoor, "ingest", "--no-detect", "--data", dir, empty)
	return err
}

// searchNeedle runs the needle through `spoor search` once to warm up and
// c.runs times timed; every run must find the events the file holds.
func searchNeedle(ctx context.Context, c *config, dir string, n needle) ([]time.Duration, int, error) {
	var walls []time.Duration
	got := 0
	for i := 0; i <= c.runs; i++ {
		out, m, err := run(ctx, c.spoor, "search", "--data", dir, "--org", n.org, "--format", "ndjson", "--limit", "0", n.query())
		if err != nil {
			return nil, 0, err
		}
		got = bytes.Count(out, []byte("\n"))
		if got != n.want {
			return nil, 0, fmt.Errorf("needle %s in %s: %d events, the file holds %d", n.query(), n.org, got, n.want)
		}
		if i > 0 {
			walls = append(walls, m.wall)
		}
	}
	logf("  needle (%d events): median %s of %d", got, ms(median(walls)), len(walls))
	return walls, got, nil
}

// measureLake sums the part files under DATA/lake/events and counts, per
// organization and UTC day of event_time, the parts holding its events.
// DuckDB reads the organization from the files (shared parts) or from the
// Hive path (a part per organization and hour), so both layouts count alike.
// When the files are those of prev, its counts are kept.
func measureLake(ctx context.Context, dataDir string, prev *lakeFacts) (lakeFacts, error) {
	var l lakeFacts
	root := filepath.Join(dataDir, "lake", "events")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, ".parquet") {
			info, err := d.Info()
			if err != nil {
				return err
			}
			l.bytes += info.Size()
			l.parts++
			l.files = append(l.files, p)
		}
		return nil
	})
	if err != nil || l.parts == 0 {
		return l, err
	}
	if prev != nil && slices.Equal(prev.files, l.files) {
		l.perOrg, l.days = prev.perOrg, prev.days
		return l, nil
	}
	conn, err := duckdb.NewConnector("", nil)
	if err != nil {
		return l, fmt.Errorf("open duckdb: %w", err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, s := range []string{"SET threads = 2", "SET TimeZone = 'UTC'", "SET memory_limit = '1GB'"} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return l, fmt.Errorf("duckdb %s: %w", s, err)
		}
	}
	// event_day, not day: the shared layout's directories are day=YYYY-MM-DD.
	q := `SELECT CAST(event_time AS DATE) AS event_day, count(DISTINCT filename) AS parts
		FROM read_parquet(?, hive_partitioning = true, filename = true)
		GROUP BY organization_id, event_day`
	rows, err := db.QueryContext(ctx, q, filepath.Join(root, "**", "*.parquet"))
	if err != nil {
		return l, fmt.Errorf("count parts per organization: %w", err)
	}
	defer rows.Close()
	days := map[time.Time]bool{}
	for rows.Next() {
		var day time.Time
		var n int
		if err := rows.Scan(&day, &n); err != nil {
			return l, err
		}
		days[day] = true
		l.perOrg = append(l.perOrg, n)
	}
	l.days = len(days)
	slices.Sort(l.perOrg)
	return l, rows.Err()
}

func (l lakeFacts) maxPerOrg() int {
	if len(l.perOrg) == 0 {
		return 0
	}
	return l.perOrg[len(l.perOrg)-1]
}

func (l lakeFacts) medianPerOrg() float64 {
	n := len(l.perOrg)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return float64(l.perOrg[n/2])
	}
	return float64(l.perOrg[n/2-1]+l.perOrg[n/2]) / 2
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "..."
	}
	return string(b)
}
