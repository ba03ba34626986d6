package lake

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"

	"github.com/spoor-dev/spoor/internal/event"
)

// Flush writes the whole head to parts and drops the WAL segments it covered.
func (s *Store) Flush(ctx context.Context) error { return s.flush(ctx, true) }

// flush writes the head to parts; unless all, the newest day stays in the
// head when it holds older days too. WAL segments are dropped only when
// everything before the checkpoint is in parts, that is after a full flush.
func (s *Store) flush(ctx context.Context, all bool) error {
	if s.readOnly {
		return nil // nothing to flush: the head is empty
	}
	s.flushMu.Lock()
	defer s.flushMu.Unlock()

	s.appendMu.Lock()
	s.mu.Lock()
	taken, takenSize := s.head, s.headSize
	s.head = map[partKey][]*event.Event{}
	s.headN, s.headSize = 0, 0
	if !all {
		// Keep the newest day in the head: events arrive roughly in time
		// order, so it is still filling, and flushing it now would leave
		// a small part for compaction.
		newest, oldest := "", "\xff"
		for k := range taken {
			newest, oldest = max(newest, dayOf(k.dateKey)), min(oldest, dayOf(k.dateKey))
		}
		kept := 0
		for k, evs := range taken {
			if dayOf(k.dateKey) == newest && oldest < newest {
				s.head[k] = evs
				kept += len(evs)
				delete(taken, k)
			}
		}
		s.headN = kept
		for _, evs := range s.head {
			for _, e := range evs {
				s.headSize += e.MemSize()
			}
		}
	}
	s.flushing = taken
	s.headGen++
	var runs map[string][]run
	if all {
		runs = maps.Clone(s.runs)
	}
	s.mu.Unlock()
	cp, err := s.log.checkpoint(ctx)
	s.appendMu.Unlock()
	if err != nil {
		return s.restoreHead(taken, err)
	}
	if len(taken) == 0 && len(runs) == 0 {
		return nil
	}

	if s.flushWriting != nil {
		s.flushWriting()
	}
	if s.opts.BulkLoad && !all {
		if s.roomForRun(takenSize) {
			return s.spill(taken)
		}
		// A disk short of room writes parts as it goes, as other loads do,
		// and the runs so far go into them.
		s.mu.Lock()
		runs = maps.Clone(s.runs)
		s.mu.Unlock()
	}
	written, err := s.writeParts(ctx, chunks(taken, runs, s.workers()))
	if err != nil {
		// Nothing of this flush is published: the parts already written
		// go, and every event goes back to the head (the WAL keeps them).
		paths := make([]string, len(written))
		for i, p := range written {
			paths[i] = p.Path
		}
		if rerr := s.removeParts(paths); rerr != nil {
			err = fmt.Errorf("%w (and removing the parts written: %v)", err, rerr)
		}
		return s.restoreHead(taken, err)
	}
	// The parts take over the events at once, and the head changes: a
	// snapshot taken during the flush holds them and must not be served
	// beside the parts.
	s.mu.Lock()
	s.publishLocked(written)
	s.flushing = map[partKey][]*event.Event{}
	s.headGen++
	for day := range runs {
		delete(s.runs, day) // in parts now
	}
	s.mu.Unlock()
	for _, rs := range runs {
		removeRuns(rs)
	}
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
		for _, e := range evs {
			s.headSize += e.MemSize()
		}
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
		s.parts[p.Day] = append(s.parts[p.Day], p)
	}
}

// chunk is the events of one part to write: a day's, or a contiguous
// share of them, or a day's runs and head events merged.
type chunk struct {
	day  string
	evs  []*event.Event
	runs []run
}

// minChunk is the fewest events a flush gives a part of its own when it
// splits a day over its writers.
const minChunk = 32 << 10

// chunks groups the head's events by day, sorted as parts require, and
// splits each day into up to workers contiguous chunks, so the writers
// share a flush that holds only one day (compaction merges the chunks).
func chunks(taken map[partKey][]*event.Event, runs map[string][]run, workers int) []chunk {
	byDay := map[string][]*event.Event{}
	for k, evs := range taken {
		d := dayOf(k.dateKey)
		byDay[d] = append(byDay[d], evs...) // a copy: taken is s.flushing, which snapshots read meanwhile
	}
	for day := range runs {
		if _, ok := byDay[day]; !ok {
			byDay[day] = nil // the head may hold none of a day with runs
		}
	}
	var out []chunk
	for _, day := range slices.Sorted(maps.Keys(byDay)) {
		evs := byDay[day]
		sortForPart(evs)
		if len(runs[day]) > 0 {
			out = append(out, chunk{day, evs, runs[day]}) // one part: the runs are sorted already
			continue
		}
		n := max(1, min(workers, len(evs)/minChunk))
		size := (len(evs) + n - 1) / n
		for i := 0; i < len(evs); i += size {
			out = append(out, chunk{day: day, evs: evs[i:min(i+size, len(evs))]})
		}
	}
	return out
}

func (s *Store) workers() int {
	if s.opts.FlushWorkers > 0 {
		return s.opts.FlushWorkers
	}
	return runtime.GOMAXPROCS(0)
}

// writeParts writes a part per chunk, spread over the CPUs. When ctx ends
// the writers stop, the part in progress unpublished, and the error says
// so; what they finished is returned for the caller to remove.
func (s *Store) writeParts(ctx context.Context, todo []chunk) ([]Part, error) {
	workers := min(s.workers(), len(todo))
	jobs := make(chan chunk)
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
			w.fault = s.opts.Fault
			for c := range jobs {
				var p Part
				var err error
				if len(c.runs) > 0 {
					p, err = s.mergeRuns(ctx, w, c.day, c.runs, c.evs)
				} else {
					p, err = w.write(ctx, partitionDir(s.dir, c.day), c.day, c.evs)
				}
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("write part of %s: %w", c.day, err)
				}
				if err == nil {
					written = append(written, p)
				}
				mu.Unlock()
			}
		}()
	}
	sent := 0
	for _, c := range todo {
		if ctx.Err() != nil {
			break
		}
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop {
			break
		}
		jobs <- c
		sent++
	}
	close(jobs)
	wg.Wait()
	if first == nil && sent < len(todo) {
		// Every part begun was finished, but not every part was begun.
		first = ctx.Err()
	}
	return written, first
}

// spill writes a bulk load's full head as a sorted run per day (runs.go).
// The WAL is not trimmed: appended events are in parts only after Flush.
func (s *Store) spill(taken map[partKey][]*event.Event) error {
	byDay := map[string][]*event.Event{}
	for k, evs := range taken {
		d := dayOf(k.dateKey)
		byDay[d] = append(byDay[d], evs...) // a copy: snapshots read taken meanwhile
	}
	written := map[string]run{}
	for day, evs := range byDay {
		sortForPart(evs)
		s.runSeq++
		r, err := s.writeRun(day, s.runSeq, evs)
		if err != nil {
			removeRuns(slices.Collect(maps.Values(written)))
			return s.restoreHead(taken, fmt.Errorf("spill %s: %w", day, err))
		}
		written[day] = r
	}
	s.mu.Lock()
	for day, r := range written {
		s.runs[day] = append(s.runs[day], r)
	}
	s.flushing = map[partKey][]*event.Event{}
	s.headGen++
	s.mu.Unlock()
	return nil
}

// walFullFlushBytes is the WAL size past which a head flush writes every
// partition, so the WAL can be trimmed.
const walFullFlushBytes = 1 << 30
