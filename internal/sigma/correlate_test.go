package sigma

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/event"
)

// corrT0 is when the correlation tests' events happen.
var corrT0 = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

// timed is a Security logon event (4624 logon, 4625 failure) of user
// from host, with its id and event time (corrT0 + at).
type timed struct {
	e  *event.Event
	at time.Duration
}

func logonAt(id string, eventID int64, user, host string, at time.Duration) timed {
	e := &event.Event{}
	e.SetString(event.EventType, "winsec")
	e.SetInt(event.WinEventID, eventID)
	e.SetString(event.Channel, "Security")
	e.SetString(event.ID, id)
	e.SetString(event.Hostname, host)
	e.SetInt(event.EventTime, corrT0.Add(at).UnixMilli())
	e.Raw = []byte(`{"TargetUserName":"` + user + `","WorkstationName":"` + host + `"}`)
	return timed{e, at}
}

// corrFeed runs the batches through a fresh correlator of text, the
// batches at once, then flushes it at corrT0+flush (when flush > 0), and
// returns its hits: "group event-id", sorted, each once.
func corrFeed(t *testing.T, text string, batches [][]timed, flush time.Duration) []string {
	t.Helper()
	co, s := correlator(t, text)
	var (
		mu  sync.Mutex
		all []Firing
		wg  sync.WaitGroup
	)
	for _, b := range batches {
		wg.Go(func() {
			var out []Firing
			for _, x := range b {
				d := NewDoc(x.e)
				s.Match(d, func(c *Compiled) {
					out = append(out, co.Feed(c.Rule.Name, d, corrT0.Add(x.at))...)
				})
			}
			mu.Lock()
			defer mu.Unlock()
			all = append(all, out...)
		})
	}
	wg.Wait()
	if flush > 0 {
		all = append(all, co.Flush(corrT0.Add(flush))...)
	}
	var hits []string
	for _, f := range all {
		for _, id := range firingIDs(f) {
			hits = append(hits, f.Group+" "+id)
		}
	}
	slices.Sort(hits)
	return slices.Compact(hits)
}

func firingIDs(f Firing) []string {
	var ids []string
	for _, m := range f.Events {
		ids = append(ids, m.ID)
	}
	return ids
}

// corrOrders are the orders the same events may reach detection in: in
// event-time order, backwards, shuffled, and shuffled into batches
// evaluated at once.
func corrOrders(evs []timed) map[string][][]timed {
	inOrder := slices.Clone(evs)
	slices.SortStableFunc(inOrder, func(a, b timed) int { return int(a.at - b.at) })
	backwards := slices.Clone(inOrder)
	slices.Reverse(backwards)
	orders := map[string][][]timed{"in event-time order": {inOrder}, "backwards": {backwards}}
	for seed := range uint64(4) {
		shuffled := slices.Clone(inOrder)
		rand.New(rand.NewPCG(seed, 11)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		orders[fmt.Sprintf("shuffled %d", seed)] = [][]timed{shuffled}
		var batches [][]timed
		for b := range slices.Chunk(shuffled, 2) {
			batches = append(batches, b)
		}
		orders[fmt.Sprintf("shuffled %d, batches of 2 at once", seed)] = batches
	}
	return orders
}

// Each correlation type fires on the same events, naming the same ones,
// whatever the order they reach detection in; events outside the
// timespan, of another group, or (temporal_ordered) in the wrong order by
// event time fire in no order.
func TestCorrelationsWhateverTheOrder(t *testing.T) {
	sec := func(n float64) time.Duration { return time.Duration(n * float64(time.Second)) }
	cases := []struct {
		name, yaml string
		evs        []timed
		flush      time.Duration // when the test ends: Flush's time, 0 for none
		want       []string
	}{{
		name: "event_count gte 3 names every event of every window that holds 3",
		yaml: corrYAML("event_count", "gte: 3", ""),
		evs: []timed{
			// bob: four failures within the timespan: all four, not the
			// first three only.
			logonAt("bob-1", 4625, "bob", "h1", sec(0)), logonAt("bob-2", 4625, "bob", "h1", sec(1)),
			logonAt("bob-3", 4625, "bob", "h1", sec(2)), logonAt("bob-4", 4625, "bob", "h1", sec(3)),
			// bob's logon is not a failure; a failure of his an hour on is
			// in no window with two others.
			logonAt("bob-ok", 4624, "bob", "h1", sec(4)), logonAt("bob-late", 4625, "bob", "h1", time.Hour),
			// carol: three failures spanning exactly the timespan (both
			// ends count).
			logonAt("carol-1", 4625, "carol", "h1", 0), logonAt("carol-2", 4625, "carol", "h1", 150*time.Second),
			logonAt("carol-3", 4625, "carol", "h1", 5*time.Minute),
			// dave: three failures a millisecond more than the timespan
			// apart.
			logonAt("dave-1", 4625, "dave", "h1", 0), logonAt("dave-2", 4625, "dave", "h1", 150*time.Second),
			logonAt("dave-3", 4625, "dave", "h1", 5*time.Minute+time.Millisecond),
			// eve: two failures, and one of another user between them.
			logonAt("eve-1", 4625, "eve", "h1", sec(10)), logonAt("eve-2", 4625, "eve", "h1", sec(12)),
			logonAt("frank-1", 4625, "frank", "h1", sec(11)),
		},
		want: []string{"bob bob-1", "bob bob-2", "bob bob-3", "bob bob-4", "carol carol-1", "carol carol-2", "carol carol-3"},
	}, {
		name: "event_count gte 3 counts two bursts of one group apart",
		yaml: corrYAML("event_count", "gte: 3", ""),
		evs: []timed{
			logonAt("a-1", 4625, "bob", "h1", 0), logonAt("a-2", 4625, "bob", "h1", sec(1)), logonAt("a-3", 4625, "bob", "h1", sec(2)),
			logonAt("b-1", 4625, "bob", "h1", 20*time.Minute), logonAt("b-2", 4625, "bob", "h1", 21*time.Minute),
			logonAt("c-1", 4625, "bob", "h1", time.Hour), logonAt("c-2", 4625, "bob", "h1", time.Hour+sec(1)), logonAt("c-3", 4625, "bob", "h1", time.Hour+sec(2)),
		},
		want: []string{"bob a-1", "bob a-2", "bob a-3", "bob c-1", "bob c-2", "bob c-3"},
	}, {
		name: "value_count gt 2 names every event of a window with three hosts",
		yaml: corrYAML("value_count", "gt: 2\nfield: WorkstationName", ""),
		evs: []timed{
			logonAt("bob-1", 4625, "bob", "h1", 0), logonAt("bob-2", 4625, "bob", "h1", sec(1)),
			logonAt("bob-3", 4625, "bob", "h2", sec(2)), logonAt("bob-4", 4625, "bob", "H2", sec(3)),
			logonAt("bob-5", 4625, "bob", "h3", sec(4)),
			// eve: three hosts, but over more than the timespan.
			logonAt("eve-1", 4625, "eve", "h1", 0), logonAt("eve-2", 4625, "eve", "h2", 4*time.Minute),
			logonAt("eve-3", 4625, "eve", "h3", 9*time.Minute),
		},
		want: []string{"bob bob-1", "bob bob-2", "bob bob-3", "bob bob-4", "bob bob-5"},
	}, {
		name: "temporal: both rules within the timespan, in either order",
		yaml: corrYAML("temporal", "", "\n    - logon"),
		evs: []timed{
			logonAt("bob-ok", 4624, "bob", "h1", 0), logonAt("bob-fail", 4625, "bob", "h1", sec(30)),
			logonAt("carol-fail", 4625, "carol", "h1", 0), logonAt("carol-ok", 4624, "carol", "h1", sec(30)),
			// eve: only failures; frank: the logon after the timespan;
			// gina's logon meets a failure of another user.
			logonAt("eve-1", 4625, "eve", "h1", 0), logonAt("eve-2", 4625, "eve", "h1", sec(1)),
			logonAt("frank-fail", 4625, "frank", "h1", 0), logonAt("frank-ok", 4624, "frank", "h1", 5*time.Minute+time.Millisecond),
			logonAt("gina-ok", 4624, "gina", "h1", sec(2)),
		},
		want: []string{"bob bob-fail", "bob bob-ok", "carol carol-fail", "carol carol-ok"},
	}, {
		name: "temporal_ordered: the rules in their order by event time",
		yaml: corrYAML("temporal_ordered", "", "\n    - logon"),
		evs: []timed{
			// bob: failures, then the logon.
			logonAt("bob-fail-1", 4625, "bob", "h1", 0), logonAt("bob-fail-2", 4625, "bob", "h1", sec(10)),
			logonAt("bob-ok", 4624, "bob", "h1", sec(20)),
			// carol: the logon came first by event time; in event-time
			// order ("backwards") the failure arrives first.
			logonAt("carol-ok", 4624, "carol", "h1", 0), logonAt("carol-fail", 4625, "carol", "h1", sec(10)),
			// dave: failure then logon past the timespan.
			logonAt("dave-fail", 4625, "dave", "h1", 0), logonAt("dave-ok", 4624, "dave", "h1", 6*time.Minute),
			// erin: a failure and the logon at the same millisecond are in
			// order.
			logonAt("erin-fail", 4625, "erin", "h1", sec(5)), logonAt("erin-ok", 4624, "erin", "h1", sec(5)),
		},
		want: []string{"bob bob-fail-1", "bob bob-fail-2", "bob bob-ok", "erin erin-fail", "erin erin-ok"},
	}, {
		name: "event_count lt 2 counts fixed windows, decided when they close",
		yaml: corrYAML("event_count", "lt: 2", ""),
		evs: []timed{
			// bob: one failure in 10:00-10:05: fires. carol: two: does not.
			logonAt("bob-1", 4625, "bob", "h1", sec(30)),
			logonAt("carol-1", 4625, "carol", "h1", sec(30)), logonAt("carol-2", 4625, "carol", "h1", 4*time.Minute),
			// dave: one in 10:00-10:05 and one in 10:05-10:10: both fire.
			logonAt("dave-1", 4625, "dave", "h1", 4*time.Minute), logonAt("dave-2", 4625, "dave", "h1", 6*time.Minute),
		},
		flush: time.Hour,
		want:  []string{"bob bob-1", "dave dave-1", "dave dave-2"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for order, batches := range corrOrders(c.evs) {
				if got := corrFeed(t, c.yaml, batches, c.flush); !slices.Equal(got, c.want) {
					t.Errorf("%s: hits\n  %s\nwant\n  %s", order, strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
				}
			}
		})
	}
}

// An event sent twice (a batch resent after a crash) counts once: two
// sends of two failures are not four.
func TestCorrelationCountsAnEventOnce(t *testing.T) {
	evs := []timed{logonAt("bob-1", 4625, "bob", "h1", 0), logonAt("bob-2", 4625, "bob", "h1", time.Second)}
	if got := corrFeed(t, corrYAML("event_count", "gte: 3", ""), [][]timed{evs, evs}, 0); len(got) != 0 {
		t.Errorf("two failures sent twice fired gte 3: %v", got)
	}
}

// held is how many matches co holds, checked against its own count.
func held(t *testing.T, co *Correlator) (groups, matches int) {
	t.Helper()
	co.mu.Lock()
	defer co.mu.Unlock()
	n := 0
	for _, g := range co.groups {
		n += g.count()
	}
	if n != co.events {
		t.Fatalf("%d matches held, %d counted", n, co.events)
	}
	return len(co.groups), n
}

// A correlator's memory is bounded, and what a group keeps is relative to
// its newest match, not to the last to arrive: an old match arriving late
// forgets nothing newer.
func TestCorrelatorMemoryBounded(t *testing.T) {
	co, _ := correlator(t, corrYAML("event_count", "gte: 3", ""))
	fail := func(id, user string, at time.Duration) []Firing {
		t.Helper()
		x := logonAt(id, 4625, user, "h1", at)
		return co.Feed("failed_logon", NewDoc(x.e), corrT0.Add(at))
	}
	// A group keeps its newest maxCorrGroupEvents matches.
	for i := range maxCorrGroupEvents + 10 {
		fail(fmt.Sprint("flood-", i), "bob", time.Duration(i)*time.Millisecond)
	}
	if g, n := held(t, co); g != 1 || n != maxCorrGroupEvents {
		t.Errorf("a flooded group: %d groups, %d matches; want 1 and %d", g, n, maxCorrGroupEvents)
	}
	if first := co.groups["bob"].ms[0].eventID; first != "flood-10" {
		t.Errorf("the group keeps from %s, want its newest (from flood-10)", first)
	}
	// Late matches forget nothing newer: one older than the lateness and a
	// timespan behind the group's newest is not kept, nor one within reach
	// but older than all the full group keeps.
	fail("late-old", "bob", -corrLateness-time.Hour)
	fail("late-in-reach", "bob", -time.Hour)
	if _, n := held(t, co); n != maxCorrGroupEvents || co.groups["bob"].ms[0].eventID != "flood-10" {
		t.Errorf("after late matches: %d held from %s, want %d from flood-10", n, co.groups["bob"].ms[0].eventID, maxCorrGroupEvents)
	}
	// A group is forgotten once the correlator's newest match is the
	// lateness and a timespan past it.
	for i := range 1000 {
		fail(fmt.Sprint("user-", i), fmt.Sprint("user-", i), time.Duration(i)*time.Second)
	}
	if g, _ := held(t, co); g != 1001 {
		t.Fatalf("%d groups, want 1001", g)
	}
	fail("next-day", "carol", corrLateness+time.Hour)
	if g, n := held(t, co); g != 1 || n != 1 {
		t.Errorf("a day on: %d groups, %d matches; want carol's only", g, n)
	}
	// At maxCorrGroups, a new group is not remembered until older ones
	// are two timespans behind the newest match.
	at := corrLateness + time.Hour
	for i := range maxCorrGroups - 1 {
		fail(fmt.Sprint("g-", i), fmt.Sprint("g-", i), at)
	}
	if g, _ := held(t, co); g != maxCorrGroups {
		t.Fatalf("%d groups, want %d", g, maxCorrGroups)
	}
	fail("one-more", "one-more", at)
	if g, _ := held(t, co); g != maxCorrGroups {
		t.Errorf("%d groups beyond the bound, want %d", g, maxCorrGroups)
	}
	fail("later", "later", at+time.Hour)
	if g, n := held(t, co); g != 1 || n != 1 {
		t.Errorf("after a match two timespans on: %d groups, %d matches; want its own only", g, n)
	}
}

// A fixed window whose count is past what its condition allows holds
// nothing more, and still never fires.
func TestCorrelatorFixedWindowBounded(t *testing.T) {
	co, _ := correlator(t, corrYAML("event_count", "lt: 3", ""))
	for i := range 100 {
		x := logonAt(fmt.Sprint("f-", i), 4625, "bob", "h1", time.Duration(i)*time.Millisecond)
		co.Feed("failed_logon", NewDoc(x.e), corrT0.Add(x.at))
	}
	if _, n := held(t, co); n != 0 {
		t.Errorf("a window of 100 matches with lt 3 holds %d of them, want none", n)
	}
	if f := co.Flush(corrT0.Add(time.Hour)); len(f) != 0 {
		t.Errorf("it fired: %+v", f)
	}
}

// corrReference is what a correlation of conds holds on evs, worked out
// from all of them at once: the definition the correlator must meet
// whatever the order it is fed in.
func corrReference(typ string, cond CorrCondition, evs []timed) []string {
	type m struct {
		t          int64
		rule       int
		value, id  string
		user, host string
	}
	groups := map[string][]m{}
	for _, x := range evs {
		raw := string(x.e.Raw)
		user := strings.Split(strings.Split(raw, `"TargetUserName":"`)[1], `"`)[0]
		host := strings.Split(strings.Split(raw, `"WorkstationName":"`)[1], `"`)[0]
		rule := 0
		if x.e.Int[event.WinEventID] == 4624 {
			rule = 1
		}
		groups[user] = append(groups[user], m{t: x.at.Milliseconds(), rule: rule, value: strings.ToLower(host), id: x.e.Str[event.ID]})
	}
	span := (5 * time.Minute).Milliseconds()
	holds := func(n int64) bool {
		if !cond.HasOp {
			return n == 2
		}
		return cond.Holds(n)
	}
	metric := func(ms []m, from int64) int64 {
		switch typ {
		case "event_count":
			return int64(len(ms))
		case "value_count", "temporal":
			seen := map[string]bool{}
			for _, x := range ms {
				seen[map[bool]string{true: x.value, false: fmt.Sprint(x.rule)}[typ == "value_count"]] = true
			}
			return int64(len(seen))
		}
		// temporal_ordered: a failure at from, then a logon no earlier
		var n int64
		for _, x := range ms {
			if x.rule == 0 && x.t == from {
				n = 1
			}
		}
		for _, x := range ms {
			if n == 1 && x.rule == 1 && x.t >= from {
				n = 2
			}
		}
		return n
	}
	var hits []string
	for user, ms := range groups {
		var windows [][]m
		if cond.Op == "lt" || cond.Op == "lte" || cond.Op == "eq" {
			fixed := map[int64][]m{}
			for _, x := range ms {
				s := windowStart(corrT0.UnixMilli()+x.t, span)
				fixed[s] = append(fixed[s], x)
			}
			for _, w := range fixed {
				if holds(metric(w, 0)) {
					windows = append(windows, w)
				}
			}
		} else {
			for _, a := range ms {
				if typ == "temporal_ordered" && a.rule != 0 {
					continue
				}
				var w []m
				for _, x := range ms {
					if x.t >= a.t && x.t <= a.t+span {
						w = append(w, x)
					}
				}
				if holds(metric(w, a.t)) {
					windows = append(windows, w)
				}
			}
		}
		for _, w := range windows {
			for _, x := range w {
				hits = append(hits, user+" "+x.id)
			}
		}
	}
	slices.Sort(hits)
	return slices.Compact(hits)
}

// On random matches, the correlator names what the definition says,
// whatever the order they arrive in, some sent twice.
func TestCorrelationsMeetTheirDefinition(t *testing.T) {
	conds := []struct{ typ, cond string }{
		{"event_count", "gte: 3"}, {"event_count", "gt: 4"}, {"event_count", "lt: 3"}, {"event_count", "eq: 2"},
		{"value_count", "gte: 2\nfield: WorkstationName"}, {"value_count", "lte: 1\nfield: WorkstationName"},
		{"temporal", ""}, {"temporal", "gte: 1"}, {"temporal_ordered", ""},
	}
	for seed := range uint64(25) {
		r := rand.New(rand.NewPCG(seed, 5))
		var evs []timed
		for i := range 30 {
			id := int64(4625)
			if r.IntN(3) == 0 {
				id = 4624
			}
			at := time.Duration(r.IntN(40)) * 30 * time.Second // ties, and windows ending on a match
			evs = append(evs, logonAt(fmt.Sprint("e", i), id, fmt.Sprint("u", r.IntN(3)), fmt.Sprint("h", r.IntN(3)), at))
		}
		for _, c := range conds {
			text := corrYAML(c.typ, c.cond, "\n    - logon")
			rules, err := Parse([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			want := corrReference(c.typ, rules[0].Correlation.Condition, evs)
			for order, batches := range corrOrders(evs) {
				batches = append(batches, evs[:5]) // sent again
				if got := corrFeed(t, text, batches, 48*time.Hour); !slices.Equal(got, want) {
					t.Errorf("seed %d, %s %q, %s: hits\n  %v\nwant\n  %v", seed, c.typ, c.cond, order, got, want)
				}
			}
		}
	}
}

// BenchmarkCorrelatorFlood feeds one group 10,000 matches within its
// timespan (a brute force, a password spray), in time order and
// shuffled: the cost per match of the worst case a group's bound allows.
func BenchmarkCorrelatorFlood(b *testing.B) {
	const n = 10_000
	var evs []timed
	for i := range n {
		id := int64(4625)
		if i%50 == 49 {
			id = 4624
		}
		evs = append(evs, logonAt(fmt.Sprint("e", i), id, "bob", fmt.Sprint("h", i%500), time.Duration(i)*10*time.Millisecond))
	}
	shuffled := slices.Clone(evs)
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, c := range []struct{ typ, cond string }{{"event_count", "gte: 100"}, {"value_count", "gte: 100\nfield: WorkstationName"}, {"temporal_ordered", ""}} {
		for name, order := range map[string][]timed{"in order": evs, "shuffled": shuffled} {
			b.Run(c.typ+"/"+name, func(b *testing.B) {
				text := corrYAML(c.typ, c.cond, "\n    - logon")
				var docs []*Doc
				for _, x := range order {
					docs = append(docs, NewDoc(x.e))
				}
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					co, s := correlator(b, text)
					b.StartTimer()
					for i, d := range docs {
						s.Match(d, func(c *Compiled) { co.Feed(c.Rule.Name, d, corrT0.Add(order[i].at)) })
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/match")
			})
		}
	}
}
