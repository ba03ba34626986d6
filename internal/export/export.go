package export

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/spoor-dev/spoor/internal/atomicfile"
	"github.com/spoor-dev/spoor/internal/engine"
	"github.com/spoor-dev/spoor/internal/lake"
	"github.com/spoor-dev/spoor/internal/sqlquote"
)

// Querier runs trusted SQL over one organization's events in [from, to]
// (epoch ms, inclusive), with the events and events_full views bound to
// that organization alone: datadir.DB.Query.
type Querier interface {
	Query(ctx context.Context, org string, from, to int64, query string, args ...any) (*engine.Rows, error)
}

// Options say what to export where.
type Options struct {
	Dir      string   // the export's root: files go under Dir/events/
	Orgs     []string // the organizations to export
	From, To int64    // event_time bounds, epoch ms, inclusive
	// Staging is a directory the engine may write to (DuckDB writes only
	// under the lake); Run makes its own directory in it and removes it.
	Staging string
	// Force replaces an organization's earlier export; without it Run
	// refuses before writing anything.
	Force bool
	// Progress, if set, hears of each organization when it is published
	// (or found to have no events in range).
	Progress func(Progress)
}

// Progress reports one organization done.
type Progress struct {
	Org           string
	I, N          int // organization I of N, from 1
	Events, Files int64
	Bytes         int64
}

// Summary counts what Run wrote.
type Summary struct {
	Orgs                 int // organizations with events in range
	Events, Files, Bytes int64
}

// ExistsError says organizations already have an export under Dir.
type ExistsError struct{ Dirs []string }

func (e *ExistsError) Error() string {
	return "already exported (pass --force to replace): " + strings.Join(e.Dirs, ", ")
}

// OrgDir is where org's export lives under root: one path element per
// organization, however its name is spelled (slashes, dots, quotes).
func OrgDir(root, org string) string {
	return filepath.Join(root, "events", "organization_id="+lake.EscapePathValue(org))
}

// Run exports the organizations' events. Each organization is written
// under a temporary directory beside events/ and renamed into place when
// whole, so a reader (or a crash) never sees part of one.
func Run(ctx context.Context, q Querier, o Options) (Summary, error) {
	var sum Summary
	if !o.Force {
		var exists []string
		for _, org := range o.Orgs {
			if _, err := os.Lstat(OrgDir(o.Dir, org)); err == nil {
				exists = append(exists, OrgDir(o.Dir, org))
			}
		}
		if len(exists) > 0 {
			return sum, &ExistsError{exists}
		}
	}
	if err := os.MkdirAll(filepath.Join(o.Dir, "events"), 0o755); err != nil {
		return sum, err
	}
	// Hidden and outside events/, so that no reader's glob finds it.
	tmp, err := os.MkdirTemp(o.Dir, ".spoor-export-")
	if err != nil {
		return sum, err
	}
	defer os.RemoveAll(tmp)
	if err := os.MkdirAll(o.Staging, 0o755); err != nil {
		return sum, err
	}
	stage, err := os.MkdirTemp(o.Staging, "export-")
	if err != nil {
		return sum, err
	}
	defer os.RemoveAll(stage)
	for i, org := range o.Orgs {
		p, err := exportOrg(ctx, q, o, org, tmp, stage)
		if err != nil {
			return sum, fmt.Errorf("export organization %q: %w", org, err)
		}
		p.I, p.N = i+1, len(o.Orgs)
		if p.Events > 0 {
			sum.Orgs++
		}
		sum.Events += p.Events
		sum.Files += p.Files
		sum.Bytes += p.Bytes
		if o.Progress != nil {
			o.Progress(p)
		}
	}
	return sum, nil
}

// hour is one date_key of an organization, how many events it holds, and
// the union of their _lifted bits.
type hour struct {
	key    string
	n      int64
	lifted uint64
}

// exportOrg writes org's hours one COPY each, then publishes them. A COPY
// per hour keeps the rows sorted (DuckDB's PARTITION_BY write does not keep
// an ORDER BY) and each statement bounded to an hour's parts.
func exportOrg(ctx context.Context, q Querier, o Options, org, tmp, stage string) (Progress, error) {
	p := Progress{Org: org}
	hours, err := hoursOf(ctx, q, org, o.From, o.To)
	if err != nil || len(hours) == 0 {
		return p, err
	}
	work, err := os.MkdirTemp(tmp, "org-")
	if err != nil {
		return p, err
	}
	for _, h := range hours {
		start, err := time.Parse(hourLayout, h.key)
		if err != nil {
			return p, fmt.Errorf("unexpected date_key %q", h.key)
		}
		from := max(o.From, start.UnixMilli())
		to := min(o.To, start.UnixMilli()+time.Hour.Milliseconds()-1)
		name := "part-" + ulid.Make().String() + ".parquet"
		staged := filepath.Join(stage, name)
		n, err := copyHour(ctx, q, org, from, to, h, staged)
		if err != nil {
			os.Remove(staged)
			return p, fmt.Errorf("hour %s: %w", h.key, err)
		}
		if n < h.n {
			os.Remove(staged)
			return p, fmt.Errorf("hour %s: wrote %d events of %d: the lake changed while exporting; run again", h.key, n, h.n)
		}
		dir := filepath.Join(work, "date_key="+lake.EscapePathValue(h.key))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return p, err
		}
		size, err := move(staged, filepath.Join(dir, name))
		if err != nil {
			return p, err
		}
		if err := atomicfile.SyncDir(dir); err != nil {
			return p, err
		}
		p.Events += n
		p.Files++
		p.Bytes += size
	}
	if err := atomicfile.SyncDir(work); err != nil {
		return p, err
	}
	return p, publish(work, OrgDir(o.Dir, org), o.Force)
}

const hourLayout = "2006-01-02-15"

// hoursOf lists the date_keys of org's events in [from, to] with counts.
func hoursOf(ctx context.Context, q Querier, org string, from, to int64) ([]hour, error) {
	rows, err := q.Query(ctx, org, from, to, "SELECT date_key, count(*), coalesce(bit_or(_lifted), 0) FROM events_full GROUP BY date_key ORDER BY date_key")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hours []hour
	for rows.Next() {
		var k sql.NullString
		var n, lifted int64
		if err := rows.Scan(&k, &n, &lifted); err != nil {
			return nil, err
		}
		if !k.Valid {
			return nil, errors.New("events without a date_key")
		}
		hours = append(hours, hour{k.String, n, uint64(lifted)})
	}
	return hours, rows.Err()
}

// copyHour writes org's events of hour h in [from, to] to path, sorted by
// agent_id then event_time, and returns how many it wrote. The SQL holds no
// organization name: the scope carries it.
func copyHour(ctx context.Context, q Querier, org string, from, to int64, h hour, path string) (int64, error) {
	stmt := "COPY (SELECT " + selectList(h.lifted) + " FROM events_full WHERE date_key = " + sqlquote.String(h.key) +
		" ORDER BY agent_id, event_time, _id) TO " + sqlquote.String(path) + " (FORMAT parquet, COMPRESSION zstd)"
	rows, err := q.Query(ctx, org, from, to, stmt)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
	}
	return n, rows.Err()
}
