package agent

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/agent/audit"
	"github.com/spoor-dev/spoor/internal/agent/audit/audittest"
	"github.com/spoor-dev/spoor/internal/agent/hostmeta"
	"github.com/spoor-dev/spoor/internal/agent/ship"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/ingest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestAuditLinesGolden pins the lines the agent ships for the real audit
// events of the datasets, byte for byte (sorted, as batches may split
// anywhere), and holds what the server stores of them to what it stored of
// the lines agents shipped before envelopes (testdata/audit-lines-v1.golden:
// the events decoded on the host): the same typed fields, the same _ids.
func TestAuditLinesGolden(t *testing.T) {
	evs := audittest.Events(t, datasets)
	n := 2 * len(evs)
	dir := t.TempDir()
	log := filepath.Join(dir, "audit.log")
	if err := os.WriteFile(log, []byte(audittest.Log(evs, 1, 1700000000, n)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.ndjson")
	sink, err := ship.NewFileSink(out)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	a, err := New(Options{StateDir: state, Identity: hostmeta.Identity{AgentID: "0b5c3f5e-1111-4222-8333-444455556666", Hostname: "golden"},
		Sink: sink, Ship: ship.Options{BatchAge: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	a.AddSources(audit.NewFollower(audit.FollowConfig{Path: log, Host: "golden", Flushed: a.Flush, Poll: 10 * time.Millisecond,
		PositionFile: filepath.Join(state, "pos.json")}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var lines []string
	for i := 0; len(lines) < n; i++ {
		if i > 3000 {
			cancel()
			t.Fatalf("%d audit lines shipped, want %d", len(lines), n)
		}
		time.Sleep(10 * time.Millisecond)
		b, _ := os.ReadFile(out)
		lines = lines[:0]
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, `"audit_records":`) {
				lines = append(lines, l)
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines)
	got := []byte(strings.Join(lines, "\n") + "\n")
	sameAsHostDecoded(t, got)
	path := filepath.Join("testdata", "audit-envelopes.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run TestAuditLinesGolden -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(g), len(w)) {
			if g[i] != w[i] {
				t.Fatalf("line %d differs:\n got: %s\nwant: %s", i+1, g[i], w[i])
			}
		}
		t.Fatalf("%d lines, want %d", len(g), len(w))
	}
}

// sameAsHostDecoded checks that the server stores envelopes as it stored
// the lines of agents that decoded on the host: every typed field alike,
// Raw's members too (bar the fields the old lines carried in Raw's place).
func sameAsHostDecoded(t *testing.T, envelopes []byte) {
	t.Helper()
	old, err := os.ReadFile(filepath.Join("testdata", "audit-lines-v1.golden"))
	if err != nil {
		t.Fatal(err)
	}
	parse := func(name string, b []byte) map[string]*event.Event {
		var rejects []ingest.Rejection
		evs := ingest.ParseLines(&event.Normalizer{Org: "o", Now: func() int64 { return 1 }}, name, b, func(r ingest.Rejection) { rejects = append(rejects, r) })
		if len(rejects) > 0 {
			t.Fatalf("%s: rejected %v", name, rejects)
		}
		byID := map[string]*event.Event{}
		for _, e := range evs {
			byID[e.Str[event.ID]] = e
		}
		return byID
	}
	was, now := parse("v1", old), parse("envelopes", envelopes)
	if len(now) != len(was) || len(now) == 0 {
		t.Fatalf("%d events stored from envelopes, %d from the v1 lines", len(now), len(was))
	}
	for id, w := range was {
		n, ok := now[id]
		if !ok {
			t.Fatalf("_id %s: stored from the v1 lines, not from the envelopes", id)
		}
		for _, f := range event.Catalog() {
			a, _ := w.Value(f.ID)
			b, _ := n.Value(f.ID)
			if w.Has(f.ID) != n.Has(f.ID) || a.String() != b.String() {
				t.Errorf("_id %s: %s: v1 %v %q, envelope %v %q", id, f.Name, w.Has(f.ID), a.String(), n.Has(f.ID), b.String())
			}
		}
	}
}
