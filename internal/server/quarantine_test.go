package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// callResp is call that keeps the answer's headers and trailers.
func callResp(t *testing.T, method, url, token string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// dailyParts stores n events of orgA spread over days, one part per day,
// and returns the part files.
func dailyParts(t *testing.T, f fixture, n, days int) []string {
	t.Helper()
	var b bytes.Buffer
	step := int64(days) * 86400_000 / int64(n)
	for i := range n {
		fmt.Fprintf(&b, `{"_id":"q-%d","agent_id":"agent-%d","event_time":%d,"event_type":"audit","exe":"/usr/bin/curl","user":"root","arguments":"curl -s http://example.com/%d"}`+"\n",
			i, i%7, 1600300800000+int64(i)*step, i)
	}
	if code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, b.Bytes()); code != 200 {
		t.Fatalf("ingest: %d %s", code, body)
	}
	if err := f.db.Lake.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	parts := lakeParts(t, f)
	if len(parts) != days {
		t.Fatalf("%d parts, want %d", len(parts), days)
	}
	return parts
}

func lakeParts(t *testing.T, f fixture) []string {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(f.dir, "lake", "events", "day=*", "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(parts)
	return parts
}

func quarantined(t *testing.T, f fixture) []string {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(f.dir, "quarantine"))
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".parquet") { // not the list of organizations beside each
			names = append(names, e.Name())
		}
	}
	return names
}

// sqlCount answers count(*) over orgA's events, with the answer's headers.
func sqlCount(t *testing.T, f fixture, where string) (int, http.Header) {
	t.Helper()
	resp, body := callResp(t, "POST", f.url+"/api/v1/sql?format=csv", f.analystA, []byte(`{"sql": "SELECT count(*) AS n FROM events `+where+`"}`))
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if resp.StatusCode != 200 || len(lines) != 2 {
		t.Fatalf("count: %d %s", resp.StatusCode, body)
	}
	n, err := strconv.Atoi(lines[1])
	if err != nil {
		t.Fatalf("count: %q", body)
	}
	return n, resp.Header
}

// An analyst's query that fails with an error text naming a part (DuckDB's
// error() makes any text) must not move that healthy part to quarantine:
// quarantine follows spoor's own check of the file, never a query's words.
func TestUserErrorTextQuarantinesNothing(t *testing.T) {
	f := start(t, Options{})
	parts := dailyParts(t, f, 2000, 5)
	if n, _ := sqlCount(t, f, ""); n != 2000 {
		t.Fatalf("count %d before, want 2000", n)
	}
	for i, p := range parts {
		for _, text := range []string{"IO Error: ", "Invalid Input Error: Corrupt parquet file ", "Serialization Error: "} {
			q := fmt.Sprintf(`{"sql": "SELECT error('%s' || '%s') FROM events LIMIT 1"}`, text, p)
			path := "/api/v1/sql"
			if i == 0 {
				path += "?format=parquet"
			}
			code, body := call(t, "POST", f.url+path, f.analystA, []byte(q))
			if code == 200 {
				t.Errorf("a failing query answered 200 (its parts gone?): %s", body)
			}
		}
	}
	if q := quarantined(t, f); len(q) != 0 {
		t.Errorf("healthy parts quarantined by a user's error text: %v", q)
	}
	if got := lakeParts(t, f); !slices.Equal(got, parts) {
		t.Errorf("parts after the queries: %v, want %v", got, parts)
	}
	n, hdr := sqlCount(t, f, "")
	if n != 2000 {
		t.Errorf("count %d after the queries, want 2000: evidence was hidden", n)
	}
	if w := hdr.Get("Spoor-Warning"); w != "" {
		t.Errorf("warning over a sound lake: %q", w)
	}
}

// A part damaged on disk is found by spoor's own check and quarantined; the
// answer comes from the other parts and says that it lacks some events, in
// a header (and the CLI prints it); metadata counts (count(*) reads Parquet
// footers only) leave the part out too.
func TestCorruptPartQuarantinedWithWarning(t *testing.T) {
	f := start(t, Options{})
	parts := dailyParts(t, f, 2000, 5)
	bad := parts[2]
	rows := partRows(t, bad)
	corrupt(t, bad)

	resp, body := callResp(t, "POST", f.url+"/api/v1/search", f.analystA, []byte(`{"query": ""}`))
	if resp.StatusCode != 200 {
		t.Fatalf("search over a corrupt part: %d %s", resp.StatusCode, body)
	}
	if got := countLines(body); got != 2000-rows {
		t.Errorf("search answered %d events, want %d (all but the corrupt part's %d)", got, 2000-rows, rows)
	}
	warn := resp.Header.Get("Spoor-Warning")
	if !strings.Contains(warn, "quarantine") {
		t.Errorf("search over a quarantined part: Spoor-Warning %q", warn)
	}
	if strings.Contains(warn, f.dir) {
		t.Errorf("the warning shows a server path: %q", warn)
	}
	if q := quarantined(t, f); len(q) != 1 || !strings.HasSuffix(q[0], filepath.Base(bad)) {
		t.Errorf("quarantine holds %v, want the corrupt part", q)
	}
	n, hdr := sqlCount(t, f, "")
	if n != 2000-rows {
		t.Errorf("count(*) %d, want %d: the quarantined part is still counted", n, 2000-rows)
	}
	if hdr.Get("Spoor-Warning") == "" {
		t.Errorf("count(*) over a quarantined part carries no warning")
	}
	// A range without the quarantined day has nothing to warn about.
	if _, hdr := sqlCount(t, f, "WHERE false"); hdr.Get("Spoor-Warning") == "" {
		t.Errorf("the warning depends on the rows, not the range")
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/v1/hunt/cluster", `{}`},
		{"POST", "/api/v1/sql?format=parquet", `{"sql": "SELECT count(*) FROM events"}`},
		{"GET", "/api/v1/events/q-1", ``},
	} {
		resp, body := callResp(t, c.method, f.url+c.path, f.analystA, []byte(c.body))
		if resp.StatusCode != 200 || resp.Header.Get("Spoor-Warning") == "" {
			t.Errorf("%s %s: %d, warning %q: %.200s", c.method, c.path, resp.StatusCode, resp.Header.Get("Spoor-Warning"), body)
		}
	}
	// A backtest answers a JSON object: the warning is a field of it too.
	resp, body = callResp(t, "POST", f.url+"/api/v1/rules/test", f.analystA,
		[]byte(`{"rule": "name: t\ntitle: t\ntype: host\nseverity: 1\nfilter: event_type = 'audit'\n", "since": "2000-01-01"}`))
	var bt struct{ Warnings []string }
	json.Unmarshal(body, &bt)
	if resp.StatusCode != 200 || resp.Header.Get("Spoor-Warning") == "" || !slices.ContainsFunc(bt.Warnings, func(w string) bool { return strings.Contains(w, "quarantine") }) {
		t.Errorf("backtest over a quarantined part: %d, header %q, warnings %v", resp.StatusCode, resp.Header.Get("Spoor-Warning"), bt.Warnings)
	}
	resp, _ = callResp(t, "POST", f.url+"/api/v1/sql?format=csv", f.analystA, []byte(`{"sql": "SELECT count(*) FROM events", "until": "2020-09-17T00:59:00Z"}`))
	if resp.StatusCode != 200 || resp.Header.Get("Spoor-Warning") != "" {
		t.Errorf("range without the quarantined part: %d, warning %q", resp.StatusCode, resp.Header.Get("Spoor-Warning"))
	}
}

func partRows(t *testing.T, path string) int {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	pf, err := parquet.OpenFile(fh, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return int(pf.NumRows())
}

// corrupt overwrites bytes in the middle of a file, past its header and
// before its footer, as a failing disk would.
func corrupt(t *testing.T, path string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	junk := bytes.Repeat([]byte{0xA5, 0x5A, 0xFF, 0x00}, 64)
	if _, err := fh.WriteAt(junk, st.Size()/3); err != nil {
		t.Fatal(err)
	}
}
