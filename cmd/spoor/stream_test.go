package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/auth"
	"github.com/spoor-dev/spoor/internal/client"
	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/server"
)

// serveInProcess runs a server over dir on loopback and returns its
// address as dataFlags of an admin token.
func serveInProcess(t *testing.T, dir string, timeout time.Duration, opts server.Options) (dataFlags, *datadir.DB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := datadir.Open(ctx, dir, datadir.Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.Open(filepath.Join(dir, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := tokens.Create("org", auth.Admin, "cli")
	if err != nil {
		t.Fatal(err)
	}
	opts.Listen = "127.0.0.1:0"
	srv := server.New(db, tokens, opts)
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- srv.Run(ctx, func(a string) { addr <- a }) }()
	var url string
	select {
	case a := <-addr:
		url = "http://" + a
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-done
		db.Close(context.Background())
	})
	return dataFlags{Server: url, Token: token}, db
}

// stallingWriter takes its first write only after a pause, as a terminal
// or pipe that stops reading would.
type stallingWriter struct {
	once  sync.Once
	pause time.Duration
	buf   bytes.Buffer
}

func (w *stallingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { time.Sleep(w.pause) })
	return w.buf.Write(p)
}

// An answer the server ends early (its query timed out while the CLI's
// output stalled) is an error of the CLI (exit 1, the message on stderr),
// whatever the format, and the server's marker is not printed as a row.
// Before, the CLI printed the cut answer and exited 0.
func TestCLIRemoteAnswerCutByServerError(t *testing.T) {
	const timeout = 2 * time.Second
	remote, _ := serveInProcess(t, t.TempDir(), timeout, server.Options{MaxRows: 1 << 20})
	for _, format := range []string{"ndjson", "json", "csv", "table"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			out := &stallingWriter{pause: 2 * timeout}
			var stderr bytes.Buffer
			err := runSQL(context.Background(), sqlOptions{data: remote, format: format, stderr: &stderr},
				"SELECT i, '"+strings.Repeat("x", 200)+"' AS pad FROM range(200000) t(i)", out)
			var se *client.StreamError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), "timed out") {
				t.Fatalf("err %v, want the server's timeout as a stream error", err)
			}
			var u usageError
			if errors.As(err, &u) {
				t.Errorf("a cut answer is a runtime error (exit 1), not a usage error")
			}
			got := out.buf.String()
			if n := strings.Count(got, "\n"); n > 190_000 || n == 0 {
				t.Errorf("%d lines printed: the answer was not cut (the test proves nothing) or nothing came", n)
			}
			if strings.Contains(got, `{"error":`) || strings.Contains(got, "# spoor error") {
				t.Errorf("the marker was printed as a row: ...%s", got[max(0, len(got)-300):])
			}
		})
	}
}

// The server's row limit is not an error, but the CLI says the answer was
// cut; a server's warning about quarantined parts goes to stderr too.
func TestCLIRemoteTruncationAndWarning(t *testing.T) {
	dir := t.TempDir()
	remote, db := serveInProcess(t, dir, 0, server.Options{MaxRows: 10})
	ingestLogins(t, remote)
	var out, stderr bytes.Buffer
	for _, format := range []string{"csv", "table", "ndjson", "json"} {
		out.Reset()
		stderr.Reset()
		if err := runSQL(context.Background(), sqlOptions{data: remote, format: format, stderr: &stderr}, `SELECT "_id" FROM events`, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stderr.String(), "10 rows shown; the answer was cut at the server's row limit") {
			t.Errorf("%s: stderr %q, want the cut announced", format, stderr.String())
		}
	}
	stderr.Reset()
	if err := runSearch(context.Background(), searchOptions{data: remote, format: "csv", fields: "_id", limit: 0, stderr: &stderr}, `user = "u"`, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "10 rows shown") || !strings.Contains(stderr.String(), "cursor") {
		t.Errorf("search: stderr %q, want the cut and the cursor", stderr.String())
	}
	stderr.Reset()
	if err := runSQL(context.Background(), sqlOptions{data: remote, format: "csv", stderr: &stderr}, `SELECT "_id" FROM events LIMIT 5`, &out); err != nil || stderr.Len() != 0 {
		t.Errorf("an uncut answer: %v, stderr %q", err, stderr.String())
	}

	// A part quarantined: the answer warns, over the server and locally.
	if err := db.Lake.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	parts, _ := filepath.Glob(filepath.Join(dir, "lake", "events", "day=*", "*.parquet"))
	if len(parts) < 2 {
		t.Fatalf("%d parts, want several", len(parts))
	}
	db.Lake.Quarantine(parts[0], "test")
	stderr.Reset()
	if err := runSQL(context.Background(), sqlOptions{data: remote, format: "csv", stderr: &stderr}, `SELECT count(*) FROM events`, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "spoor: warning: ") || !strings.Contains(stderr.String(), "quarantine") {
		t.Errorf("remote: stderr %q, want the warning", stderr.String())
	}
}

// ingestLogins stores 60 logins over 5 days, in as many parts.
func ingestLogins(t *testing.T, data dataFlags) {
	t.Helper()
	var b bytes.Buffer
	for i := range 60 {
		fmt.Fprintf(&b, `{"_id":"t%d","event_time":%d,"event_type":"login","user":"u","agent_id":"a"}`+"\n", i, 1600300800000+int64(i)*7200_000)
	}
	file := filepath.Join(t.TempDir(), "e.ndjson")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runIngest(context.Background(), ingestOptions{data: data, format: "auto", noDetect: true}, []string{file}, &out, &out); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out.String())
	}
}

// Locally too, an answer over a quarantined part warns on stderr.
func TestCLILocalWarning(t *testing.T) {
	dir := t.TempDir()
	local := dataFlags{Dir: dir}
	ingestLogins(t, local)
	var out, stderr bytes.Buffer
	sql := func() string {
		out.Reset()
		stderr.Reset()
		if err := runSQL(context.Background(), sqlOptions{data: local, format: "csv", stderr: &stderr}, `SELECT count(*) AS n FROM events`, &out); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	if got := sql(); got != "n\n60\n" || stderr.Len() != 0 {
		t.Fatalf("before: %q, stderr %q", got, stderr.String())
	}
	db, err := datadir.Open(context.Background(), dir, datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	org, err := db.DefaultOrg()
	if err != nil {
		t.Fatal(err)
	}
	parts := db.Lake.Parts(org, 0, 1<<62)
	if len(parts) < 2 {
		t.Fatalf("%d parts, want several", len(parts))
	}
	db.Lake.Quarantine(parts[0], "test")
	db.Close(context.Background())
	if got := sql(); got == "n\n60\n" || !strings.Contains(stderr.String(), "spoor: warning: ") {
		t.Errorf("after a quarantine: %q, stderr %q, want fewer events and the warning", got, stderr.String())
	}
}
