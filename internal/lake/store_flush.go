package lake

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/spoor-dev/spoor/internal/event"
)

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
			w.fault = s.opts.Fault
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

// walFullFlushBytes is the WAL size past which a head flush writes every
// partition, so the WAL can be trimmed.
const walFullFlushBytes = 1 << 30
