package agent

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/agent/hostmeta"
	"github.com/spoor-dev/spoor/internal/agent/ship"
	"github.com/spoor-dev/spoor/internal/agent/source"
)

// fakeSource emits n events, half with an _id of their own, and says it
// lost some.
type fakeSource struct {
	n       int
	flushed chan error
	flush   func(context.Context) error
}

func (f *fakeSource) Name() string { return "fake" }

func (f *fakeSource) Run(ctx context.Context, emit source.Emit) error {
	for i := range f.n {
		ev := source.Event{"event_type": "audit", "event_time": int64(1700000000000 + i), "pid": int64(i + 1), "exe": "/bin/x"}
		if i%2 == 0 {
			ev["_id"] = fmt.Sprintf("own-%d", i)
		}
		emit(ev)
	}
	// the same observation twice: the same derived _id
	emit(source.Event{"event_type": "audit", "event_time": int64(1), "exe": "/bin/twice"})
	emit(source.Event{"event_type": "audit", "event_time": int64(1), "exe": "/bin/twice"})
	if f.flush != nil {
		f.flushed <- f.flush(ctx)
	}
	<-ctx.Done()
	return nil
}

func (f *fakeSource) Losses() map[string]int64 { return map[string]int64{"kernel_lost": 3} }

func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestAgentStampsSpoolsShipsAndReports(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	sink, err := ship.NewFileSink(out)
	if err != nil {
		t.Fatal(err)
	}
	id := hostmeta.Identity{AgentID: "0b5c3f5e-1111-4222-8333-444455556666", Hostname: "web-1", OSVersion: "amzn-2", Kernel: "5.10"}
	src := &fakeSource{n: 40, flushed: make(chan error, 1)}
	var containers int
	a, err := New(Options{StateDir: filepath.Join(dir, "state"), Identity: id, Version: "test", Sources: []source.Source{src},
		Sink: sink, Ship: ship.Options{BatchAge: 10 * time.Millisecond}, StatusEvery: 10 * time.Millisecond,
		CloudInfo: func(context.Context) (map[string]string, error) {
			return map[string]string{"instance_id": "i-0598d4c63db69fbe3", "cloud_provider": "aws"}, nil
		},
		ContainerOf: func(_ string, pid int) (string, string, bool) {
			containers++
			return "c0ffee", "docker", pid == 2
		}})
	if err != nil {
		t.Fatal(err)
	}
	src.flush = a.Flush
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	if err := <-src.flushed; err != nil {
		t.Fatalf("flush: %v", err)
	}
	if st := a.sp.Stats(); st.Appended+st.Acked < 42 {
		t.Fatalf("after Flush the spool took only %+v", st)
	}
	for i := 0; len(readLines(t, out)) < 44; i++ { // 42 + metadata + health
		if i > 3000 {
			t.Fatalf("events never shipped: %d lines", len(readLines(t, out)))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, out)
	ids := map[string]int{}
	var health, meta []map[string]any
	for _, l := range lines {
		if l["agent_id"] != id.AgentID || l["hostname"] != "web-1" {
			t.Fatalf("event not stamped: %v", l)
		}
		ids[l["_id"].(string)]++
		switch l["type"] {
		case "agent_health":
			health = append(health, l)
		case "host_metadata":
			meta = append(meta, l)
		}
		if l["pid"] == float64(2) && l["containerId"] != "c0ffee" {
			t.Fatalf("container not named: %v", l)
		}
	}
	if len(ids) != len(lines)-1 {
		t.Fatalf("%d distinct _ids in %d lines, want one pair (the same observation twice)", len(ids), len(lines))
	}
	// A source's own _id is kept, with the agent's identity in it: hosts
	// cloned from one image make the same observations.
	own := sha256.Sum256([]byte(id.AgentID + "\x00own-0"))
	if ids[hex.EncodeToString(own[:16])] != 1 {
		t.Fatalf("a source's own _id own-0 is not kept under the agent's identity: %v", ids)
	}
	if len(health) != 2 || health[0]["phase"] != "start" || health[1]["phase"] != "stop" {
		t.Fatalf("health events %v, want start and stop", health)
	}
	losses, _ := health[1]["losses"].(map[string]any)
	if losses["kernel_lost"] != float64(3) || health[1]["lost_total"] != float64(3) {
		t.Fatalf("stop health event losses %v", health[1])
	}
	if len(meta) != 1 || meta[0]["instance_id"] != "i-0598d4c63db69fbe3" || meta[0]["os_version"] != "amzn-2" || meta[0]["event_type"] != "host" {
		t.Fatalf("metadata events %v", meta)
	}
	st, err := ReadStatus(filepath.Join(dir, "state", StatusFile))
	if err != nil || st.Running || st.AgentID != id.AgentID || st.SpoolEvents != 0 || st.Losses["kernel_lost"] != 3 || st.LastSend == 0 {
		t.Fatalf("status %+v, %v", st, err)
	}
}

// Losses of earlier runs are carried into later health events.
func TestAgentCarriesLossesAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	id := hostmeta.Identity{AgentID: "0b5c3f5e-1111-4222-8333-444455556666", Hostname: "h"}
	for run := 1; run <= 2; run++ {
		sink, _ := ship.NewFileSink(filepath.Join(dir, "out"))
		a, err := New(Options{StateDir: dir, Identity: id, Sources: []source.Source{&fakeSource{}}, Sink: sink})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := a.Run(ctx); err != nil {
			t.Fatal(err)
		}
		st, _ := ReadStatus(filepath.Join(dir, StatusFile))
		if st.Losses["kernel_lost"] != int64(3*run) {
			t.Fatalf("run %d: kernel_lost %d, want %d", run, st.Losses["kernel_lost"], 3*run)
		}
	}
}
