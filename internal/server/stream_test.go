package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// bigSQL answers 200,000 rows of about 200 bytes: far more than the socket
// buffers hold, so a client that stops reading holds the server mid-stream.
var bigSQL = `{"sql": "SELECT i, '` + strings.Repeat("x", 200) + `' AS pad FROM range(200000) t(i)"}`

// A query that fails after its answer has begun (here its timeout passes
// while a slow client reads) ends the answer with an error the clients
// understand: a last NDJSON line {"error": ...}, a last JSON element, a CSV
// trailer line, and the Spoor-Error trailer. Before, the answer just ended,
// 200 and cut, as if complete.
func TestStreamFailureEndsWithErrorMarker(t *testing.T) {
	const timeout = 2 * time.Second
	queryTimeout = timeout
	f := start(t, Options{MaxRows: 1 << 20})
	queryTimeout = 0
	for _, format := range []string{"ndjson", "json", "csv"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel() // each waits out the timeout
			req, _ := http.NewRequest("POST", f.url+"/api/v1/sql?format="+format, strings.NewReader(bigSQL))
			req.Header.Set("Authorization", "Bearer "+f.analystA)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("%d %s (the query must succeed before its timeout for this test)", resp.StatusCode, b)
			}
			br := bufio.NewReader(resp.Body)
			// The answer has begun (on a loaded machine the timeout may
			// already have cut it short: its end is checked the same way).
			if _, err := br.Peek(1024); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			// Stop reading until the query's deadline has passed: the
			// server is blocked writing, with rows still to send.
			time.Sleep(2 * timeout)
			body, err := io.ReadAll(br)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimRight(string(body), "\n"), "\n")
			if len(lines) > 190_000 {
				t.Fatalf("%d lines: the answer was not cut, the test proves nothing", len(lines))
			}
			trailer := resp.Trailer.Get("Spoor-Error")
			if !strings.Contains(trailer, "timed out") {
				t.Errorf("Spoor-Error trailer %q, want the timeout", trailer)
			}
			last := lines[len(lines)-1]
			switch format {
			case "ndjson":
				var m map[string]string
				if json.Unmarshal([]byte(last), &m) != nil || len(m) != 1 || !strings.Contains(m["error"], "timed out") {
					t.Errorf("last NDJSON line %q, want {\"error\": ...}", last)
				}
			case "json":
				var arr []map[string]any
				if err := json.Unmarshal(body, &arr); err != nil {
					t.Fatalf("cut JSON answer is not JSON: %v (ends %q)", err, body[max(0, len(body)-200):])
				}
				if e, _ := arr[len(arr)-1]["error"].(string); len(arr[len(arr)-1]) != 1 || !strings.Contains(e, "timed out") {
					t.Errorf("last JSON element %v, want {\"error\": ...}", arr[len(arr)-1])
				}
			case "csv":
				if !strings.HasPrefix(last, "# spoor error: ") || !strings.Contains(last, "timed out") {
					t.Errorf("last CSV line %q, want the error trailer line", last)
				}
			}
		})
	}
}

// When the server's row limit cuts an answer, it says so: Spoor-Truncated
// and, for a search, the cursor of the rest. A limit the caller asked for is
// not a cut.
func TestRowLimitCutIsAnnounced(t *testing.T) {
	f := start(t, Options{MaxRows: 10})
	if code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, events(25, "x")); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	for _, c := range []struct {
		path, body string
		rows       int
		cut        bool
		cursor     bool
	}{
		{"/api/v1/sql", `{"sql": "SELECT \"_id\" FROM events"}`, 10, true, false},
		{"/api/v1/sql", `{"sql": "SELECT \"_id\" FROM events LIMIT 10"}`, 10, false, false},
		{"/api/v1/sql", `{"sql": "SELECT \"_id\" FROM events LIMIT 4"}`, 4, false, false},
		{"/api/v1/search", `{"query": "", "fields": ["_id"]}`, 10, true, true},
		{"/api/v1/search", `{"query": "", "fields": ["_id"], "limit": 50}`, 10, true, true},
		{"/api/v1/search", `{"query": "", "fields": ["_id"], "limit": 5}`, 5, false, true},
		{"/api/v1/search", `{"query": "", "fields": ["_id"], "limit": 10, "desc": true, "cursor": ""}`, 10, false, true},
	} {
		resp, body := callResp(t, "POST", f.url+c.path, f.analystA, []byte(c.body))
		if resp.StatusCode != 200 || countLines(body) != c.rows {
			t.Errorf("%s %s: %d, %d rows, want %d", c.path, c.body, resp.StatusCode, countLines(body), c.rows)
		}
		if got := resp.Trailer.Get("Spoor-Truncated") == "true"; got != c.cut {
			t.Errorf("%s %s: Spoor-Truncated %q, want cut=%v", c.path, c.body, resp.Trailer.Get("Spoor-Truncated"), c.cut)
		}
		if got := resp.Trailer.Get("Spoor-Next-Cursor") != ""; got != c.cursor {
			t.Errorf("%s %s: cursor %q, want one: %v", c.path, c.body, resp.Trailer.Get("Spoor-Next-Cursor"), c.cursor)
		}
		if resp.Trailer.Get("Spoor-Error") != "" || bytes.Contains(body, []byte(`"error"`)) {
			t.Errorf("%s %s: a cut is not an error: %q %s", c.path, c.body, resp.Trailer.Get("Spoor-Error"), body)
		}
	}
}
