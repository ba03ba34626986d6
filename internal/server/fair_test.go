package server

import (
	"context"
	"testing"
	"time"
)

// queued waits until org has n requests waiting.
func queued(t *testing.T, f *fairSlots, org string, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		f.mu.Lock()
		got := len(f.queues[org])
		f.mu.Unlock()
		if got == n {
			return
		}
	}
	t.Fatalf("%s never had %d waiting", org, n)
}

// One organization holds at most its share; another still gets a slot.
func TestFairSlotsCapPerOrg(t *testing.T) {
	f := newFairSlots(4, 0) // share ceil(4/2) = 2
	ctx := context.Background()
	for i := range 2 {
		if _, ok := f.acquire(ctx, "A", time.Second); !ok {
			t.Fatalf("A's slot %d refused", i+1)
		}
	}
	if _, ok := f.acquire(ctx, "A", 10*time.Millisecond); ok {
		t.Fatal("A got a third slot of 4: over its share")
	}
	relB, ok := f.acquire(ctx, "B", 10*time.Millisecond)
	if !ok {
		t.Fatal("B refused while A holds only its share")
	}
	relB()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.free != 2 || f.held["A"] != 2 || len(f.queues) != 0 || len(f.ring) != 0 {
		t.Errorf("after: free %d, held %v, queues %v, ring %v", f.free, f.held, f.queues, f.ring)
	}
}

// A freed slot goes to the organizations waiting in turn, not to the one
// that queued the most requests first.
func TestFairSlotsRoundRobin(t *testing.T) {
	f := newFairSlots(1, 1)
	ctx := context.Background()
	relX, _ := f.acquire(ctx, "X", time.Second)
	got := make(chan string, 3)
	wait := func(name, org string) {
		rel, ok := f.acquire(ctx, org, 10*time.Second)
		if !ok {
			got <- name + " refused"
			return
		}
		got <- name
		rel()
	}
	// Serve one at a time: each waiter reports, then the test lets it go.
	go wait("A1", "A")
	queued(t, f, "A", 1)
	go wait("A2", "A")
	queued(t, f, "A", 2)
	go wait("B1", "B")
	queued(t, f, "B", 1)
	relX()
	var order []string
	for range 3 {
		order = append(order, <-got)
	}
	want := []string{"A1", "B1", "A2"}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("served %v, want %v", order, want)
		}
	}
}

// A waiter that gives up (timeout or its client gone) leaves no trace.
func TestFairSlotsGiveUp(t *testing.T) {
	f := newFairSlots(1, 1)
	rel, _ := f.acquire(context.Background(), "A", time.Second)
	if _, ok := f.acquire(context.Background(), "B", 5*time.Millisecond); ok {
		t.Fatal("B got a slot none had free")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := f.acquire(ctx, "B", time.Second); ok {
		t.Fatal("B got a slot with its context ended")
	}
	rel()
	f.mu.Lock()
	if f.free != 1 || len(f.held) != 0 || len(f.queues) != 0 || len(f.ring) != 0 {
		t.Errorf("after: free %d, held %v, queues %v, ring %v", f.free, f.held, f.queues, f.ring)
	}
	f.mu.Unlock()
	if rel, ok := f.acquire(context.Background(), "B", time.Second); !ok {
		t.Error("B refused a free slot")
	} else {
		rel()
	}
}
