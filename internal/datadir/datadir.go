// Package datadir opens a data directory as one unit: the lake that keeps
// its events and the DuckDB engine that reads them, and answers queries over
// an organization's parts and head. Every reader (CLI, API, rules, hunts)
// goes through it, so a query means the same thing everywhere.
package datadir

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/engine"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/lake"
)

// Options configure a data directory.
type Options struct {
	Lake        lake.Options
	MemoryLimit string        // the process's memory budget, e.g. "4GB" (see engine.Options)
	MaxSpill    string        // cap on DuckDB's spill to DATA/tmp, e.g. "10GB" (default 10% of free disk)
	Timeout     time.Duration // per query
	Logger      *slog.Logger
	// AllowReadOnly opens a directory another process writes to read-only
	// instead of failing.
	AllowReadOnly bool
}

// DB is an open data directory.
type DB struct {
	Lake   *lake.Store
	Engine *engine.Engine
	// Alerts is nil when the directory is open read-only.
	Alerts  *alert.Store
	lakeDir string
	log     *slog.Logger
	verify  verifier
}

// Open opens the data directory dir, creating it if needed.
func Open(ctx context.Context, dir string, opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Lake.Logger = opts.Logger
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	// DuckDB starts while the lake is opened: both take milliseconds a
	// command line would otherwise wait for one after the other.
	type opened struct {
		eng *engine.Engine
		err error
	}
	engc := make(chan opened, 1)
	go func() {
		eng, err := engine.Open(ctx, engine.Options{
			AllowedDir:  filepath.Join(abs, "lake"),
			TempDir:     filepath.Join(abs, "tmp"),
			MemoryLimit: opts.MemoryLimit,
			MaxSpill:    opts.MaxSpill,
			Timeout:     opts.Timeout,
			OnMemoryKill: func(rss int64, n int) {
				opts.Logger.Warn("memory over the limit: queries interrupted", "rss_bytes", rss, "queries", n)
			},
		})
		engc <- opened{eng, err}
	}()
	st, err := lake.Open(ctx, abs, opts.Lake)
	if errors.Is(err, lake.ErrLocked) && opts.AllowReadOnly {
		opts.Logger.Warn("another spoor process writes to the data directory: reading its stored parts only; events it has not flushed yet are not shown", "dir", abs)
		st, err = lake.OpenReadOnly(ctx, abs, opts.Lake)
	}
	o := <-engc
	if err != nil {
		if o.eng != nil {
			o.eng.Close()
		}
		return nil, err
	}
	if o.err != nil {
		st.Abandon()
		return nil, o.err
	}
	eng := o.eng
	if !st.ReadOnly() {
		// DuckDB spills here; what a crashed process left is garbage.
		tmp := filepath.Join(abs, "tmp")
		os.RemoveAll(tmp)
		os.MkdirAll(tmp, 0o755)
		os.RemoveAll(filepath.Join(abs, "lake", exportDir)) // answers a crash left behind
	}
	db := &DB{Lake: st, Engine: eng, lakeDir: filepath.Join(abs, "lake"), log: opts.Logger}
	if !st.ReadOnly() {
		if db.Alerts, err = alert.Open(db.lakeDir, nil); err != nil {
			eng.Close()
			st.Abandon()
			return nil, fmt.Errorf("alerts: %w", err)
		}
	}
	return db, nil
}

// Close flushes the head and closes everything.
func (d *DB) Close(ctx context.Context) error {
	return d.close(func() error { return d.Lake.Close(ctx) })
}

// CloseUnflushed closes everything but leaves the head to the WAL, which
// the next Open replays: for a server whose shutdown flushed what its
// deadline allowed, and must not start an unbounded flush after it.
func (d *DB) CloseUnflushed() error { return d.close(d.Lake.Abandon) }

// close closes the engine, the alerts and then the lake with closeLake.
func (d *DB) close(closeLake func() error) error {
	err := d.Engine.Close()
	if d.Alerts != nil {
		if aerr := d.Alerts.Close(); aerr != nil {
			err = aerr
		}
	}
	if lerr := closeLake(); lerr != nil {
		err = lerr
	}
	if !d.Lake.ReadOnly() {
		// What DuckDB spilled is of no use to the next process.
		os.RemoveAll(filepath.Join(filepath.Dir(d.lakeDir), "tmp"))
	}
	return err
}

// Scope is what org may read in [from, to] (epoch ms): its parts in the
// partitions of that range, and its head; with alerts, its alerts too.
func (d *DB) Scope(org string, from, to int64, alerts bool) (engine.Scope, error) {
	files := d.Lake.Parts(org, from, to)
	head, err := d.Lake.HeadFiles(org)
	if err != nil {
		return engine.Scope{}, fmt.Errorf("snapshot head: %w", err)
	}
	sc := engine.Scope{Org: org, Files: append(files, head...), CheckColumns: d.Lake.MaybeMixed(files), Alerts: alerts}
	if alerts {
		if d.Alerts != nil {
			// The view reads the journal file: the store first applies
			// what it keeps to it (retention, a torn last line).
			if err := d.Alerts.Load(org); err != nil {
				return engine.Scope{}, fmt.Errorf("alerts: %w", err)
			}
		}
		sc.AlertFiles = alert.Journals(d.lakeDir, org)
	}
	if from > 0 || to < event.MaxTime {
		sc.From, sc.To = from, min(to, event.MaxTime)
	}
	return sc, nil
}

// Query runs trusted SQL over org's events in [from, to]. When it fails
// as a damaged file would make it, the parts are checked (see damaged); a part
// that fails its own full read is moved to quarantine (and reported by the
// lake) and the query runs again over the rest.
//
// The alerts view is bound when the SQL names alerts (engine.NamesAlerts).
func (d *DB) Query(ctx context.Context, org string, from, to int64, query string, args ...any) (*engine.Rows, error) {
	return d.run(ctx, org, from, to, engine.NamesAlerts(query), func(s engine.Scope) (*engine.Rows, error) {
		return d.Engine.Query(ctx, s, query, args...)
	})
}

// UserQuery checks and runs a user's SQL over org's events in [from, to],
// with its alerts when the gate saw the statement read them.
func (d *DB) UserQuery(ctx context.Context, org string, from, to int64, query string) (*engine.Rows, error) {
	st, err := d.Engine.Gate(ctx, query)
	if err != nil {
		return nil, err
	}
	return d.run(ctx, org, from, to, st.ReadsAlerts(), func(s engine.Scope) (*engine.Rows, error) {
		return d.Engine.QueryStatement(ctx, s, st)
	})
}

func (d *DB) run(ctx context.Context, org string, from, to int64, alerts bool, q func(engine.Scope) (*engine.Rows, error)) (*engine.Rows, error) {
	for attempt := 0; ; attempt++ {
		s, err := d.Scope(org, from, to, alerts)
		if err != nil {
			return nil, err
		}
		rows, err := q(s)
		if err == nil {
			return rows, nil
		}
		if attempt >= 3 || !mayBeDamage(err) {
			return nil, err
		}
		// Only parts are checked: head snapshots are spoor's own fresh
		// files, rewritten on the next query.
		bad := d.damaged(ctx, d.Lake.Parts(org, from, to))
		if len(bad) == 0 {
			return nil, err
		}
		for _, b := range bad {
			d.log.Warn("part unreadable, quarantining and retrying", "path", b.path, "err", b.err)
			d.Lake.Quarantine(b.path, "a full read of the part failed: "+b.err.Error())
		}
	}
}

// DefaultOrg picks the organization when the caller named none: the only one
// the store holds, or an error listing them.
func (d *DB) DefaultOrg() (string, error) {
	orgs := d.Lake.Orgs()
	switch len(orgs) {
	case 0:
		return "", nil
	case 1:
		return orgs[0], nil
	}
	return "", fmt.Errorf("the data directory holds %d organizations (%s): name one with --org", len(orgs), strings.Join(orgs, ", "))
}
