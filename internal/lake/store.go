// Package lake keeps events: durable appends through the write-ahead log into
// an in-memory head, flushed to immutable zstd Parquet parts per organization
// and hour (the layout of DESIGN.md), with dedupe on _id, compaction of small
// parts, retention counted from ingestion, and recovery after a crash.
package lake

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spoor-dev/spoor/internal/event"
)

// Options configure a store. Zero values take the defaults.
type Options struct {
	// HeadMaxEvents flushes the head once it holds this many events (default 262144).
	HeadMaxEvents int
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
	Logger      *slog.Logger
}

func (o *Options) defaults() {
	if o.HeadMaxEvents <= 0 {
		o.HeadMaxEvents = 256 << 10
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
}

// partKey names a partition.
type partKey struct{ org, dateKey string }

// Problem is something found wrong and worked around: a torn WAL tail, a
// corrupt part moved to quarantine.
type Problem struct {
	What string // "wal" or "part"
	Path string
	Msg  string
}

func (p Problem) String() string { return p.What + " " + p.Path + ": " + p.Msg }

// AppendResult counts what an Append did.
type AppendResult struct {
	Stored     int // new events, now durable
	Duplicates int // events whose _id was already stored
}

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
	parts    map[partKey][]Part
	head     map[partKey][]*event.Event
	headN    int
	headGen  uint64 // bumped on every change of the head
	flushing map[partKey][]*event.Event
	ids      map[partKey]idSet
	problems []Problem
	// quarantined counts the parts of each partition moved to quarantine
	// (this run or an earlier one): answers over them lack their events.
	quarantined map[partKey]int
	snapshots   map[string]snapshot // per org
	schema      *partSchema
	// schemaSince: parts written before this time (epoch ms) are legacy.
	schemaSince int64
	// flushWriting, when set (tests), is called by a flush once the events
	// it took are in flushing, before it writes them.
	flushWriting func()
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
		parts: map[partKey][]Part{}, head: map[partKey][]*event.Event{},
		flushing: map[partKey][]*event.Event{}, ids: map[partKey]idSet{},
		snapshots: map[string]snapshot{}, schema: newPartSchema(), quarantined: map[partKey]int{},
	}
	os.RemoveAll(filepath.Join(dir, lakeDir, headDir))
	if err := s.finishCompactions(); err != nil {
		s.closeLock()
		return nil, err
	}
	if err := s.scanParts(); err != nil {
		s.closeLock()
		return nil, err
	}
	if s.schemaSince, err = s.loadSchema(len(s.parts) > 0); err != nil {
		s.closeLock()
		return nil, err
	}
	s.log, err = openWAL(filepath.Join(dir, "wal"), opts)
	if err != nil {
		s.closeLock()
		return nil, err
	}
	s.problems = append(s.problems, s.log.problems...)
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
		parts: map[partKey][]Part{}, head: map[partKey][]*event.Event{},
		flushing: map[partKey][]*event.Event{}, ids: map[partKey]idSet{},
		snapshots: map[string]snapshot{}, schema: newPartSchema(), quarantined: map[partKey]int{},
	}
	if err := s.scanParts(); err != nil {
		return nil, err
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

// Problems lists what recovery found and worked around.
func (s *Store) Problems() []Problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.problems)
}

// scanParts builds the part catalog from the directory tree, removing
// unpublished temporary files and quarantining parts that are not Parquet.
func (s *Store) scanParts() error {
	s.scanQuarantine()
	root := filepath.Join(s.dir, lakeDir, eventsDir)
	orgs, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("scan lake: %w", err)
	}
	for _, o := range orgs {
		if !o.IsDir() || !strings.HasPrefix(o.Name(), orgPrefix) {
			continue
		}
		org := unescapePathValue(strings.TrimPrefix(o.Name(), orgPrefix))
		dates, err := os.ReadDir(filepath.Join(root, o.Name()))
		if err != nil {
			return fmt.Errorf("scan lake: %w", err)
		}
		for _, d := range dates {
			if !d.IsDir() || !strings.HasPrefix(d.Name(), datePrefix) {
				continue
			}
			dk := strings.TrimPrefix(d.Name(), datePrefix)
			pdir := filepath.Join(root, o.Name(), d.Name())
			files, err := os.ReadDir(pdir)
			if err != nil {
				return fmt.Errorf("scan lake: %w", err)
			}
			for _, f := range files {
				name := f.Name()
				path := filepath.Join(pdir, name)
				if strings.HasSuffix(name, tmpSuffix) {
					if !s.readOnly {
						os.Remove(path) // never published: its events are still in the WAL or the source
					}
					continue
				}
				if !strings.HasPrefix(name, partPrefix) || !strings.HasSuffix(name, partSuffix) {
					continue
				}
				k := partKey{org, dk}
				p, err := parsePart(path, org, dk)
				if err != nil {
					s.quarantine(k, path, err.Error())
					continue
				}
				s.parts[k] = append(s.parts[k], p)
			}
		}
	}
	return nil
}

// Parts returns the part files of org whose partitions overlap [from, to]
// (epoch ms, inclusive), without opening any of them.
func (s *Store) Parts(org string, from, to int64) []string {
	lo, hi := event.DateKeyOf(max(from, 0)), event.DateKeyOf(min(to, maxTime))
	s.mu.Lock()
	defer s.mu.Unlock()
	var files []string
	for k, ps := range s.parts {
		if k.org != org || k.dateKey < lo || k.dateKey > hi {
			continue
		}
		for i := 0; i < len(ps); i++ {
			p := &ps[i]
			// The cheap frame check runs when a part is first read, not at
			// open: a query over an hour opens no other part.
			if !p.checked {
				if err := checkParquetFrame(p.Path); err != nil {
					s.quarantineLocked(k, p.Path, err.Error())
					ps = s.parts[k]
					i--
					continue
				}
				p.checked = true
			}
			files = append(files, p.Path)
		}
	}
	slices.Sort(files)
	return files
}

// Orgs lists the organizations that have parts or head events.
func (s *Store) Orgs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for k := range s.parts {
		seen[k.org] = true
	}
	for k := range s.head {
		seen[k.org] = true
	}
	var out []string
	for o := range seen {
		out = append(out, o)
	}
	slices.Sort(out)
	return out
}

// Stats describe the store for summaries and metrics.
type Stats struct {
	Parts      int
	PartBytes  int64
	HeadEvents int
	WALBytes   int64
}

// Stats returns the current counts.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{HeadEvents: s.headN}
	if s.log != nil {
		st.WALBytes = s.log.size()
	}
	for _, ps := range s.parts {
		st.Parts += len(ps)
		for _, p := range ps {
			st.PartBytes += p.Size
		}
	}
	return st
}

// OrgStats counts one organization's parts and head events (WAL bytes are
// shared by all and left out).
func (s *Store) OrgStats(org string) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st Stats
	for k, ps := range s.parts {
		if k.org != org {
			continue
		}
		st.Parts += len(ps)
		for _, p := range ps {
			st.PartBytes += p.Size
		}
	}
	for k, evs := range s.head {
		if k.org == org {
			st.HeadEvents += len(evs)
		}
	}
	return st
}

// idsFor returns the dedupe set of a partition, loading it from the
// partition's parts on first use. s.mu is held.
func (s *Store) idsFor(k partKey) idSet {
	set, ok := s.ids[k]
	if ok {
		return set
	}
	set = idSet{}
	for _, p := range slices.Clone(s.parts[k]) {
		if err := readIDs(p.Path, set); err != nil {
			s.quarantineLocked(k, p.Path, err.Error())
		}
	}
	// Events not in parts yet count too (the set is rebuilt after a
	// compaction while the head may hold events of the partition).
	for _, evs := range [][]*event.Event{s.head[k], s.flushing[k]} {
		for _, e := range evs {
			set[hashID(e.Str[event.ID])] = struct{}{}
		}
	}
	s.ids[k] = set
	return set
}

// Append makes events durable and visible. It returns once the new ones are
// fsynced in the WAL; events whose _id the store holds already are counted
// as duplicates and dropped. Events must be normalised (see event.Normalizer).
func (s *Store) Append(ctx context.Context, evs []*event.Event) (AppendResult, error) {
	return s.add(ctx, evs, true)
}

// Load adds events for a bulk load from files that stay on disk: like Append
// but without the WAL, so the events are durable only once Flush returns. A
// crash before that loses nothing that was acknowledged; loading the same
// files again stores what is missing, once (dedupe on _id).
func (s *Store) Load(ctx context.Context, evs []*event.Event) (AppendResult, error) {
	return s.add(ctx, evs, false)
}

func (s *Store) add(ctx context.Context, evs []*event.Event, logged bool) (AppendResult, error) {
	var res AppendResult
	if s.readOnly {
		return res, ErrReadOnly
	}
	fresh := make([]*event.Event, 0, len(evs))
	hashes := make([]uint64, 0, len(evs))
	s.mu.Lock()
	for _, e := range evs {
		k := partKey{e.Str[event.OrganizationID], e.Str[event.DateKey]}
		set := s.idsFor(k)
		h := hashID(e.Str[event.ID])
		if _, dup := set[h]; dup {
			res.Duplicates++
			continue
		}
		set[h] = struct{}{}
		fresh = append(fresh, e)
		hashes = append(hashes, h)
	}
	s.mu.Unlock()
	if len(fresh) == 0 {
		return res, nil
	}
	s.appendMu.RLock()
	var err error
	if logged {
		err = s.log.append(ctx, encodeBatch(nil, fresh))
	}
	if err != nil {
		s.appendMu.RUnlock()
		s.mu.Lock()
		for i, e := range fresh {
			delete(s.ids[partKey{e.Str[event.OrganizationID], e.Str[event.DateKey]}], hashes[i])
		}
		s.mu.Unlock()
		return res, fmt.Errorf("append to wal: %w", err)
	}
	s.mu.Lock()
	s.addToHead(fresh)
	full := s.headN >= s.opts.HeadMaxEvents
	s.mu.Unlock()
	s.appendMu.RUnlock()
	res.Stored = len(fresh)
	if full && s.opts.FlushWanted != nil {
		s.opts.FlushWanted()
		full = false
	}
	if full {
		// A partial flush cannot trim the WAL; a full one does, once the
		// WAL has grown past its bound.
		all := s.log.size() > walFullFlushBytes
		if err := s.flush(ctx, all); err != nil {
			if logged {
				return res, fmt.Errorf("flush head (the events are safe in the wal): %w", err)
			}
			return res, fmt.Errorf("flush head: %w", err)
		}
	}
	return res, nil
}

// addToHead files events into their head partitions. s.mu is held.
func (s *Store) addToHead(evs []*event.Event) {
	for _, e := range evs {
		k := partKey{e.Str[event.OrganizationID], e.Str[event.DateKey]}
		s.head[k] = append(s.head[k], e)
	}
	s.headN += len(evs)
	s.headGen++
}

// replay loads the WAL's events that are not in parts yet into the head.
func (s *Store) replay(ctx context.Context) error {
	n := 0
	err := s.log.replay(ctx, func(rec []byte) error {
		evs, err := decodeBatch(rec)
		if err != nil {
			s.problems = append(s.problems, Problem{What: "wal", Path: s.log.dir, Msg: "skipped a record: " + err.Error()})
			return nil
		}
		var fresh []*event.Event
		for i := range evs {
			e := &evs[i]
			k := partKey{e.Str[event.OrganizationID], e.Str[event.DateKey]}
			set := s.idsFor(k)
			h := hashID(e.Str[event.ID])
			if _, dup := set[h]; dup {
				continue
			}
			set[h] = struct{}{}
			fresh = append(fresh, e)
		}
		s.addToHead(fresh)
		n += len(fresh)
		return nil
	})
	if err != nil {
		return fmt.Errorf("replay wal: %w", err)
	}
	if n > 0 {
		s.opts.Logger.Info("replayed wal into head", "events", n)
	}
	return nil
}

// Flush writes the whole head to parts and drops the WAL segments it covered.
func (s *Store) Flush(ctx context.Context) error { return s.flush(ctx, true) }

// flush writes the head to parts; unless all, the newest hour of each
// organization stays in the head. WAL segments are dropped only when
// everything before the checkpoint is in parts, that is after a full flush.
func (s *Store) flush(ctx context.Context, all bool) error {
	if s.readOnly {
		return nil // nothing to flush: the head is empty
	}
	s.flushMu.Lock()
	defer s.flushMu.Unlock()

	s.appendMu.Lock()
	s.mu.Lock()
	taken := s.head
	s.head = map[partKey][]*event.Event{}
	s.headN = 0
	if !all {
		// Keep the newest hour of each organization in the head: events
		// arrive roughly in time order, so its partition is still filling,
		// and flushing it now would leave a small part for compaction.
		newest := map[string]string{}
		for k := range taken {
			if k.dateKey > newest[k.org] {
				newest[k.org] = k.dateKey
			}
		}
		kept := 0
		for k, evs := range taken {
			if k.dateKey == newest[k.org] && len(taken) > 1 {
				s.head[k] = evs
				kept += len(evs)
				delete(taken, k)
			}
		}
		s.headN = kept
	}
	s.flushing = taken
	s.headGen++
	s.mu.Unlock()
	cp, err := s.log.checkpoint(ctx)
	s.appendMu.Unlock()
	if err != nil {
		return s.restoreHead(taken, err)
	}
	if len(taken) == 0 {
		return nil
	}

	keys := make([]partKey, 0, len(taken))
	for k := range taken {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b partKey) int {
		return cmp.Or(strings.Compare(a.org, b.org), strings.Compare(a.dateKey, b.dateKey))
	})
	if s.flushWriting != nil {
		s.flushWriting()
	}
	written, err := s.writeParts(ctx, keys, taken)
	if err != nil {
		// Parts already written hold their events; the rest go back to the head.
		for _, p := range written {
			delete(taken, partKey{p.Org, p.DateKey})
		}
		s.publish(written)
		return s.restoreHead(taken, err)
	}
	// The parts take over the events at once, and the head changes: a
	// snapshot taken during the flush holds them and must not be served
	// beside the parts.
	s.mu.Lock()
	s.publishLocked(written)
	s.flushing = map[partKey][]*event.Event{}
	s.headGen++
	s.mu.Unlock()
	s.mu.Lock()
	trim := all || s.headN == 0
	s.mu.Unlock()
	if trim {
		if err := s.log.removeBefore(cp); err != nil {
			return fmt.Errorf("trim wal: %w", err)
		}
	}
	return nil
}

func (s *Store) restoreHead(taken map[partKey][]*event.Event, cause error) error {
	s.mu.Lock()
	for k, evs := range taken {
		s.head[k] = append(s.head[k], evs...)
		s.headN += len(evs)
	}
	s.flushing = map[partKey][]*event.Event{}
	s.headGen++
	s.mu.Unlock()
	return cause
}

func (s *Store) publish(ps []Part) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publishLocked(ps)
}

func (s *Store) publishLocked(ps []Part) {
	for _, p := range ps {
		k := partKey{p.Org, p.DateKey}
		s.parts[k] = append(s.parts[k], p)
	}
}

// writeParts writes one part per partition, spread over the CPUs.
func (s *Store) writeParts(ctx context.Context, keys []partKey, taken map[partKey][]*event.Event) ([]Part, error) {
	workers := runtime.GOMAXPROCS(0)
	if s.opts.FlushWorkers > 0 {
		workers = s.opts.FlushWorkers
	}
	workers = min(workers, len(keys))
	jobs := make(chan partKey)
	var (
		mu      sync.Mutex
		written []Part
		first   error
		wg      sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newPartWriter(s.schema)
			w.noSync = s.opts.NoSync
			for k := range jobs {
				// taken is s.flushing, which snapshots copy meanwhile:
				// sort a copy.
				evs := slices.Clone(taken[k])
				sortForPart(evs)
				p, err := w.write(partitionDir(s.dir, k.org, k.dateKey), k.org, k.dateKey, evs)
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("write part %s/%s: %w", k.org, k.dateKey, err)
				}
				if err == nil {
					written = append(written, p)
				}
				mu.Unlock()
			}
		}()
	}
	for _, k := range keys {
		if ctx.Err() != nil {
			break
		}
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop {
			break
		}
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return written, first
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

// walFullFlushBytes is the WAL size past which a head flush writes every
// partition, so the WAL can be trimmed.
const walFullFlushBytes = 1 << 30

// maxTime is the end of year 9999 in epoch ms, the last time a date key can name.
const maxTime = 253402300799999

var errNotPart = errors.New("not a part file name")

func parsePart(path, org, dateKey string) (Part, error) {
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
	return Part{Path: path, Org: org, DateKey: dateKey, ULID: u, Size: st.Size()}, nil
}
