package lake

import (
	"context"
	"fmt"
	"slices"

	"github.com/spoor-dev/spoor/internal/event"
)

// AppendResult counts what an Append did.
type AppendResult struct {
	Stored     int // new events, now durable
	Duplicates int // events whose _id was already stored
}

// idsFor returns the dedupe set of a day, loading it from the day's parts
// on first use. s.mu is held.
func (s *Store) idsFor(day string) idSet {
	s.idsTick++
	s.idsUsed[day] = s.idsTick
	set, ok := s.ids[day]
	if ok {
		return set
	}
	set = idSet{}
	for _, p := range slices.Clone(s.parts[day]) {
		if err := readIDs(p.Path, set); err != nil {
			s.quarantineLocked(day, p.Path, err.Error())
		}
	}
	for _, r := range s.runs[day] {
		if err := readRunIDs(r, set); err != nil {
			s.problems = append(s.problems, Problem{What: "run", Path: r.path, Msg: "dedupe keys unreadable: " + err.Error()})
		}
	}
	// Events not in parts yet count too (the set is rebuilt after a
	// compaction while the head may hold events of the day).
	for _, m := range []map[partKey][]*event.Event{s.head, s.flushing} {
		for k, evs := range m {
			if dayOf(k.dateKey) != day {
				continue
			}
			for _, e := range evs {
				set[hashEvent(e)] = struct{}{}
			}
		}
	}
	s.ids[day] = set
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
	if err := s.checkSpace(); err != nil {
		return res, err
	}
	fresh := make([]*event.Event, 0, len(evs))
	hashes := make([]uint64, 0, len(evs))
	s.mu.Lock()
	for _, e := range evs {
		set := s.idsFor(dayOf(e.Str[event.DateKey]))
		h := hashEvent(e)
		if _, dup := set[h]; dup {
			res.Duplicates++
			continue
		}
		set[h] = struct{}{}
		fresh = append(fresh, e)
		hashes = append(hashes, h)
	}
	if len(fresh) == 0 {
		s.evictIDs() // no new event holds a set's entry alone
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
			delete(s.ids[dayOf(e.Str[event.DateKey])], hashes[i])
		}
		s.mu.Unlock()
		return res, fmt.Errorf("append to wal: %w", err)
	}
	s.mu.Lock()
	s.addToHead(fresh)
	full := s.headN >= s.opts.HeadMaxEvents || s.headSize >= s.opts.HeadMaxBytes
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

// maxIDDays bounds the days whose dedupe sets stay in memory: events
// arrive mostly in time order, and a store that keeps every day's set
// holds a map entry per event stored (10M events: some 300 MB).
const maxIDDays = 8

// evictIDs drops the dedupe sets of the least recently used days beyond
// maxIDDays; idsFor reloads one from its parts (and the head) when needed.
// Only once the events that used them are in the head: a reload counts the
// head. s.mu is held.
func (s *Store) evictIDs() {
	for len(s.ids) > maxIDDays {
		oldest, at := "", uint64(1<<64-1)
		for day := range s.ids {
			if s.idsUsed[day] < at {
				oldest, at = day, s.idsUsed[day]
			}
		}
		delete(s.ids, oldest)
		delete(s.idsUsed, oldest)
	}
}

// addToHead files events into their head partitions. s.mu is held.
func (s *Store) addToHead(evs []*event.Event) {
	for _, e := range evs {
		k := partKey{e.Str[event.OrganizationID], e.Str[event.DateKey]}
		s.head[k] = append(s.head[k], e)
	}
	s.headN += len(evs)
	for _, e := range evs {
		s.headSize += e.MemSize()
	}
	s.headGen++
	s.evictIDs()
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
			set := s.idsFor(dayOf(e.Str[event.DateKey]))
			h := hashEvent(e)
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
