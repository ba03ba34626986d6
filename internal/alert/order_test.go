package alert

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// orderHits is one set of hits: a threshold rule grouped by source address
// whose group spans two hosts and an hour boundary, with a tie for the
// earliest event of one window; a noisy rule with a short window; a group
// whose earliest event names no host; a Sigma rule; and an event seen
// twice.
func orderHits() []Hit {
	var hits []Hit
	add := func(rule, group string, threshold int64, window time.Duration, id string, at time.Duration, host string) {
		agent := ""
		if host != "" {
			agent = "agent-" + host
		}
		hits = append(hits, Hit{Rule: rule, Kind: "native", Title: rule, Severity: 1, GroupKey: group, Window: window,
			Threshold: threshold, EventID: id, EventTime: t0.Add(at).UnixMilli(), Hostname: host, AgentID: agent})
	}
	for _, x := range []struct {
		id   string
		at   time.Duration
		host string
	}{
		{"b1", 50 * time.Minute, "host-b"}, {"a1", 55 * time.Minute, "host-a"},
		{"t2", 65 * time.Minute, "host-b"}, {"t1", 65 * time.Minute, "host-a"}, // tie: t1 names the host
		{"a2", 70 * time.Minute, "host-a"}, {"b2", 80 * time.Minute, "host-b"},
		{"a3", 150 * time.Minute, "host-a"}, // alone in its window: stays pending
	} {
		add("brute", "10.0.0.9", 3, time.Hour, x.id, x.at, x.host)
	}
	add("brute", "10.0.0.9", 3, time.Hour, "a2", 70*time.Minute, "host-a") // sent again
	for i := range 35 {
		add("noisy", "", 1, 10*time.Minute, fmt.Sprint("n", i), time.Duration(3+i)*time.Minute, []string{"host-a", "host-b"}[i%2])
	}
	add("cloud", "acct-1", 1, time.Hour, "c1", time.Minute, "")
	add("cloud", "acct-1", 1, time.Hour, "c2", 2*time.Minute, "host-c")
	add("cloud", "acct-1", 1, time.Hour, "c3", 3*time.Minute, "host-a")
	for i, host := range []string{"host-a", "host-b", "host-a"} {
		h := Hit{Rule: "sigma-x", Kind: "sigma", Title: "x", Severity: 2, GroupKey: host, Window: time.Hour, Threshold: 1,
			EventID: fmt.Sprint("s", i), EventTime: t0.Add(time.Duration(i) * 20 * time.Minute).UnixMilli(), Hostname: host, AgentID: "agent-" + host}
		hits = append(hits, h)
	}
	return hits
}

// summary is what must not depend on the order of the hits: everything but
// the wall clock and the number of versions.
func summary(t *testing.T, s *Store) []string {
	t.Helper()
	list, err := s.List("o")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range list {
		ids := slices.Sorted(slices.Values(a.EventIDs))
		out = append(out, fmt.Sprintf("%s %s %q host=%q agent=%q %s..%s count=%d %s ids=%s", a.ID, a.Rule, a.GroupKey, a.Hostname, a.AgentID,
			time.UnixMilli(a.FirstTime).UTC().Format("15:04"), time.UnixMilli(a.LastTime).UTC().Format("15:04"), a.Count, a.Status, strings.Join(ids, ",")))
	}
	slices.Sort(out)
	return out
}

// The same hits make the same alerts whatever order they come in, in
// whatever batches, and across a restart of the store: the same ids, the
// same host and agent, times, counts and status. Ingest evaluates files and
// chunks in parallel, so the order is not the data's.
func TestAlertsIndependentOfOrder(t *testing.T) {
	hits := orderHits()
	byTime := slices.Clone(hits)
	slices.SortStableFunc(byTime, func(a, b Hit) int { return int(a.EventTime - b.EventTime) })
	reversed := slices.Clone(byTime)
	slices.Reverse(reversed)

	observe := func(s *Store, hs []Hit, batch int) {
		t.Helper()
		for len(hs) > 0 {
			n := min(batch, len(hs))
			if _, err := s.Observe("o", hs[:n]); err != nil {
				t.Fatal(err)
			}
			hs = hs[n:]
		}
	}
	want := func() []string {
		s := open(t, t.TempDir())
		observe(s, byTime, len(byTime))
		return summary(t, s)
	}()
	check := func(name string, got []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: alerts differ from those of the hits in time order:\n got %s\nwant %s", name, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
		}
	}
	s := open(t, t.TempDir())
	observe(s, reversed, 1)
	check("reversed, one at a time", summary(t, s))
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 7))
		shuffled := slices.Clone(hits)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		dir := t.TempDir()
		s := open(t, dir)
		half := len(shuffled) / 2
		observe(s, shuffled[:half], 1+int(seed)*3)
		if seed%2 == 1 { // a restart in the middle: what the journal keeps must be enough
			s.Close()
			s = open(t, dir)
		}
		observe(s, shuffled[half:], 1+int(seed)*3)
		check(fmt.Sprintf("shuffled (seed %d)", seed), summary(t, s))
	}

	// The host and agent an alert names are those of its own window's
	// earliest event that names a host, the smaller event id first on a
	// tie. (The 11:00 window's brute alert opens by the span 10:05..11:05
	// and so gathers b1 and a1 of 10:50 and 10:55 too: it is named here by
	// its last event.)
	list, _ := s.List("o")
	hosts := map[string]string{}
	for _, a := range list {
		hosts[fmt.Sprintf("%s ..%s", a.Rule, time.UnixMilli(a.LastTime).UTC().Format("15:04"))] = a.Hostname + " " + a.AgentID
	}
	for k, v := range map[string]string{"brute ..10:55": "host-b agent-host-b", "brute ..11:20": "host-a agent-host-a", "cloud ..10:03": "host-c agent-host-c"} {
		if hosts[k] != v {
			t.Errorf("alert %s names %q, want %q (all: %v)", k, hosts[k], v, hosts)
		}
	}
}

// An alert stored before windows were fixed keeps its id (its first
// observed hit's): hits that fit its span as they did then join it, so
// events it counted already count once when they are sent again; later
// hits make the alerts of their fixed windows.
func TestLegacyAlertKeepsItsID(t *testing.T) {
	dir := t.TempDir()
	legacyID := idOf("o", "brute", "g", t0.Add(20*time.Minute).UnixMilli())
	old := line{Alert: Alert{ID: legacyID, Org: "o", Rule: "brute", Kind: "native", Title: "brute", Severity: 1, GroupKey: "g",
		Hostname: "h-old", FirstTime: t0.Add(20 * time.Minute).UnixMilli(), LastTime: t0.Add(30 * time.Minute).UnixMilli(),
		Count: 2, EventIDs: []string{"e1", "e2"}, Status: StatusOpen, CreatedAt: t0.UnixMilli(), UpdatedAt: t0.UnixMilli(), Version: 1},
		NewIDs: []string{"e1", "e2"}, Window: time.Hour.Milliseconds()}
	b, _ := json.Marshal(old)
	j := filepath.Join(dir, "alerts", "organization_id=o", "alerts.ndjson")
	if err := os.MkdirAll(filepath.Dir(j), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(j, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	hits := []Hit{
		hit("brute", "g", 1, 20*time.Minute), // counted already
		hit("brute", "g", 3, 50*time.Minute), // within the old alert's hour
		hit("brute", "g", 5, 5*time.Minute),  // before it, within its hour
		hit("brute", "g", 4, 85*time.Minute), // past it: the 11:00 window's
	}
	check := func(when string, s *Store) {
		t.Helper()
		list, _ := s.List("o")
		got := map[string]int64{}
		for _, a := range list {
			got[a.ID] = a.Count
		}
		newID := idOf("o", "brute", "g", t0.Add(time.Hour).UnixMilli())
		if len(got) != 2 || got[legacyID] != 4 || got[newID] != 1 {
			t.Errorf("%s: alerts %v; want the old one (%s) with 4 events and the 11:00 window's (%s) with 1", when, got, legacyID, newID)
		}
	}
	s := open(t, dir)
	if _, err := s.Observe("o", hits); err != nil {
		t.Fatal(err)
	}
	check("first", s)
	s.Close()
	s = open(t, dir)
	if _, err := s.Observe("o", hits); err != nil { // sent again after a restart
		t.Fatal(err)
	}
	check("sent again", s)
}
