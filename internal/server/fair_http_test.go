package server

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// trickle starts an ingest whose chunked body never ends.
func trickle(t *testing.T, url, token string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n", token)
	line := eventsFrom(0, 1)
	fmt.Fprintf(c, "%x\r\n%s\r\n", len(line), line)
	return c
}

// One organization's slow ingest bodies hold only its share of the
// ingest slots: another organization's batch is stored at once, and the
// hog's extra requests get 503 with Retry-After.
func TestIngestHogStarvesOnlyItself(t *testing.T) {
	f := start(t, Options{QueueWait: 300 * time.Millisecond})
	for range 17 {
		trickle(t, f.url, f.ingestA)
	}
	time.Sleep(200 * time.Millisecond) // let them take what they may
	start := time.Now()
	if code, body := call(t, "POST", f.url+"/api/v1/events", f.adminB, eventsFrom(0, 10)); code != 200 {
		t.Fatalf("orgB while orgA trickles 17 bodies: %d %s", code, body)
	}
	t.Logf("orgB stored in %v", time.Since(start))
	if code, retry := retryAfter(t, f.url+"/api/v1/events", f.ingestA, eventsFrom(0, 1)); code != 503 || retry == "" {
		t.Errorf("orgA over its share: %d, Retry-After %q", code, retry)
	}
}

// One organization's long queries hold only its share of the query slots:
// another organization is answered at once, the hog's extra query gets 429
// with Retry-After.
func TestQueryHogStarvesOnlyItself(t *testing.T) {
	f := start(t, Options{QueueWait: 300 * time.Millisecond})
	loadEvents(t, f, 3000)
	long := sqlBody("SELECT count(*) AS n FROM events a, events b, events c WHERE a.pid + b.pid * c.pid = -1")
	for range 4 {
		rawRequest(t, f.url, "POST", "/api/v1/sql", f.analystA, long)
	}
	time.Sleep(200 * time.Millisecond) // let them take what they may
	start := time.Now()
	if code, body := call(t, "POST", f.url+"/api/v1/sql", f.analystB, []byte(sqlBody("SELECT count(*) AS n FROM events"))); code != 200 {
		t.Fatalf("orgB while orgA runs 4 cross joins: %d %s", code, body)
	}
	t.Logf("orgB answered in %v", time.Since(start))
	if code, retry := retryAfter(t, f.url+"/api/v1/sql", f.analystA, []byte(sqlBody("SELECT 1 AS x"))); code != 429 || retry == "" {
		t.Errorf("orgA over its share: %d, Retry-After %q", code, retry)
	}
}

// retryAfter POSTs body and returns the status and Retry-After header.
func retryAfter(t *testing.T, url, token string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}
