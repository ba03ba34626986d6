package server

import (
	"context"
	"sync"
	"time"
)

// fairSlots shares a fixed number of slots (queries or ingest requests
// running at once) among organizations so that none can starve the others:
// one organization holds at most perOrg slots, its extra requests wait in
// its own queue, and a freed slot goes to the waiting organizations in
// turn, not to whoever asked first.
type fairSlots struct {
	mu     sync.Mutex
	free   int
	perOrg int
	held   map[string]int
	queues map[string][]*slotWaiter
	ring   []string // organizations with waiters, in the order they are served
	next   int      // index in ring of the organization served next
}

type slotWaiter struct {
	ready   chan struct{}
	granted bool
}

// newFairSlots shares n slots, at most perOrg to one organization (perOrg
// <= 0 or > n means ceil(n/2), so two organizations can always run).
func newFairSlots(n, perOrg int) *fairSlots {
	if perOrg <= 0 || perOrg > n {
		perOrg = (n + 1) / 2
	}
	return &fairSlots{free: n, perOrg: perOrg, held: map[string]int{}, queues: map[string][]*slotWaiter{}}
}

// acquire takes a slot for org, waiting up to wait; ok is false when none
// came in time or ctx ended. release must be called once when ok.
func (f *fairSlots) acquire(ctx context.Context, org string, wait time.Duration) (release func(), ok bool) {
	release = func() { f.release(org) }
	f.mu.Lock()
	if f.free > 0 && f.held[org] < f.perOrg && len(f.queues[org]) == 0 {
		f.free--
		f.held[org]++
		f.mu.Unlock()
		return release, true
	}
	w := &slotWaiter{ready: make(chan struct{})}
	if len(f.queues[org]) == 0 {
		f.ring = append(f.ring, org)
	}
	f.queues[org] = append(f.queues[org], w)
	f.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-w.ready:
		return release, true
	case <-t.C:
	case <-ctx.Done():
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if w.granted { // granted while the timer fired: give it back
		f.held[org]--
		f.free++
		f.dispatch()
		return nil, false
	}
	f.dequeue(org, w)
	return nil, false
}

func (f *fairSlots) release(org string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.held[org]--
	if f.held[org] == 0 {
		delete(f.held, org)
	}
	f.free++
	f.dispatch()
}

// dispatch hands free slots to waiters, one organization after another.
// Called with mu held.
func (f *fairSlots) dispatch() {
	for f.free > 0 && len(f.ring) > 0 {
		served := false
		for i := 0; i < len(f.ring) && f.free > 0; i++ {
			k := (f.next + i) % len(f.ring)
			org := f.ring[k]
			if f.held[org] >= f.perOrg {
				continue
			}
			w := f.queues[org][0]
			w.granted = true
			close(w.ready)
			f.free--
			f.held[org]++
			f.next = k + 1
			f.dequeue(org, w)
			served = true
			break
		}
		if !served {
			return
		}
	}
}

// dequeue drops w from org's queue, and org from the ring when its queue
// empties. Called with mu held.
func (f *fairSlots) dequeue(org string, w *slotWaiter) {
	q := f.queues[org]
	for i, x := range q {
		if x == w {
			q = append(q[:i], q[i+1:]...)
			break
		}
	}
	if len(q) > 0 {
		f.queues[org] = q
		return
	}
	delete(f.queues, org)
	for i, o := range f.ring {
		if o == org {
			f.ring = append(f.ring[:i], f.ring[i+1:]...)
			if f.next > i {
				f.next--
			}
			break
		}
	}
	if len(f.ring) > 0 {
		f.next %= len(f.ring)
	} else {
		f.next = 0
	}
}
