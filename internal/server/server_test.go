package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"
	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/auth"
	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/detect"
	"github.com/spoor-dev/spoor/internal/rules"
)

type fixture struct {
	url                         string
	dir                         string      // the data directory
	db                          *datadir.DB // the server's, for flushes and checks
	srv                         *Server     // for tests that watch its slots
	ingestA, analystA, analystB string
	adminA, adminB              string
	// stop ends the server as SIGTERM does and returns what Run returned;
	// close then closes the data directory as spoor serve does. The
	// test's cleanup calls both.
	stop  func() error
	close func() error
}

// webhookURL, when set, is where the next started server posts new alerts.
var webhookURL string

// queryTimeout, when set, bounds the queries of the next started server.
var queryTimeout time.Duration

// start runs a real server on 127.0.0.1 over a fresh data dir.
func start(t *testing.T, opts Options) fixture {
	t.Helper()
	return startWith(t, datadir.Options{}, opts)
}

// startWith is start with the data directory's options (engine limits).
func startWith(t *testing.T, dopts datadir.Options, opts Options) fixture {
	t.Helper()
	return startIn(t, t.TempDir(), dopts, opts)
}

// startIn is startWith over the data directory dir.
func startIn(t *testing.T, dir string, dopts datadir.Options, opts Options) fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if dopts.Timeout == 0 {
		dopts.Timeout = queryTimeout
	}
	db, err := datadir.Open(ctx, dir, dopts)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.Open(filepath.Join(dir, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	mk := func(org string, role auth.Role) string {
		s, _, err := tokens.Create(org, role, "test")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	f := fixture{dir: dir, db: db, ingestA: mk("orgA", auth.Ingest), analystA: mk("orgA", auth.Analyst), analystB: mk("orgB", auth.Analyst), adminA: mk("orgA", auth.Admin), adminB: mk("orgB", auth.Admin)}
	opts.Listen = "127.0.0.1:0"
	// Detection is on, with the default rules, as `spoor serve` runs.
	rulesDir, err := rules.OpenDir(filepath.Join(dir, "rules"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Rules = rulesDir
	var hook *alert.Webhook
	if webhookURL != "" {
		hook = alert.NewWebhook(webhookURL, db.Alerts, nil)
		hook.Backoff = 20 * time.Millisecond
		go hook.Run(ctx)
	}
	opts.Detector = detect.New(rulesDir, db.Alerts, hook, nil)
	go opts.Detector.Watch(ctx) // as spoor serve does
	srv := New(db, tokens, opts)
	f.srv = srv
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func(a string) { addr <- a }) }()
	select {
	case a := <-addr:
		f.url = "http://" + a
	case err := <-done:
		t.Fatal(err)
	}
	var once sync.Once
	var runErr error
	f.stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	var closeOnce sync.Once
	var closeErr error
	f.close = func() error {
		closeOnce.Do(func() { closeErr = db.CloseUnflushed() })
		return closeErr
	}
	t.Cleanup(func() {
		if err := f.stop(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := f.close(); err != nil {
			t.Errorf("close the data directory: %v", err)
		}
	})
	return f
}

func call(t *testing.T, method, url, token string, body []byte, hdr ...string) (int, []byte) {
	t.Helper()
	resp, b := callResp(t, method, url, token, body, hdr...)
	return resp.StatusCode, b
}

func events(n int, org string) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"_id":"e-%d","organization_id":%q,"agent_id":"agent-1","event_time":%d,"event_type":"audit","exe":"/usr/bin/curl","user":"root"}`+"\n",
			i, org, 1600362902289+int64(i)*1000)
	}
	return b.Bytes()
}

func countLines(b []byte) int { return len(strings.Split(strings.TrimSpace(string(b)), "\n")) }

// Ingested events are durable when acknowledged and searchable at once,
// by their own organization only, whatever organization the events claim.
func TestIngestThenSearchScopedToOrg(t *testing.T) {
	f := start(t, Options{})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(events(50, "orgB")) // claims orgB: lands in the token's orgA (a bytes.Buffer takes every write)
	zw.Write([]byte("{not json\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, gz.Bytes(), "Content-Encoding", "gzip")
	if code != 200 {
		t.Fatalf("ingest: %d %s", code, body)
	}
	var ans ingestAnswer
	json.Unmarshal(body, &ans)
	if ans.Accepted != 50 || ans.Rejected != 1 || len(ans.Rejections) != 1 || ans.Rejections[0].Line != 51 {
		t.Fatalf("ingest answer %s", body)
	}
	q := []byte(`{"query": "exe = \"/usr/bin/curl\" AND user = \"root\""}`)
	code, body = call(t, "POST", f.url+"/api/v1/search", f.analystA, q)
	if code != 200 || countLines(body) != 50 {
		t.Fatalf("orgA search: %d, %d lines", code, countLines(body))
	}
	var first map[string]any
	json.Unmarshal(bytes.SplitN(body, []byte("\n"), 2)[0], &first)
	if first["organization_id"] != "orgA" {
		t.Errorf("event stored in %v, want the token's orgA", first["organization_id"])
	}
	code, body = call(t, "POST", f.url+"/api/v1/search", f.analystB, q)
	if code != 200 || len(bytes.TrimSpace(body)) != 0 {
		t.Fatalf("orgB sees orgA's events: %d %s", code, body)
	}
	code, body = call(t, "POST", f.url+"/api/v1/sql?format=csv", f.adminB, []byte(`{"sql": "SELECT count(*) AS n FROM events"}`))
	if code != 200 || !strings.Contains(string(body), "n\n0\n") {
		t.Fatalf("orgB count: %d %q", code, body)
	}
	code, body = call(t, "POST", f.url+"/api/v1/sql", f.analystA, []byte(`{"sql": "SELECT count(*) AS n FROM events"}`), "Accept", "application/json")
	if code != 200 || !strings.Contains(string(body), `"n":50`) {
		t.Fatalf("orgA count: %d %s", code, body)
	}
	// GET, as pandas.read_csv(url, storage_options={"Authorization": ...}) sends it.
	code, body = call(t, "GET", f.url+"/api/v1/search?format=csv&fields=exe,user&limit=3&query="+url.QueryEscape(`user = "root"`), f.analystA, nil)
	if code != 200 || string(body) != "exe,user\n/usr/bin/curl,root\n/usr/bin/curl,root\n/usr/bin/curl,root\n" {
		t.Fatalf("GET search: %d %q", code, body)
	}
}

func TestJSONArrayBodyAndDuplicates(t *testing.T) {
	f := start(t, Options{})
	arr := []byte("[" + strings.Join(strings.Split(strings.TrimSpace(string(events(5, "x"))), "\n"), ",") + "]")
	for i, want := range []string{`"accepted":5,"duplicates":0`, `"accepted":0,"duplicates":5`} {
		code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, arr)
		if code != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("post %d: %d %s, want %s", i, code, body, want)
		}
	}
}

func TestAuthAndRoles(t *testing.T) {
	f := start(t, Options{MaxBodyBytes: 1 << 10})
	if code, _ := call(t, "GET", f.url+"/healthz", "", nil); code != 200 {
		t.Errorf("healthz without a token: %d", code)
	}
	q := []byte(`{"query": ""}`)
	for _, c := range []struct {
		method, path, token string
		body                []byte
		want                int
	}{
		{"POST", "/api/v1/search", "", q, 401},
		{"POST", "/api/v1/search", "spoor_forged", q, 401},
		{"POST", "/api/v1/search", f.ingestA, q, 403},
		{"POST", "/api/v1/events", f.analystA, events(1, "x"), 403},
		{"GET", "/readyz", "", nil, 401},
		{"POST", "/api/v1/events", f.ingestA, events(100, "x"), 413},
		{"POST", "/api/v1/search", f.analystA, []byte(`{"query": "event_type = "}`), 400},
		{"POST", "/api/v1/search", f.analystA, []byte(`{"bogus": 1}`), 400},
		{"POST", "/api/v1/sql", f.analystA, []byte(`{"sql": "SELECT * FROM read_csv('/etc/passwd')"}`), 400},
		{"POST", "/api/v1/sql", f.analystA, []byte(`{"sql": "ATTACH 'x.db'"}`), 400},
		{"POST", "/api/v1/events", f.ingestA, []byte("\x1f\x8b garbage"), 400},
	} {
		hdr := []string{}
		if strings.HasPrefix(string(c.body), "\x1f\x8b") {
			hdr = []string{"Content-Encoding", "gzip"}
		}
		code, body := call(t, c.method, f.url+c.path, c.token, c.body, hdr...)
		if code != c.want {
			t.Errorf("%s %s (%.20q): %d %s, want %d", c.method, c.path, c.token, code, body, c.want)
		}
		if code >= 400 && !json.Valid(body) {
			t.Errorf("%s %s: error body is not JSON: %s", c.method, c.path, body)
		}
	}
	code, body := call(t, "POST", f.url+"/api/v1/search", f.analystA, []byte(`{"query": "event_type = "}`))
	var e apiError
	json.Unmarshal(body, &e)
	if code != 400 || e.Position != "1:14" {
		t.Errorf("bad query answer %d %s, want the position 1:14", code, body)
	}
}

// Graceful shutdown flushes the head: events acknowledged just before are in
// parts afterwards.
func TestShutdownFlushesHead(t *testing.T) {
	f := start(t, Options{FlushEvery: time.Hour})
	if code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, events(20, "x")); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if n := len(f.db.Lake.Parts("orgA", 0, 1<<62)); n != 0 {
		t.Fatalf("%d parts before shutdown, want 0 (events in the head)", n)
	}
	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(f.db.Lake.Parts("orgA", 0, 1<<62)); n == 0 {
		t.Errorf("no parts after shutdown: the head was not flushed")
	}
}

// Every endpoint, with a token of each role of another organization, and of
// the owner: nothing of orgA reaches orgB, not even in an error.
func TestCrossOrganizationMatrix(t *testing.T) {
	f := start(t, Options{})
	if code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, events(10, "orgA")); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	secret := []string{"e-3", "agent-1", "/usr/bin/curl", "orgA"}
	type ep struct {
		method, path string
		body         []byte
	}
	eps := []ep{
		{"POST", "/api/v1/search", []byte(`{"query": "agent_id = \"agent-1\""}`)},
		{"GET", "/api/v1/search?query=" + url.QueryEscape(`exe = "/usr/bin/curl"`), nil},
		{"POST", "/api/v1/sql", []byte(`{"sql": "SELECT * FROM events"}`)},
		{"GET", "/api/v1/sql?sql=" + url.QueryEscape("SELECT organization_id, count(*) FROM events GROUP BY 1"), nil},
		{"POST", "/api/v1/sql", []byte(`{"sql": "SELECT * FROM read_parquet('lake/events/organization_id=orgA/*/*.parquet')"}`)},
		{"GET", "/api/v1/events/e-3", nil},
		{"GET", "/readyz", nil},
	}
	for _, tok := range []string{f.analystB, f.adminB} {
		for _, e := range eps {
			code, body := call(t, e.method, f.url+e.path, tok, e.body)
			for _, s := range secret {
				if strings.Contains(string(body), s) && !strings.Contains(e.path, url.QueryEscape(s)) {
					t.Errorf("orgB %s %s (%d) leaks %q: %s", e.method, e.path, code, s, body)
				}
			}
			if code >= 500 {
				t.Errorf("orgB %s %s: %d", e.method, e.path, code)
			}
		}
	}
	// The owner sees its event; the other organization gets 404 for it.
	code, body := call(t, "GET", f.url+"/api/v1/events/e-3", f.analystA, nil)
	if code != 200 || !strings.Contains(string(body), `"_id":"e-3"`) {
		t.Errorf("owner GET event: %d %s", code, body)
	}
	if code, _ := call(t, "GET", f.url+"/api/v1/events/e-3", f.analystB, nil); code != 404 {
		t.Errorf("other org GET event: %d, want 404", code)
	}
	if code, _ := call(t, "GET", f.url+"/api/v1/events/e-3", f.ingestA, nil); code != 403 {
		t.Errorf("ingest token GET event: %d, want 403", code)
	}
}

func TestMetrics(t *testing.T) {
	f := start(t, Options{})
	call(t, "POST", f.url+"/api/v1/events", f.ingestA, append(events(7, "x"), []byte("{bad\n")...))
	call(t, "POST", f.url+"/api/v1/search", f.analystA, []byte(`{"query": ""}`))
	if code, _ := call(t, "GET", f.url+"/metrics", "", nil); code != 401 {
		t.Errorf("metrics without a token: %d, want 401", code)
	}
	code, body := call(t, "GET", f.url+"/metrics", f.analystA, nil)
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		"spoor_ingested_events_total 7", `spoor_rejected_events_total{reason="malformed JSON"} 1`,
		"spoor_head_events 7", `spoor_query_seconds_count{kind="search"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(string(body), "spoor_wal_bytes") {
		t.Errorf("a tenant sees the shared WAL size")
	}
	// Another organization sees none of orgA's counts.
	_, body = call(t, "GET", f.url+"/metrics", f.analystB, nil)
	if !strings.Contains(string(body), "spoor_ingested_events_total 0") || !strings.Contains(string(body), "spoor_head_events 0") {
		t.Errorf("orgB's metrics show orgA's counts:\n%s", body)
	}
}

// A search pages through its results with the cursor of each page's trailer:
// every event once, in order, newest first too.
func TestSearchCursorPaging(t *testing.T) {
	f := start(t, Options{})
	if code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, events(25, "x")); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	for _, desc := range []bool{false, true} {
		var got []string
		cursor := ""
		for page := 0; ; page++ {
			req, err := json.Marshal(map[string]any{"query": `user = "root"`, "fields": []string{"_id"}, "limit": 10, "cursor": cursor, "desc": desc})
			if err != nil {
				t.Fatal(err)
			}
			hreq, err := http.NewRequest("POST", f.url+"/api/v1/search?format=csv", bytes.NewReader(req))
			if err != nil {
				t.Fatal(err)
			}
			hreq.Header.Set("Authorization", "Bearer "+f.analystA)
			resp, err := http.DefaultClient.Do(hreq)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			rows := strings.Split(strings.TrimSpace(string(body)), "\n")[1:]
			got = append(got, rows...)
			cursor = resp.Trailer.Get("Spoor-Next-Cursor")
			if cursor == "" {
				break
			}
			if page > 5 {
				t.Fatal("paging does not end")
			}
		}
		if len(got) != 25 {
			t.Fatalf("desc %v: %d events over the pages, want 25: %v", desc, len(got), got)
		}
		first, last := "e-0", "e-24"
		if desc {
			first, last = last, first
		}
		if got[0] != first || got[24] != last {
			t.Errorf("desc %v: order %s ... %s", desc, got[0], got[24])
		}
		seen := map[string]bool{}
		for _, id := range got {
			if seen[id] {
				t.Errorf("%s twice", id)
			}
			seen[id] = true
		}
	}
	code, _ := call(t, "POST", f.url+"/api/v1/search", f.analystA, []byte(`{"query": "", "cursor": "garbage!"}`))
	if code != 400 {
		t.Errorf("bad cursor: %d, want 400", code)
	}
}

// Answers as Parquet: a file DuckDB reads back with the same rows.
func TestParquetAnswers(t *testing.T) {
	f := start(t, Options{})
	call(t, "POST", f.url+"/api/v1/events", f.ingestA, events(12, "x"))
	for _, c := range []struct{ path, body string }{
		{"/api/v1/sql?format=parquet", `{"sql": "SELECT \"_id\", exe FROM events ORDER BY 1 -- a comment"}`},
		{"/api/v1/search?format=parquet", `{"query": "user = \"root\"", "fields": ["_id", "exe"]}`},
		{"/api/v1/search?format=parquet", `{"query": "user = \"root\""}`},
	} {
		code, body := call(t, "POST", f.url+c.path, f.analystA, []byte(c.body))
		if code != 200 || !bytes.HasPrefix(body, []byte("PAR1")) || !bytes.HasSuffix(body, []byte("PAR1")) {
			t.Fatalf("%s %s: %d, %d bytes, not Parquet: %.80q", c.path, c.body, code, len(body), body)
		}
		pf, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
		if err != nil || pf.NumRows() != 12 {
			t.Errorf("%s: %v, %d rows, want 12", c.path, err, pf.NumRows())
		}
	}
	if code, _ := call(t, "POST", f.url+"/api/v1/sql?format=parquet", f.analystA, []byte(`{"sql": "COPY events TO '/tmp/x.parquet'"}`)); code != 400 {
		t.Errorf("COPY through the parquet answer: %d, want 400", code)
	}
}
