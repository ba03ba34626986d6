package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/auth"
)

// A SIGTERM whose head flush cannot finish within --shutdown-timeout is
// still a clean stop: exit 0, one line saying how many events stay in the
// WAL, and at the next start every event is there exactly once.
func TestShutdownPastTheDeadlineLeavesTheHeadToTheWAL(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	tokens, err := auth.Open(filepath.Join(data, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := tokens.Create("org", auth.Admin, "ops")
	if err != nil {
		t.Fatal(err)
	}
	// No flush but the one at shutdown, which gets no time at all.
	srv := startServe(t, data, "--flush-every", "1h", "--shutdown-timeout", "1ms", "--no-detect")
	const n = 5000
	var body bytes.Buffer
	for i := range n {
		fmt.Fprintf(&body, `{"_id":"sd-%d","event_time":%d,"event_type":"audit","exe":"/bin/x","agent_id":"a%d"}`+"\n",
			i, 1600000000000+int64(i)*1000, i%7)
	}
	req, _ := http.NewRequest("POST", srv.url+"/api/v1/events", &body)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("ingest: %d", resp.StatusCode)
	}

	code, log := srv.stop(t)
	if code != 0 {
		t.Errorf("exit %d after SIGTERM with the flush cut, want 0:\n%s", code, log)
	}
	want := fmt.Sprintf("head not flushed before the deadline: %d events stay in the WAL and are replayed at the next start", n)
	if !strings.Contains(log, want) {
		t.Errorf("the log does not say %q:\n%s", want, log)
	}
	if parts, _ := filepath.Glob(filepath.Join(data, "lake", "events", "*", "*")); len(parts) != 0 {
		t.Errorf("files left in the lake by the cut flush: %v", parts)
	}

	// The next start replays the WAL: every event once.
	srv = startServe(t, data, "--flush-every", "1h", "--no-detect")
	var out bytes.Buffer
	remote := dataFlags{Server: srv.url, Token: token}
	if err := runSQL(context.Background(), sqlOptions{data: remote, format: "csv"}, `SELECT count(*) AS n, count(DISTINCT "_id") AS ids FROM events`, &out); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("n,ids\n%d,%d\n", n, n); out.String() != want {
		t.Errorf("after the restart: %q, want %q: every event once", out.String(), want)
	}
	code, log = srv.stop(t)
	parts, _ := filepath.Glob(filepath.Join(data, "lake", "events", "*", "*.parquet"))
	if code != 0 || strings.Contains(log, "not flushed") || len(parts) == 0 {
		t.Errorf("second stop, with time to flush: exit %d, parts %v:\n%s", code, parts, log)
	}
}
