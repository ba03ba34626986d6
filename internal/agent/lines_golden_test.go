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
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestAuditLinesGolden pins the lines the agent ships for the real audit
// events of the datasets, byte for byte (sorted, as batches may split
// anywhere): speed-ups of the decoder, the conversion and the encoding
// must leave them unchanged.
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
			if strings.Contains(l, `"event_type":"audit"`) {
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
	path := filepath.Join("testdata", "audit-lines.golden")
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
