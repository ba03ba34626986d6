package detect

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/rules"
	"github.com/spoor-dev/spoor/internal/sigma"
)

// seqT0 is when the logons of the sequence tests happen.
var seqT0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

// login is a Threat Stack login event of org "o" at seqT0+at.
func login(t *testing.T, id, host, src string, ok bool, at time.Duration) *event.Event {
	t.Helper()
	line := fmt.Sprintf(`{"_id":%q,"organization_id":"o","agent_id":"agent-%s","hostname":%q,"event_type":"login","event_time":%d,"success":%t,"src_ip":%q,"user":"root"}`,
		id, host, host, seqT0.Add(at).UnixMilli(), ok, src)
	e := new(event.Event)
	n := event.Normalizer{Org: "o"}
	if err := n.Normalize([]byte(line), e); err != nil {
		t.Fatal(err)
	}
	return e
}

// failures are n failed logons from src on host, a minute apart from at.
func failures(t *testing.T, prefix, host, src string, n int, at time.Duration) []*event.Event {
	var out []*event.Event
	for i := range n {
		out = append(out, login(t, fmt.Sprintf("%s-%d", prefix, i), host, src, false, at+time.Duration(i)*time.Minute))
	}
	return out
}

// seqEvents are brute forces on bastion against brute-force-success (5
// failures of the same host and source within the hour before a logon),
// in event-time order, and the ids of the logons the rule fires on.
func seqEvents(t *testing.T) (evs []*event.Event, fire []string) {
	t.Helper()
	const bastion = "bastion"
	var all []*event.Event
	add := func(evs ...*event.Event) { all = append(all, evs...) }
	// Fires: five failures, then the logon; later failures of the same
	// source (newer than the logon) change nothing.
	add(failures(t, "a-fail", bastion, "198.51.100.7", 5, 0)...)
	add(login(t, "a-ok", bastion, "198.51.100.7", true, 5*time.Minute))
	add(failures(t, "a-later", bastion, "198.51.100.7", 3, 3*time.Hour)...)
	// Fires: the first failure exactly an hour before the logon (the
	// window's start counts, as the backtest's BETWEEN does).
	add(failures(t, "b-fail", bastion, "198.51.100.8", 5, 0)...)
	add(login(t, "b-ok", bastion, "198.51.100.8", true, time.Hour))
	// Does not fire: the first of the five failures is a millisecond too
	// old.
	add(failures(t, "c-fail", bastion, "198.51.100.9", 5, 0)...)
	add(login(t, "c-ok", bastion, "198.51.100.9", true, time.Hour+time.Millisecond))
	// Does not fire: the failures are two hours before.
	add(failures(t, "d-fail", bastion, "203.0.113.4", 5, -2*time.Hour)...)
	add(login(t, "d-ok", bastion, "203.0.113.4", true, 5*time.Minute))
	// Does not fire: the failures are of another group (another host, and
	// another source on the same host).
	add(failures(t, "e-fail", "web-1", "203.0.113.5", 5, 0)...)
	add(failures(t, "e-other", bastion, "203.0.113.6", 5, 0)...)
	add(login(t, "e-ok", bastion, "203.0.113.5", true, 5*time.Minute))
	slices.SortStableFunc(all, func(a, b *event.Event) int { return int(a.Int[event.EventTime] - b.Int[event.EventTime]) })
	return all, []string{"a-ok", "b-ok"}
}

// seqHits evaluates batches with a fresh set of dir's rules, the batches
// at once, and returns the hits of the rule called name, sorted by event
// id.
func seqHits(t *testing.T, dir *rules.Dir, name string, batches [][]*event.Event) []alert.Hit {
	t.Helper()
	set := Load(dir)
	var (
		mu  sync.Mutex
		out []alert.Hit
		wg  sync.WaitGroup
	)
	for _, b := range batches {
		wg.Go(func() {
			doc := sigma.NewDoc(nil)
			var hits []alert.Hit
			for _, e := range b {
				hits = set.Hits("o", e, doc, hits)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, h := range hits {
				if h.Rule == name {
					out = append(out, h)
				}
			}
		})
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b alert.Hit) int { return strings.Compare(a.EventID, b.EventID) })
	return out
}

// A sequence rule fires on the same events, with the same hits, whatever
// the order its events reach detection in: in event-time order, the
// logons first, backwards, shuffled, one batch or many evaluated at once.
// Failures outside the window or of another group count in no order.
func TestSequenceFiresWhateverTheOrder(t *testing.T) {
	evs, fire := seqEvents(t)
	dir, _ := rulesAndAlerts(t)
	const rule = "brute-force-success"
	want := seqHits(t, dir, rule, [][]*event.Event{evs})
	var ids []string
	for _, h := range want {
		ids = append(ids, h.EventID)
	}
	if !slices.Equal(ids, fire) {
		t.Fatalf("in event-time order: hits on %v, want %v", ids, fire)
	}
	for _, h := range want {
		if h.Hostname != "bastion" || h.AgentID != "agent-bastion" || h.GroupKey == "" || h.EventTime == 0 {
			t.Errorf("hit %+v: want bastion's, with its group and time", h)
		}
	}
	orders := map[string][][]*event.Event{}
	var logonsFirst []*event.Event
	for _, e := range evs {
		if e.Bool(event.Success) {
			logonsFirst = append(logonsFirst, e)
		}
	}
	for _, e := range evs {
		if !e.Bool(event.Success) {
			logonsFirst = append(logonsFirst, e)
		}
	}
	orders["logons first"] = [][]*event.Event{logonsFirst}
	maps.Copy(orders, arrivalOrders(evs, 4, 3))
	var logonsBatch, failuresBatch []*event.Event
	for _, e := range evs {
		if e.Bool(event.Success) {
			logonsBatch = append(logonsBatch, e)
		} else {
			failuresBatch = append(failuresBatch, e)
		}
	}
	orders["logons and failures in two batches at once"] = [][]*event.Event{logonsBatch, failuresBatch}
	for name, batches := range orders {
		got := seqHits(t, dir, rule, batches)
		if !slices.Equal(got, want) {
			t.Errorf("%s: hits\n%v\nwant, as in event-time order,\n%v", name, got, want)
		}
	}
}

// arrivalOrders are orders evs may reach detection in: backwards and, for
// each of seeds, shuffled, and shuffled into batches of size evaluated at
// once.
func arrivalOrders(evs []*event.Event, seeds uint64, size int) map[string][][]*event.Event {
	backwards := slices.Clone(evs)
	slices.Reverse(backwards)
	orders := map[string][][]*event.Event{"backwards": {backwards}}
	for seed := range seeds {
		shuffled := slices.Clone(evs)
		rand.New(rand.NewPCG(seed, 7)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		orders[fmt.Sprintf("shuffled %d", seed)] = [][]*event.Event{shuffled}
		var batches [][]*event.Event
		for b := range slices.Chunk(shuffled, size) {
			batches = append(batches, b)
		}
		orders[fmt.Sprintf("shuffled %d, batches of %d at once", seed, size)] = batches
	}
	return orders
}

// thirdFailure is a sequence rule whose filter and after match the same
// events: a failure counts when it is at least the third of its group
// within ten minutes (itself included, as the backtest counts it).
const thirdFailure = `name: third-failure
title: third failed logon
type: logon
severity: 3
filter: event_type = 'login' AND success = false
after:
  filter: event_type = 'login' AND success = false
  threshold: 3
aggregate: [hostname, src_ip]
window: 10m
`

// Live detection and the backtest say the same of a sequence rule: the
// same events match, whatever the order they were evaluated in. An event
// sent twice counts once (the lake keeps it once), and an event that
// matches both the filter and after counts toward itself.
func TestSequenceAgreesWithBacktest(t *testing.T) {
	evs, _ := seqEvents(t)
	// Four failures, the last sent again, then a logon: four, not five.
	resent := failures(t, "f-fail", "bastion", "192.0.2.1", 4, 0)
	evs = append(evs, resent...)
	evs = append(evs, resent[3], login(t, "f-ok", "bastion", "192.0.2.1", true, 5*time.Minute))
	dir, _ := rulesAndAlerts(t)
	if err := os.WriteFile(filepath.Join(dir.Path(), "third-failure.yml"), []byte(thirdFailure), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db := storedLake(t, evs)
	rs, probs := dir.Load()
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	backwards := slices.Clone(evs)
	slices.Reverse(backwards)
	for _, name := range []string{"brute-force-success", "third-failure"} {
		i := slices.IndexFunc(rs, func(r *rules.Rule) bool { return r.Name == name })
		if i < 0 {
			t.Fatalf("no rule %s", name)
		}
		bt, err := RunBacktest(ctx, db, "o", rs[i], 0, 1<<50)
		if err != nil {
			t.Fatal(err)
		}
		for order, batch := range map[string][]*event.Event{"in event-time order": evs, "backwards": backwards} {
			live := map[string]bool{}
			for _, h := range seqHits(t, dir, name, [][]*event.Event{batch}) {
				live[h.EventID] = true
			}
			if int64(len(live)) != bt.Matched {
				t.Errorf("%s, %s: %d events hit live, the backtest matches %d", name, order, len(live), bt.Matched)
			}
			for _, m := range bt.Samples {
				if id, _ := m["_id"].(string); !live[id] {
					t.Errorf("%s, %s: the backtest matches %s, live detection does not", name, order, id)
				}
			}
		}
	}
}

// A sequence rule's memory is bounded, and what it keeps is relative to
// the newest event of each group, not to the last to arrive: an old event
// arriving late forgets nothing newer.
func TestSequenceMemoryBounded(t *testing.T) {
	dir, _ := rulesAndAlerts(t)
	set := Load(dir)
	var seq *sequence
	for c, s := range set.seqs {
		if c.Rule.Name == "brute-force-success" {
			seq = s
		}
	}
	if seq == nil {
		t.Fatal("no brute-force-success sequence")
	}
	base := alert.Hit{}
	fail := func(id, host, src string, at time.Duration) {
		e := new(event.Event)
		e.SetString(event.ID, id)
		e.SetString(event.EventType, "login")
		e.SetString(event.Hostname, host)
		e.SetString(event.SrcIP, src)
		e.SetBool(event.Success, false)
		e.SetInt(event.EventTime, seqT0.Add(at).UnixMilli())
		if hits := seq.observe("o", e, false, base, nil); len(hits) != 0 {
			t.Fatalf("a failure hit: %v", hits)
		}
	}
	held := func() (groups, after int) {
		seq.mu.Lock()
		defer seq.mu.Unlock()
		n := 0
		for _, g := range seq.groups {
			n += len(g.after)
		}
		if n != seq.after {
			t.Fatalf("%d After events held, %d counted", n, seq.after)
		}
		return len(seq.groups), seq.after
	}
	// A group keeps its newest maxSeqGroupAfter After events.
	for i := range maxSeqGroupAfter + 10 {
		fail(fmt.Sprint("flood-", i), "bastion", "192.0.2.9", time.Duration(i)*time.Millisecond)
	}
	if g, a := held(); g != 1 || a != maxSeqGroupAfter {
		t.Errorf("a flooded group: %d groups, %d After events; want 1 and %d", g, a, maxSeqGroupAfter)
	}
	if first := seq.groups["o\x00"+`hostname="bastion",src_ip="192.0.2.9"`].after[0].t; first != seqT0.Add(10*time.Millisecond).UnixMilli() {
		t.Errorf("the group keeps from %d, want its newest (from the 11th)", first)
	}
	// Late events forget nothing newer: one older than the lateness and a
	// window behind the group's newest is not kept, nor one within reach
	// but older than all the full group keeps.
	fail("late-old", "bastion", "192.0.2.9", -seqLateness-2*time.Hour)
	fail("late-in-reach", "bastion", "192.0.2.9", -seqLateness+2*time.Hour)
	if _, a := held(); a != maxSeqGroupAfter {
		t.Errorf("after late events: %d After events, want %d", a, maxSeqGroupAfter)
	}
	if first := seq.groups["o\x00"+`hostname="bastion",src_ip="192.0.2.9"`].after[0].t; first != seqT0.Add(10*time.Millisecond).UnixMilli() {
		t.Errorf("after late events, the group keeps from %d, want the same newest", first)
	}
	// At maxSeqGroups, a new group is not remembered until older ones
	// are more than two windows behind the newest event.
	for i := range maxSeqGroups - 1 {
		fail(fmt.Sprint("src-", i), "web", fmt.Sprint("src-", i), time.Minute)
	}
	if g, _ := held(); g != maxSeqGroups {
		t.Fatalf("%d groups, want %d", g, maxSeqGroups)
	}
	fail("one-more", "web", "one-more", time.Minute)
	if g, _ := held(); g != maxSeqGroups {
		t.Errorf("%d groups beyond the bound, want %d", g, maxSeqGroups)
	}
	fail("later", "web", "later", 3*time.Hour)
	if g, a := held(); g != 1 || a != 1 {
		t.Errorf("after an event two windows on: %d groups, %d After events; want only its own", g, a)
	}
}
