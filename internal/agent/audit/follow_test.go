package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/agent/audit/audittest"
	"github.com/spoor-dev/spoor/internal/agent/source"
)

const datasets = "../../../../shared/datasets/linux"

// harness drives a Follower one poll at a time, as Run would, and keeps
// what it emits.
type harness struct {
	t      *testing.T
	f      *Follower
	events []source.Event
}

func newHarness(t *testing.T, cfg FollowConfig) *harness {
	t.Helper()
	h := &harness{t: t}
	h.f = NewFollower(cfg)
	h.f.g = newGrouper(cfg.Host, func(e source.Event) { h.events = append(h.events, flat(t, e)) })
	if err := h.f.start(); err != nil {
		t.Fatal(err)
	}
	return h
}

// poll runs one poll.
func (h *harness) poll() {
	h.t.Helper()
	if _, err := h.f.poll(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

// settle polls until a poll reads nothing (which completes the last event).
func (h *harness) settle() {
	h.t.Helper()
	for i := 0; ; i++ {
		read, err := h.f.poll(context.Background())
		if err != nil {
			h.t.Fatal(err)
		}
		if !read {
			return
		}
		if i > 1000 {
			h.t.Fatal("the follower never caught up")
		}
	}
}

// stop saves the position as Run does when its context ends.
func (h *harness) stop() {
	h.t.Helper()
	h.f.g.flush(context.Background(), true)
	if err := h.f.save(context.Background(), true); err != nil {
		h.t.Fatal(err)
	}
	h.f.f.Close()
}

func (h *harness) ids() map[string]int {
	m := map[string]int{}
	for _, e := range h.events {
		id, _ := e["_id"].(string)
		if id == "" {
			h.t.Fatalf("event without _id: %v", e)
		}
		m[id]++
	}
	return m
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// wantOnce checks that ids holds n distinct events, each once.
func wantOnce(t *testing.T, ids map[string]int, n int) {
	t.Helper()
	if len(ids) != n {
		t.Fatalf("%d distinct events, want %d", len(ids), n)
	}
	for id, c := range ids {
		if c != 1 {
			t.Fatalf("event %s emitted %d times", id, c)
		}
	}
}

// The real multi-record events of the datasets come out whole, with their
// EXECVE arguments, in spoor's native shape.
func TestFollowerDecodesRealEvents(t *testing.T) {
	evs := audittest.Events(t, datasets)
	dir := t.TempDir()
	log := filepath.Join(dir, "audit.log")
	appendFile(t, log, audittest.Log(evs, 100, 1700000000, len(evs)))
	h := newHarness(t, FollowConfig{Path: log, Host: "web-1"})
	h.settle()
	if len(h.events) != len(evs) {
		t.Fatalf("%d events from %d in the log", len(h.events), len(evs))
	}
	var dd source.Event
	for _, e := range h.events {
		if e["exe"] == "/bin/dd" {
			dd = e
		}
	}
	if dd == nil {
		t.Fatalf("no dd execution among %v", h.events)
	}
	args, _ := dd["args"].([]string)
	if strings.Join(args, " ") != "dd if=/dev/zero bs=1 count=1" || dd["event_type"] != "audit" || dd["syscall"] != "execve" ||
		dd["hostname"] != "web-1" || dd["pid"] != int64(2168) || dd["cwd"] != "/home/wardog" {
		t.Fatalf("dd event: %v", dd)
	}
	if _, ok := dd["records"]; !ok {
		t.Fatal("the original records are not kept (detection reads them)")
	}
}

// Appends, rename-and-create and copytruncate rotations: every event is
// emitted exactly once, and the serials show no gap.
func TestFollowerAcrossRotations(t *testing.T) {
	evs := audittest.Events(t, datasets)
	dir := t.TempDir()
	log := filepath.Join(dir, "audit.log")
	h := newHarness(t, FollowConfig{Path: log, Host: "h"})
	h.poll() // no file yet: waits
	seq := int64(1000)
	write := func(n int) {
		appendFile(t, log, audittest.Log(evs, seq, 1700000000+seq, n))
		seq += int64(n)
	}
	write(10)
	h.poll()
	write(5)
	// rename and create, with events written to the old file after our
	// last read and before the rename
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	write(7)
	h.settle()
	wantOnce(t, h.ids(), 22)
	// copytruncate: the content is copied away and the file emptied
	write(4)
	h.settle()
	if err := os.Truncate(log, 0); err != nil {
		t.Fatal(err)
	}
	h.settle()
	write(3)
	h.settle()
	wantOnce(t, h.ids(), 29)
	if l := h.f.Losses(); l["reassembly_gaps"] != 0 || l["truncated"] != 1 {
		t.Fatalf("losses %v, want no gaps and one truncation", l)
	}
}

// A restart resumes at the saved position, also when the log was rotated
// while the agent was down.
func TestFollowerResumesAfterRestartAndRotation(t *testing.T) {
	evs := audittest.Events(t, datasets)
	dir := t.TempDir()
	log := filepath.Join(dir, "audit.log")
	pos := filepath.Join(dir, "position.json")
	cfg := FollowConfig{Path: log, PositionFile: pos, Host: "h"}
	appendFile(t, log, audittest.Log(evs, 1, 1700000000, 6))
	h := newHarness(t, cfg)
	h.settle()
	h.stop()
	wantOnce(t, h.ids(), 6)

	appendFile(t, log, audittest.Log(evs, 7, 1700000100, 4))
	h2 := newHarness(t, cfg)
	h2.settle()
	h2.stop()
	wantOnce(t, h2.ids(), 4)

	// Down: more events, a rotation, events in the new file.
	appendFile(t, log, audittest.Log(evs, 11, 1700000200, 2))
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, log, audittest.Log(evs, 13, 1700000300, 3))
	h3 := newHarness(t, cfg)
	h3.settle()
	wantOnce(t, h3.ids(), 5)
	all := h.ids()
	for id := range h2.ids() {
		all[id]++
	}
	for id := range h3.ids() {
		all[id]++
	}
	wantOnce(t, all, 15)
}

// A serial missing from the log is counted as a gap; an event that comes
// late fills the gap it left.
func TestFollowerCountsSequenceGaps(t *testing.T) {
	evs := audittest.Events(t, datasets)
	dir := t.TempDir()
	log := filepath.Join(dir, "audit.log")
	appendFile(t, log, audittest.Log(evs, 1, 1700000000, 3)+audittest.Log(evs, 10, 1700000001, 2)+audittest.Log(evs, 5, 1700000002, 1))
	h := newHarness(t, FollowConfig{Path: log})
	h.settle()
	// serials 1-3, 10-11 and a late 5: 4 and 6-9 never came
	if got := h.f.Losses()["reassembly_gaps"]; got != 5 {
		t.Fatalf("gaps = %d, want 5", got)
	}
}

// A chunk cut short by the agent stopping (Group returns at its next
// check of ctx) is not passed over: the read position stays before it and
// the flush at the stop hands over every event in it.
func TestStopMidChunkLosesNothing(t *testing.T) {
	seen := map[string]bool{}
	g := newGrouper("h", func(e source.Event) { seen[e["_id"].(string)] = true })
	var text strings.Builder
	const events = 1500 // more than Group reads between its looks at ctx
	for i := 1; i <= events; i++ {
		fmt.Fprintf(&text, "type=USER_CMD msg=audit(1700000000.%03d:%d): pid=%d uid=0 auid=0 ses=1 msg='cwd=\"/\" cmd=6C73 exe=\"/usr/bin/sudo\" terminal=pts/0 res=success'\n", i%1000, i, i)
	}
	var end int64
	for _, l := range strings.SplitAfter(text.String(), "\n") {
		if l == "" {
			continue
		}
		end += int64(len(l))
		g.line(context.Background(), []byte(strings.TrimSuffix(l, "\n")), end)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g.flush(ctx, true) // the poll that was under way when the agent stopped
	if g.safe == end && len(seen) < events {
		t.Fatalf("read position moved to the end with %d of %d events handed over", len(seen), events)
	}
	g.flush(context.Background(), true) // Run's last flush
	if len(seen) != events || g.safe != end {
		t.Fatalf("%d of %d events handed over, position %d of %d", len(seen), events, g.safe, end)
	}
}
