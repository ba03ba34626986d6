package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2020, 2, 14, 10, 0, 0, 0, time.UTC)

func hit(rule, group string, id int, at time.Duration) Hit {
	return Hit{Rule: rule, Kind: "native", Title: rule, Severity: 1, GroupKey: group, Window: time.Hour, Threshold: 1,
		EventID: fmt.Sprintf("e%d", id), EventTime: t0.Add(at).UnixMilli(), Hostname: "h-" + group}
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, func() time.Time { return t0.Add(24 * time.Hour) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A noisy rule makes one alert per group and window with a count; the
// same events observed again (a batch re-sent after a crash) count once,
// also after the store is reopened.
func TestAggregationAndIdempotence(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	var hits []Hit
	for i := range 1000 {
		hits = append(hits, hit("noisy", "a", i, time.Duration(i)*time.Second)) // within the hour
	}
	hits = append(hits, hit("noisy", "b", 5000, 0), hit("noisy", "a", 6000, 2*time.Hour)) // another group; a later window
	opened, err := s.Observe("o", hits)
	if err != nil {
		t.Fatal(err)
	}
	if len(opened) != 3 {
		t.Fatalf("%d alerts opened, want 3", len(opened))
	}
	if _, err := s.Observe("o", hits[:500]); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir)
	if _, err := s.Observe("o", hits[250:750]); err != nil {
		t.Fatal(err)
	}
	list, _ := s.List("o")
	counts := map[string]int64{}
	for _, a := range list {
		counts[a.GroupKey+fmt.Sprint(a.FirstTime == t0.UnixMilli())] += a.Count
		if len(a.EventIDs) > MaxSampleIDs {
			t.Errorf("alert lists %d ids", len(a.EventIDs))
		}
	}
	if len(list) != 3 || counts["atrue"] != 1000 || counts["btrue"] != 1 || counts["afalse"] != 1 {
		t.Fatalf("alerts %d, counts %v", len(list), counts)
	}
	if other, _ := s.List("p"); len(other) != 0 {
		t.Errorf("organization p sees %d alerts", len(other))
	}
}

// An alert opens when its hits reach the threshold, not before.
func TestThreshold(t *testing.T) {
	s := open(t, t.TempDir())
	h := hit("brute", "x", 1, 0)
	h.Threshold = 3
	for i := range 2 {
		h.EventID = fmt.Sprint("t", i)
		if opened, _ := s.Observe("o", []Hit{h}); len(opened) != 0 {
			t.Fatalf("opened after %d hits", i+1)
		}
	}
	h.EventID = "t2"
	opened, _ := s.Observe("o", []Hit{h})
	if len(opened) != 1 || opened[0].Count != 3 || opened[0].Status != StatusOpen {
		t.Fatalf("at the threshold: %+v", opened)
	}
}

// Dismissed alerts stay, reopened stores know them, a torn last line is
// cut, and alerts past the retention are dropped.
func TestDismissTornLineRetention(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	opened, _ := s.Observe("o", []Hit{hit("r", "a", 1, 0)})
	if _, err := s.Dismiss("o", opened[0].ID, "ana", "benign backup job"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dismiss("o", "nope", "ana", ""); err != ErrNotFound {
		t.Errorf("dismiss of an unknown alert: %v", err)
	}
	s.Close()
	j := filepath.Join(dir, "alerts", "organization_id=o", "alerts.ndjson")
	f, _ := os.OpenFile(j, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"alert":{"alert_id":"torn"`)
	f.Close()
	s = open(t, dir)
	a, err := s.Get("o", opened[0].ID)
	if err != nil || a.Status != StatusDismissed || a.Reason != "benign backup job" {
		t.Fatalf("after reopen: %+v %v", a, err)
	}
	if _, err := s.Observe("o", []Hit{hit("r", "a", 2, time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(j); json.Valid([]byte(lastLine(b))) == false {
		t.Errorf("journal's last line is not JSON after the torn line: %q", lastLine(b))
	}
	s.Close()
	old, err := Open(dir, func() time.Time { return t0.Add(400 * 24 * time.Hour) })
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if l, _ := old.List("o"); len(l) != 0 {
		t.Errorf("%d alerts kept past 365 days", len(l))
	}
}

func lastLine(b []byte) string {
	s := string(b)
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}

// The webhook retries until the receiver takes the alert, then marks it
// delivered; an undelivered alert goes out again after a restart.
func TestWebhookRetriesAndResends(t *testing.T) {
	var calls, ok atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a Alert
		if calls.Add(1) <= 2 || json.NewDecoder(r.Body).Decode(&a) != nil || a.Rule != "r" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		ok.Add(1)
	}))
	defer srv.Close()
	dir := t.TempDir()
	s := open(t, dir)
	opened, _ := s.Observe("o", []Hit{hit("r", "a", 1, 0)})
	// A first run whose receiver is down does not deliver it.
	ctx, cancel := context.WithCancel(context.Background())
	down := NewWebhook("http://127.0.0.1:1/", s, nil)
	down.Backoff = 10 * time.Millisecond
	go down.Run(ctx)
	time.Sleep(50 * time.Millisecond)
	cancel()
	if a, _ := s.Get("o", opened[0].ID); a.Notified {
		t.Fatal("marked delivered while the receiver was down")
	}
	// After a restart, the next run sends it again and retries through
	// the receiver's two failures.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	w := NewWebhook(srv.URL, s, nil)
	w.Backoff = 10 * time.Millisecond
	go w.Run(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for ok.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for time.Now().Before(deadline) {
		if a, _ := s.Get("o", opened[0].ID); a.Notified {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if a, _ := s.Get("o", opened[0].ID); !a.Notified || calls.Load() < 3 || ok.Load() != 1 {
		t.Fatalf("calls %d, delivered %d, notified %v", calls.Load(), ok.Load(), a.Notified)
	}
}

// Dismissing a dismissed alert keeps the first dismissal (who and why) and
// says so; the journal gains no line.
func TestDismissTwiceKeepsTheFirst(t *testing.T) {
	s := open(t, t.TempDir())
	opened, _ := s.Observe("o", []Hit{hit("r", "a", 1, 0)})
	if _, err := s.Dismiss("o", opened[0].ID, "ana", "backup job"); err != nil {
		t.Fatal(err)
	}
	a, err := s.Dismiss("o", opened[0].ID, "bob", "other reason")
	if !errors.Is(err, ErrDismissed) || a.DismissedBy != "ana" || a.Reason != "backup job" {
		t.Errorf("second dismissal: %+v, %v; want ErrDismissed and ana's reason kept", a, err)
	}
}

// Opening the store reads no journal: a command that reads no alerts pays
// nothing for a large one. An organization's journal is read at its first
// use, and the webhook's resend after a restart reads them all.
func TestJournalsReadAtFirstUse(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	opened, err := s.Observe("o", []Hit{hit("r", "a", 1, 0)})
	if err != nil || len(opened) != 1 {
		t.Fatalf("observe: %v %v", opened, err)
	}
	s.Close()
	// Another organization's journal that cannot be read (a directory
	// where the file should be) fails only what reads it.
	bad := filepath.Join(dir, "alerts", "organization_id=bad", "alerts.ndjson")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	if err := s.Load("o"); err != nil {
		t.Fatalf("load o: %v", err)
	}
	if a, err := s.Get("o", opened[0].ID); err != nil || a.Count != 1 {
		t.Errorf("get after a lazy load: %+v %v", a, err)
	}
	if err := s.Load("bad"); err == nil {
		t.Error("an unreadable journal loaded")
	}
	if un, err := s.Unnotified(); err == nil || len(un) != 1 {
		t.Errorf("unnotified with an unreadable journal beside: %v, %v; want the readable one's alert and an error", un, err)
	}
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	if un, err := s.Unnotified(); err != nil || len(un) != 1 || un[0].ID != opened[0].ID {
		t.Errorf("unnotified after a restart: %v %v", un, err)
	}
}
