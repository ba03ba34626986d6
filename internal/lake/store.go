// Package lake keeps events: durable appends through the write-ahead log into
// an in-memory head, flushed to immutable zstd Parquet parts per day shared by
// organizations (docs/lake.md), with dedupe on _id, compaction of small parts,
// retention counted from ingestion, and recovery after a crash.
package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spoor-dev/spoor/internal/diskspace"
	"github.com/spoor-dev/spoor/internal/event"
)

// Options configure a store. Zero values take the defaults.
type Options struct {
	// HeadMaxEvents flushes the head once it holds this many events (default 262144).
	HeadMaxEvents int
	// HeadMaxBytes flushes the head once its events take this much memory
	// (default 128 MiB): events of a few KB each would otherwise hold a
	// GB in the head, and as much again in a flush under way.
	HeadMaxBytes int64
	// EventRetention keeps events this long after ingestion (default 30 days).
	EventRetention time.Duration
	// AlertRetention keeps alerts this long after they are raised (default 365 days).
	AlertRetention time.Duration
	// SmallPartRows: parts with fewer rows are merged by compaction (default 1<<20).
	SmallPartRows int64
	// NoSync skips fsync (tests of logic only; never in production).
	NoSync bool
	// FlushWorkers bounds the parts written at once (default GOMAXPROCS): a
	// server keeps cores for the requests it answers meanwhile.
	FlushWorkers int
	// FlushWanted, when set, is called (and must not block) when the head is
	// full, instead of the append flushing it then and there: a server
	// flushes in the background and keeps acknowledging appends meanwhile.
	FlushWanted func()
	// BulkLoad keeps what a full head flushes as sorted runs outside the
	// lake, and Flush writes each day's runs and head as one part (runs.go):
	// for a process that loads files (Load) and flushes at the end, so
	// every event is encoded to Parquet once. Events in runs are not
	// queryable before Flush.
	BulkLoad bool
	Logger   *slog.Logger
	// DiskReserve is the free space below which Append and Load refuse new
	// events (diskspace.ErrLow), so that flushes and compaction of what was
	// accepted can still be written. The zero value is the default.
	DiskReserve diskspace.Reserve

	// Space and Fault are seams for tests that simulate a full disk where
	// a small filesystem cannot be mounted: Space replaces the statfs of
	// the data directory, Fault is called before each write, fsync and
	// file creation of the WAL and of parts (see wal.Options.Fault). Nil
	// in production.
	Space func(dir string) (diskspace.Space, error)
	Fault func(op, path string) error
}

func (o *Options) defaults() {
	if o.HeadMaxEvents <= 0 {
		o.HeadMaxEvents = 256 << 10
	}
	if o.HeadMaxBytes <= 0 {
		o.HeadMaxBytes = 128 << 20
	}
	if o.EventRetention <= 0 {
		o.EventRetention = 30 * 24 * time.Hour
	}
	if o.AlertRetention <= 0 {
		o.AlertRetention = 365 * 24 * time.Hour
	}
	if o.SmallPartRows <= 0 {
		o.SmallPartRows = 1 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Space == nil {
		o.Space = diskspace.Of
	}
}

// partKey names an organization's hour in the head (and in dedupe).
type partKey struct{ org, dateKey string }

// Problem is something found wrong and worked around: a torn WAL tail, a
// corrupt part moved to quarantine.
type Problem struct {
	What string // "wal" or "part"
	Path string
	Msg  string
}

func (p Problem) String() string { return p.What + " " + p.Path + ": " + p.Msg }

// Store is one data directory's events.
type Store struct {
	dir  string
	opts Options
	lock *os.File
	log  *walLog
	// readOnly stores read another process's parts: no WAL, no writes.
	readOnly bool

	// appendMu orders flushes against appends: an append holds it shared
	// from its WAL write until its events are in the head, a flush holds it
	// exclusively to take the head, so a WAL checkpoint taken then covers
	// exactly the events taken.
	appendMu sync.RWMutex
	flushMu  sync.Mutex // one flush or compaction at a time

	mu       sync.Mutex
	parts    map[string][]Part // by day
	head     map[partKey][]*event.Event
	headN    int
	headSize int64            // the head's events' memory, by event.Event.MemSize
	headGen  uint64           // bumped on every change of the head
	runs     map[string][]run // by day: a bulk load's flushed heads (runs.go)
	runSeq   uint64
	flushing map[partKey][]*event.Event
	ids      map[string]idSet  // by day, at most maxIDDays of them
	idsUsed  map[string]uint64 // when each day's set was last used, in idsTick
	idsTick  uint64
	problems []Problem
	// quarantined holds, per day, the organizations whose parts were moved
	// to quarantine (this run or an earlier one; anyOrg when the part's
	// index could not be read): answers over that day lack their events.
	quarantined map[string]map[string]bool
	// legacyParts are parts of the per-organization-and-hour layout found
	// at open, migrated before Open returns.
	legacyParts []legacyPart
	snapshots   map[string]snapshot // per org
	schema      *partSchema
	// schemaSince: parts written before this time (epoch ms) are legacy.
	schemaSince int64
	// flushWriting, when set (tests), is called by a flush once the events
	// it took are in flushing, before it writes them.
	flushWriting func()
	// lowSpace is set while new events are refused for want of disk space
	// (logged when it changes).
	lowSpace bool
}

// Open opens (creating if needed) the store in dir, repairs what a crash
// left behind, replays the WAL into the head and reports problems found.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	opts.defaults()
	if err := os.MkdirAll(filepath.Join(dir, lakeDir, eventsDir), 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
	}
	s := &Store{
		dir: dir, opts: opts, lock: lock,
		parts: map[string][]Part{}, head: map[partKey][]*event.Event{}, runs: map[string][]run{},
		flushing: map[partKey][]*event.Event{}, ids: map[string]idSet{}, idsUsed: map[string]uint64{},
		snapshots: map[string]snapshot{}, schema: newPartSchema(), quarantined: map[string]map[string]bool{},
	}
	os.RemoveAll(filepath.Join(dir, lakeDir, headDir))
	os.RemoveAll(filepath.Join(dir, runsDir)) // a bulk load that never flushed: its files are read again
	if err := s.finishCompactions(); err != nil {
		s.closeLock()
		return nil, err
	}
	if err := s.scanParts(); err != nil {
		s.closeLock()
		return nil, err
	}
	if s.schemaSince, err = s.loadSchema(len(s.parts) > 0 || len(s.legacyParts) > 0); err != nil {
		s.closeLock()
		return nil, err
	}
	if err := s.migrateLegacy(ctx); err != nil {
		s.closeLock()
		return nil, err
	}
	s.log, err = openWAL(filepath.Join(dir, "wal"), opts)
	if err != nil {
		s.closeLock()
		return nil, err
	}
	s.problems = append(s.problems, s.log.problems...)
	if sp, reserve, err := s.Disk(); err == nil {
		opts.Logger.Info("disk", "dir", dir, "free_bytes", sp.Free, "total_bytes", sp.Total, "reserve_bytes", reserve)
	}
	if err := s.replay(ctx); err != nil {
		s.log.close()
		s.closeLock()
		return nil, err
	}
	return s, nil
}

// ErrLocked is returned by Open when another process writes to the directory.
var ErrLocked = errors.New("data dir is in use by another spoor process")

// ErrReadOnly is returned by writes to a store opened with OpenReadOnly.
var ErrReadOnly = errors.New("data dir is open read-only")

// OpenReadOnly opens the parts of a directory another process writes to,
// for queries only: no lock, no WAL (events not yet flushed by the writer
// are not visible), and nothing on disk is changed; unreadable parts are
// skipped and reported.
func OpenReadOnly(ctx context.Context, dir string, opts Options) (*Store, error) {
	opts.defaults()
	s := &Store{
		dir: dir, opts: opts, readOnly: true,
		parts: map[string][]Part{}, head: map[partKey][]*event.Event{},
		flushing: map[partKey][]*event.Event{}, ids: map[string]idSet{}, idsUsed: map[string]uint64{},
		snapshots: map[string]snapshot{}, schema: newPartSchema(), quarantined: map[string]map[string]bool{},
	}
	if err := s.scanParts(); err != nil {
		return nil, err
	}
	if len(s.legacyParts) > 0 {
		return nil, fmt.Errorf("%s holds parts of the per-organization layout of an older spoor: "+
			"open it once for writing (spoor ingest or spoor serve) to migrate them", dir)
	}
	var rec schemaRecord
	fp, _ := s.schema.fingerprint()
	if b, err := os.ReadFile(filepath.Join(dir, schemaFile)); err == nil && json.Unmarshal(b, &rec) == nil && rec.Fingerprint == fp {
		s.schemaSince = rec.Since
	} else if len(s.parts) > 0 {
		s.schemaSince = time.Now().UnixMilli()
	}
	return s, nil
}

// ReadOnly reports whether the store was opened with OpenReadOnly.
func (s *Store) ReadOnly() bool { return s.readOnly }

func (s *Store) closeLock() {
	if s.lock == nil {
		return
	}
	syscall.Flock(int(s.lock.Fd()), syscall.LOCK_UN)
	s.lock.Close()
}

// Dir is the data directory.
func (s *Store) Dir() string { return s.dir }

// LakeDir is the directory every Parquet file of the store lies under.
func (s *Store) LakeDir() string { return filepath.Join(s.dir, lakeDir) }

// scanParts builds the part catalog from the directory tree, removing
// unpublished temporary files and quarantining parts that are not Parquet
// by their name. Parts of the older layout are set aside for migration.
func (s *Store) scanParts() error {
	s.scanQuarantine()
	root := filepath.Join(s.dir, lakeDir, eventsDir)
	ents, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("scan lake: %w", err)
	}
	for _, d := range ents {
		switch {
		case !d.IsDir():
		case strings.HasPrefix(d.Name(), dayPrefix):
			day := strings.TrimPrefix(d.Name(), dayPrefix)
			err = s.scanDir(filepath.Join(root, d.Name()), func(path string) {
				p, err := parsePart(path, day)
				if err != nil {
					s.quarantine(day, []string{anyOrg}, path, err.Error())
					return
				}
				s.parts[day] = append(s.parts[day], p)
			})
		case strings.HasPrefix(d.Name(), orgPrefix):
			err = s.scanLegacyOrg(root, d.Name())
		}
		if err != nil {
			return fmt.Errorf("scan lake: %w", err)
		}
	}
	return nil
}

// scanDir calls part for each part file in dir, removing temporary files
// a crash left (never published: their events are still in the WAL or
// the source).
func (s *Store) scanDir(dir string, part func(path string)) error {
	files, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		name := f.Name()
		path := filepath.Join(dir, name)
		if strings.HasSuffix(name, tmpSuffix) {
			if !s.readOnly {
				os.Remove(path)
			}
			continue
		}
		if strings.HasPrefix(name, partPrefix) && strings.HasSuffix(name, partSuffix) {
			part(path)
		}
	}
	return nil
}

// Close flushes the head and releases the directory.
func (s *Store) Close(ctx context.Context) error {
	if s.readOnly {
		return nil
	}
	err := s.Flush(ctx)
	if cerr := s.log.close(); err == nil {
		err = cerr
	}
	s.closeLock()
	return err
}

// Abandon releases the directory without flushing (the WAL keeps the head).
func (s *Store) Abandon() error {
	if s.readOnly {
		return nil
	}
	err := s.log.close()
	s.closeLock()
	return err
}

var errNotPart = errors.New("not a part file name")

func parsePart(path, day string) (Part, error) {
	name := filepath.Base(path)
	id := strings.TrimSuffix(strings.TrimPrefix(name, partPrefix), partSuffix)
	u, err := parseULID(id)
	if err != nil {
		return Part{}, fmt.Errorf("%w: %s", errNotPart, name)
	}
	st, err := os.Stat(path)
	if err != nil {
		return Part{}, err
	}
	return Part{Path: path, Day: day, ULID: u, Size: st.Size()}, nil
}
