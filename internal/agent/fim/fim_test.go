package fim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/spoor-dev/spoor/internal/agent/source"
)

// harness runs a Source on a temporary tree with real inotify.
type harness struct {
	t      *testing.T
	root   string // where settled() writes its markers: watched
	cfg    Config
	src    *Source
	r      *run
	events chan source.Event
	cancel context.CancelFunc
	done   chan error
	marks  int
}

func newHarness(t *testing.T, root, state string) *harness {
	t.Helper()
	return startHarness(t, root, Config{Paths: []string{root}, StateDir: state})
}

// startHarness runs a Source of cfg (a short settle, no periodic rescan
// unless cfg says otherwise).
func startHarness(t *testing.T, root string, cfg Config) *harness {
	t.Helper()
	if cfg.Settle == 0 {
		cfg.Settle = 40 * time.Millisecond
	}
	if cfg.Rescan == 0 {
		cfg.Rescan = -1
	}
	h := &harness{t: t, root: root, cfg: cfg, events: make(chan source.Event, 1024)}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) start() {
	h.t.Helper()
	h.src = New(h.cfg)
	h.src.scanned = make(chan *run, 16)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.src.Run(ctx, func(e source.Event) { h.events <- e }) }()
	select {
	case h.r = <-h.src.scanned:
	case err := <-h.done:
		h.t.Fatalf("fim stopped before its first scan: %v", err)
	case <-time.After(20 * time.Second):
		h.t.Fatal("no first scan within 20s")
	}
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Errorf("Run: %v", err)
	}
	h.cancel = nil
}

// next returns the next event, failing after a generous deadline.
func (h *harness) next() source.Event {
	h.t.Helper()
	select {
	case e := <-h.events:
		return e
	case <-time.After(20 * time.Second):
		h.t.Fatal("no fim event within 20s")
		return nil
	}
}

// settled asserts no event other than want is pending: it creates a marker
// file and reads events until the marker's, so whatever the operations
// before it caused has been delivered by then.
func (h *harness) settled(want ...source.Event) {
	h.t.Helper()
	h.marks++
	mark := filepath.Join(h.root, "zz-mark-"+string(rune('a'+h.marks)))
	if err := os.WriteFile(mark, nil, 0o600); err != nil {
		h.t.Fatal(err)
	}
	for {
		e := h.next()
		if pathOf(e) == mark {
			return
		}
		h.t.Errorf("unexpected event %v", e)
	}
}

func pathOf(e source.Event) string {
	if p, ok := e["path"].([]string); ok && len(p) == 1 {
		return p[0]
	}
	return ""
}

func sum(b string) string {
	s := sha256.Sum256([]byte(b))
	return hex.EncodeToString(s[:])
}

// check asserts e's fields equal want's (and only those are checked).
func check(t *testing.T, e source.Event, want map[string]any) {
	t.Helper()
	for k, v := range want {
		got := e[k]
		if gs, ok := got.([]string); ok {
			got = strings.Join(gs, ",")
		}
		if got != v {
			t.Errorf("%s = %#v, want %#v (event %v)", k, e[k], v, e)
		}
	}
}

func write(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func TestEvents(t *testing.T) {
	root := t.TempDir()
	kept := filepath.Join(root, "kept")
	write(t, kept, "v1", 0o644)
	h := newHarness(t, root, t.TempDir())
	uid := int64(os.Getuid())

	p := filepath.Join(root, "new.conf")
	write(t, p, "hello", 0o640)
	e := h.next()
	check(t, e, map[string]any{"event_type": "file", "action": "create", "path": p, "filename": "new.conf",
		"file_type": "file", "size": int64(5), "mode": "0640", "uid": uid, "sha256": sum("hello"),
		"detected_by": "inotify"})
	if _, ok := e["_id"].(string); !ok {
		t.Errorf("no _id: %v", e)
	}
	h.settled()

	write(t, kept, "version two", 0o644)
	check(t, h.next(), map[string]any{"action": "modify", "path": kept, "sha256": sum("version two"),
		"previous_sha256": sum("v1"), "size": int64(11), "previous_size": int64(2)})
	h.settled()

	if err := os.Chmod(kept, 0o600); err != nil {
		t.Fatal(err)
	}
	check(t, h.next(), map[string]any{"action": "attrib", "path": kept, "mode": "0600", "previous_mode": "0644",
		"sha256": sum("version two")})
	h.settled()

	if os.Getuid() == 0 {
		if err := os.Chown(kept, 1, 1); err != nil {
			t.Fatal(err)
		}
		check(t, h.next(), map[string]any{"action": "attrib", "path": kept, "uid": int64(1), "gid": int64(1),
			"previous_uid": int64(0), "previous_gid": int64(0)})
		h.settled()
	}

	moved := filepath.Join(root, "renamed.conf")
	if err := os.Rename(p, moved); err != nil {
		t.Fatal(err)
	}
	check(t, h.next(), map[string]any{"action": "rename", "path": moved, "old_path": p, "sha256": sum("hello")})
	h.settled()

	if err := os.Remove(moved); err != nil {
		t.Fatal(err)
	}
	check(t, h.next(), map[string]any{"action": "delete", "path": moved, "sha256": sum("hello"), "size": int64(5)})
	h.settled()

	// An attribute change without a content or mode change (touch) says nothing.
	now := time.Now().Add(time.Hour)
	if err := os.Chtimes(kept, now, now); err != nil {
		t.Fatal(err)
	}
	h.settled()
}

func TestNewSubdirectoriesAreWatched(t *testing.T) {
	root := t.TempDir()
	h := newHarness(t, root, t.TempDir())
	sub := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	// Written before the agent can have watched b: found by reading b.
	early := filepath.Join(sub, "early")
	write(t, early, "x", 0o644)
	got := map[string]string{}
	for len(got) < 3 {
		e := h.next()
		got[pathOf(e)] = e["action"].(string) + " " + e["file_type"].(string)
	}
	want := map[string]string{filepath.Join(root, "a"): "create dir", sub: "create dir", early: "create file"}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: %q, want %q", p, got[p], w)
		}
	}
	h.settled()
	late := filepath.Join(sub, "late")
	write(t, late, "y", 0o644)
	check(t, h.next(), map[string]any{"action": "create", "path": late, "detected_by": "inotify"})
	h.settled()
}

func TestRenameDirectory(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "d", "f"), "f", 0o644)
	h := newHarness(t, root, t.TempDir())
	if err := os.Rename(filepath.Join(root, "d"), filepath.Join(root, "e")); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for len(got) < 2 {
		e := h.next()
		check(t, e, map[string]any{"action": "rename"})
		got[pathOf(e)], _ = e["old_path"].(string)
	}
	if got[filepath.Join(root, "e")] != filepath.Join(root, "d") || got[filepath.Join(root, "e", "f")] != filepath.Join(root, "d", "f") {
		t.Errorf("renames %v", got)
	}
	h.settled()
	// The renamed directory is still watched under its new name.
	g := filepath.Join(root, "e", "g")
	write(t, g, "g", 0o644)
	check(t, h.next(), map[string]any{"action": "create", "path": g})
	h.settled()
}

func TestRestartFindsChangesMadeWhileStopped(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	a, b, c := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "c")
	write(t, a, "a1", 0o644)
	write(t, b, "b1", 0o644)
	h := newHarness(t, root, state)
	h.settled() // the first start builds the baseline without events
	h.stop()

	write(t, a, "a2", 0o644)
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	write(t, c, "c1", 0o644)
	h.start()
	got := map[string]source.Event{}
	for len(got) < 3 {
		e := h.next()
		got[pathOf(e)] = e
	}
	check(t, got[a], map[string]any{"action": "modify", "sha256": sum("a2"), "previous_sha256": sum("a1"), "detected_by": "start"})
	check(t, got[b], map[string]any{"action": "delete", "sha256": sum("b1"), "detected_by": "start"})
	check(t, got[c], map[string]any{"action": "create", "sha256": sum("c1"), "detected_by": "start"})
	h.settled()

	// A restart with nothing changed finds nothing.
	h.stop()
	h.start()
	h.settled()
}

func TestOverflowRescan(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(sub, "f")
	write(t, f, "before", 0o644)
	h := newHarness(t, root, t.TempDir())
	// inotify misses the next write: sub's watch is gone, as events are
	// when the kernel's queue overflows.
	if err := h.r.w.Remove(sub); err != nil {
		t.Fatal(err)
	}
	write(t, f, "after", 0o644)
	h.settled()
	h.r.w.Errors <- fsnotify.ErrEventOverflow
	check(t, h.next(), map[string]any{"action": "modify", "path": f, "sha256": sum("after"),
		"previous_sha256": sum("before"), "detected_by": "rescan"})
	if n := h.src.Losses()[LossOverflow]; n != 1 {
		t.Errorf("losses %v, want %s 1", h.src.Losses(), LossOverflow)
	}
	h.settled()
	// The rescan watched sub again.
	g := filepath.Join(sub, "g")
	write(t, g, "g", 0o644)
	check(t, h.next(), map[string]any{"action": "create", "path": g, "detected_by": "inotify"})
	h.settled()
}

func TestHashLimit(t *testing.T) {
	root := t.TempDir()
	h := startHarness(t, root, Config{Paths: []string{root}, StateDir: t.TempDir(), MaxHashBytes: 4})
	big := filepath.Join(root, "big")
	write(t, big, "more than four bytes", 0o644)
	e := h.next()
	check(t, e, map[string]any{"action": "create", "path": big, "hash_skipped": "size_limit", "size": int64(20)})
	if _, ok := e["sha256"]; ok {
		t.Errorf("a file over the limit was hashed: %v", e)
	}
	h.settled()
}

func TestIDIsDeterministic(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "f")
	write(t, p, "x", 0o644)
	r := &run{Source: New(Config{StateDir: t.TempDir()}), owners: newOwners()}
	cur, ok := r.observe(p, nil)
	if !ok {
		t.Fatal("observe")
	}
	a := r.event(ActionCreate, p, &cur, nil, ByInotify)
	b := r.event(ActionCreate, p, &cur, nil, ByStart)
	if a["_id"] != b["_id"] {
		t.Errorf("the same observation has two _ids: %v %v", a["_id"], b["_id"])
	}
	if c := r.event(ActionModify, p, &cur, nil, ByInotify); c["_id"] == a["_id"] {
		t.Error("two actions share an _id")
	}
}

// A watched path that does not exist at the first start (a user's ~/.ssh)
// is reported when it appears, not silently taken as the baseline.
func TestPathAppearingLaterIsReported(t *testing.T) {
	root := t.TempDir()
	watched := filepath.Join(root, "watched")
	if err := os.Mkdir(watched, 0o755); err != nil {
		t.Fatal(err)
	}
	h := startHarness(t, watched, Config{Paths: []string{watched, filepath.Join(root, "home", "*", ".ssh")}, StateDir: t.TempDir()})
	keys := filepath.Join(root, "home", "bob", ".ssh", "authorized_keys")
	if err := os.MkdirAll(filepath.Dir(keys), 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, keys, "ssh-ed25519 AAAA attacker", 0o600)
	h.src.rescan <- struct{}{}
	got := map[string]string{}
	for len(got) < 2 {
		e := h.next()
		got[pathOf(e)] = e["action"].(string) + " " + e["detected_by"].(string)
	}
	if got[keys] != "create rescan" || got[filepath.Dir(keys)] != "create rescan" {
		t.Errorf("events %v", got)
	}
	h.settled()
}
