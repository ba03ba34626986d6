package alert

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// burstHit is a failed logon of a brute-force rule like the default
// brute-force-source: threshold 10 within 10 minutes.
func burstHit(id string, at time.Time, threshold int64) Hit {
	return Hit{Rule: "brute", Kind: "native", Title: "brute", Severity: 2, GroupKey: "bastion\x00198.51.100.7", Window: 10 * time.Minute,
		Threshold: threshold, EventID: id, EventTime: at.UnixMilli(), Hostname: "bastion", AgentID: "agent-bastion"}
}

// straddle is 12 failed logons 10 s apart, 6 before t0 (a 10-minute
// boundary) and 6 after it.
func straddle() []Hit {
	var hits []Hit
	for i := range 12 {
		hits = append(hits, burstHit(fmt.Sprint("f", i), t0.Add(-time.Minute+time.Duration(i)*10*time.Second), 10))
	}
	return hits
}

// arrivals are the orders and batches hits may come in: time order in one
// batch, reversed one at a time, shuffled in small batches, with a restart
// in the middle, and everything sent again.
func arrivals(t *testing.T, hits []Hit, each func(name string, s *Store, opened []Alert)) {
	t.Helper()
	byTime := slices.Clone(hits)
	slices.SortStableFunc(byTime, func(a, b Hit) int { return int(a.EventTime - b.EventTime) })
	reversed := slices.Clone(byTime)
	slices.Reverse(reversed)
	run := func(name string, hs []Hit, batch int, restart, resend bool) {
		dir := t.TempDir()
		s := open(t, dir)
		var opened []Alert
		send := func(hs []Hit) {
			for len(hs) > 0 {
				n := min(batch, len(hs))
				got, err := s.Observe("o", hs[:n])
				if err != nil {
					t.Fatal(err)
				}
				opened = append(opened, got...)
				hs = hs[n:]
			}
		}
		half := len(hs) / 2
		send(hs[:half])
		if restart { // what the journal keeps must be enough
			s.Close()
			s = open(t, dir)
		}
		send(hs[half:])
		if resend {
			send(hs)
		}
		each(name, s, opened)
	}
	run("time order", byTime, len(byTime), false, false)
	run("reversed, one at a time", reversed, 1, false, false)
	run("reversed, restart", reversed, 2, true, true)
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 11))
		shuffled := slices.Clone(hits)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		run(fmt.Sprintf("shuffled (seed %d)", seed), shuffled, 1+int(seed), seed%2 == 1, seed == 2)
	}
}

// A burst of 12 failed logons within 110 s that a window boundary splits
// 6/6 opens the alert of the later window, which names the whole burst:
// "10 within 10 minutes" is any 10-minute span, not one fixed window. The
// earlier window's alert keeps its 6 and stays pending. Whatever the order.
func TestSlidingThresholdAcrossBoundary(t *testing.T) {
	later := idOf("o", "brute", "bastion\x00198.51.100.7", t0.UnixMilli())
	arrivals(t, straddle(), func(name string, s *Store, opened []Alert) {
		if len(opened) != 1 || opened[0].ID != later {
			t.Errorf("%s: opened %d alerts (%v), want the 10:00 window's (%s) once", name, len(opened), opened, later)
		}
		list, _ := s.List("o")
		var got []string
		for _, a := range list {
			got = append(got, fmt.Sprintf("%s %s..%s count=%d ids=%d %s", a.ID,
				time.UnixMilli(a.FirstTime).UTC().Format("15:04:05"), time.UnixMilli(a.LastTime).UTC().Format("15:04:05"), a.Count, len(a.EventIDs), a.Status))
		}
		earlier := idOf("o", "brute", "bastion\x00198.51.100.7", t0.Add(-10*time.Minute).UnixMilli())
		want := []string{
			later + " 09:59:00..10:00:50 count=12 ids=12 open",
			earlier + " 09:59:00..09:59:50 count=6 ids=6 pending",
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: alerts\n  %s\nwant\n  %s", name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	})
}

// Spans end at a hit and reach back exactly the window, both ends
// included; hits two windows apart never make one span.
func TestSlidingSpanBounds(t *testing.T) {
	for _, c := range []struct {
		name  string
		last  time.Duration // the one hit of the 10:00 window
		start time.Duration // the first of 9 hits 10 s apart before it
		opens bool
	}{
		{"9 then 1 two windows apart", 10 * time.Second, -11 * time.Minute, false},
		{"the span reaches the first hit exactly", 5 * time.Minute, -5 * time.Minute, true},
		{"the span misses the first hit by 1 ms", 5*time.Minute + time.Millisecond, -5 * time.Minute, false},
	} {
		var hits []Hit
		for i := range 9 {
			hits = append(hits, burstHit(fmt.Sprint("f", i), t0.Add(c.start+time.Duration(i)*10*time.Second), 10))
		}
		hits = append(hits, burstHit("last", t0.Add(c.last), 10))
		arrivals(t, hits, func(name string, s *Store, opened []Alert) {
			list, _ := s.List("o")
			open := 0
			for _, a := range list {
				if a.Status == StatusOpen {
					open++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[c.opens]; len(opened) != want || open != want {
				t.Errorf("%s, %s: %d alerts opened, %d open; want %d", c.name, name, len(opened), open, want)
			}
		})
	}
}

// Threshold 1 alerts open at their first hit and gather their own
// window's hits only, as before; so does a burst wholly inside one window
// (a lone hit of the window before, further than the window, stays out).
func TestSlidingLeavesOneWindowAlone(t *testing.T) {
	var ones []Hit
	for _, h := range straddle() {
		h.Threshold = 1
		ones = append(ones, h)
	}
	arrivals(t, ones, func(name string, s *Store, opened []Alert) {
		list, _ := s.List("o")
		if len(list) != 2 || len(opened) != 2 {
			t.Fatalf("%s: %d alerts, %d opened; want 2 and 2", name, len(list), len(opened))
		}
		for _, a := range list {
			if a.Count != 6 || a.Status != StatusOpen || a.LastTime-a.FirstTime != (50*time.Second).Milliseconds() {
				t.Errorf("%s: %+v; want 6 events of its own window, open", name, a)
			}
		}
	})

	inside := []Hit{burstHit("lone", t0.Add(-9*time.Minute), 10)}
	for i := range 12 {
		inside = append(inside, burstHit(fmt.Sprint("f", i), t0.Add(2*time.Minute+time.Duration(i)*10*time.Second), 10))
	}
	arrivals(t, inside, func(name string, s *Store, opened []Alert) {
		list, _ := s.List("o")
		if len(list) != 2 || len(opened) != 1 {
			t.Fatalf("%s: %d alerts, %d opened; want 2 and 1", name, len(list), len(opened))
		}
		var a Alert
		for _, a = range list {
			if a.Status == StatusOpen {
				break
			}
		}
		if a.Count != 12 || a.FirstTime != t0.Add(2*time.Minute).UnixMilli() || slices.Contains(a.EventIDs, "lone") {
			t.Errorf("%s: open %+v; want the 12 of the burst only", name, a)
		}
	})
}

// The times a window keeps survive a journal rewrite: the earlier half of
// a burst, observed before the store rewrote its journal, still completes
// the later half's span after it.
func TestSlidingSurvivesJournalRewrite(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	s.DeferSync = true
	burst := straddle()
	for _, h := range burst[:6] {
		if _, err := s.Observe("o", []Hit{h}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 1100 { // superseded versions enough for a rewrite
		if _, err := s.Observe("o", []Hit{hit("noisy", "", i, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = open(t, dir)
	if err := s.Load("o"); err != nil {
		t.Fatal(err)
	}
	if got := journalLines(t, dir); got > 10 {
		t.Fatalf("the journal has %d lines: not rewritten", got)
	}
	opened, err := s.Observe("o", burst[6:])
	if err != nil {
		t.Fatal(err)
	}
	if len(opened) != 1 || opened[0].Count != 12 || opened[0].FirstTime != burst[0].EventTime || !slices.Contains(opened[0].EventIDs, "f0") {
		t.Fatalf("opened %+v; want the 10:00 window's alert naming all 12 events", opened)
	}
}

func journalLines(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "alerts", "organization_id=o", "alerts.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte{'\n'})
}
