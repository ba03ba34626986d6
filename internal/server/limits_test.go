package server

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/spoor-dev/spoor/internal/auth"
)

// Queries beyond the limit wait, then get 429 with Retry-After; the slot
// frees when the running one ends.
func TestQuerySlotsAnswer429(t *testing.T) {
	s := &Server{opts: Options{QueueWait: 50 * time.Millisecond}}
	slots := newFairSlots(1, 1)
	release := make(chan struct{})
	started := make(chan struct{})
	h := s.slot(slots, http.StatusTooManyRequests, "too many queries at once", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	})
	req := func() *http.Request {
		r := httptest.NewRequest("POST", "/", nil)
		return r.WithContext(context.WithValue(r.Context(), ctxKey{}, auth.Token{Org: "orgA"}))
	}
	first := make(chan struct{})
	go func() {
		defer close(first)
		h(httptest.NewRecorder(), req())
	}()
	<-started
	rec := httptest.NewRecorder()
	h(rec, req())
	if rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("second query: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	close(release)
	<-first // the first query has ended and released its slot
	ok := s.slot(slots, 429, "x", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	rec = httptest.NewRecorder()
	ok(rec, req())
	if rec.Code != 204 {
		t.Errorf("after the first ended: %d", rec.Code)
	}
}

// When the head is too far ahead of the flushes, ingest answers 503 with
// Retry-After, and accepts again once the flush it asked for caught up.
func TestIngestBackpressure(t *testing.T) {
	f := start(t, Options{MaxHeadEvents: 5, FlushEvery: time.Hour})
	if code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, events(10, "x")); code != 200 {
		t.Fatalf("first batch: %d %s", code, body)
	}
	if code, retry := retryAfter(t, f.url+"/api/v1/events", f.ingestA, events(1, "x")); code != 503 || retry == "" {
		t.Fatalf("over the head limit: %d, Retry-After %q", code, retry)
	}
	// The 503 asked for a flush (FlushEvery is an hour: no other comes);
	// wait for it on the lake (a flush of 10 events takes milliseconds: the
	// bound only ends a wait for one never asked for), then one more batch
	// must be taken.
	for waited := time.Duration(0); f.db.Lake.Stats().HeadEvents > 5; waited += 10 * time.Millisecond {
		if waited > time.Minute {
			t.Fatal("the flush the 503 asked for never came")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, events(1, "x")); code != 200 {
		t.Fatalf("after the flush caught up: %d %s", code, body)
	}
}

// Bad requests get a clear 4xx and the server keeps serving others.
func TestHostileRequests(t *testing.T) {
	f := start(t, Options{ReadHeaderTimeout: 300 * time.Millisecond})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(events(200, "x"))
	zw.Close()
	truncated := gz.Bytes()[:gz.Len()/2]
	if code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, truncated, "Content-Encoding", "gzip"); code != 400 || !strings.Contains(string(body), "gzip") {
		t.Errorf("truncated gzip: %d %s", code, body)
	}
	if code, _ := call(t, "POST", f.url+"/api/v1/events", f.ingestA, []byte("x"), "Content-Encoding", "br"); code != 400 {
		t.Errorf("unknown encoding: %d", code)
	}
	if code, _ := call(t, "POST", f.url+"/api/v1/search", f.analystA, []byte("<html>"), "Content-Type", "text/html"); code != 400 {
		t.Errorf("HTML search body: %d", code)
	}
	if code, _ := call(t, "GET", f.url+"/api/v1/search", f.analystA, nil, "X-Huge", strings.Repeat("a", 200<<10)); code != 431 {
		t.Errorf("huge header: %d, want 431", code)
	}
	// A slowloris client is dropped; others are served meanwhile.
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("POST /api/v1/events HTTP/1.1\r\nHost: x\r\n"))
	if code, _ := call(t, "GET", f.url+"/healthz", "", nil); code != 200 {
		t.Errorf("server not serving others during a slow client: %d", code)
	}
	// The server drops it after ReadHeaderTimeout (300 ms); the deadline
	// only ends a wait for a server that never does.
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := bufio.NewReader(conn).ReadString('\n'); err == nil {
		// net/http may answer 408 before closing; either way the connection ends.
		if _, err := bufio.NewReader(conn).ReadString('\n'); err == nil {
			t.Errorf("slow client still connected")
		}
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("slow client not dropped within a minute")
	}
}

func TestBatchEventLimit(t *testing.T) {
	f := start(t, Options{MaxBatchEvents: 10})
	if code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, events(11, "x")); code != 413 || !strings.Contains(string(body), "limit 10") {
		t.Errorf("11 events over a limit of 10: %d %s", code, body)
	}
	if code, _ := call(t, "POST", f.url+"/api/v1/events", f.ingestA, events(10, "x")); code != 200 {
		t.Errorf("10 events at a limit of 10: %d", code)
	}
}
