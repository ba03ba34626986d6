package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/auth"
)

// Senders post batches over loopback while the server is killed with
// SIGKILL and restarted; they retry what was not acknowledged. Afterwards
// every acknowledged event is stored exactly once, and every one a rule
// matches is counted in the rule's alerts exactly once: no event escapes
// evaluation across the crash.
func TestServerKill9UnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load with a crash takes a while")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tokens, err := auth.Open(filepath.Join(data, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := tokens.Create("org", auth.Ingest, "load")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	exe, _ := os.Executable()
	spoor := func(args ...string) *exec.Cmd {
		c := exec.Command(exe, args...)
		c.Env = append(os.Environ(), "SPOOR_TEST_AS_MAIN=1")
		return c
	}
	serve := func() *exec.Cmd {
		c := spoor("serve", "--data", data, "--listen", addr, "--flush-every", "300ms")
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		return c
	}

	// 8 senders for loadFor, killed a third of the way through.
	const senders, perBatch = 8, 150
	loadFor := 30 * time.Second
	waitUp := func() {
		for i := 0; ; i++ {
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				resp.Body.Close()
				return
			}
			if i > 300 {
				t.Fatal("server did not come up")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	srv := serve()
	waitUp()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		acked   int
		retries int
	)
	client := &http.Client{Timeout: 5 * time.Second}
	start := time.Now()
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; time.Since(start) < loadFor; b++ {
				var body bytes.Buffer
				for k := range perBatch {
					exe := "/bin/x"
					if k == 0 {
						exe = "/tmp/x" // the default rule tmp-binary-exec matches it
					}
					fmt.Fprintf(&body, `{"_id":"s%d-b%d-e%d","event_time":%d,"event_type":"audit","syscall":"execve","exe":%q,"agent_id":"a%d"}`+"\n",
						s, b, k, 1600000000000+int64(b*perBatch+k)*1000, exe, s)
				}
				deadline := time.Now().Add(60 * time.Second)
				for {
					req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/events", bytes.NewReader(body.Bytes()))
					req.Header.Set("Authorization", "Bearer "+token)
					resp, err := client.Do(req)
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode == 200 {
							mu.Lock()
							acked += perBatch
							mu.Unlock()
							break
						}
					}
					if time.Now().After(deadline) {
						t.Errorf("sender %d batch %d never acknowledged", s, b)
						return
					}
					mu.Lock()
					retries++
					mu.Unlock()
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(loadFor / 3)
	mu.Lock()
	atKill := acked
	mu.Unlock()
	srv.Process.Signal(syscall.SIGKILL)
	srv.Wait()
	time.Sleep(300 * time.Millisecond)
	srv = serve()
	wg.Wait()
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()

	out, err := spoor("sql", "--data", data, "--format", "csv", `SELECT count(*), count(DISTINCT "_id") FROM events`).CombinedOutput()
	if err != nil {
		t.Fatalf("count: %v\n%s", err, out)
	}
	rec, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil || len(rec) != 2 {
		t.Fatalf("count output %q", out)
	}
	n, _ := strconv.Atoi(rec[1][0])
	d, _ := strconv.Atoi(rec[1][1])
	want := acked
	if n != want || d != want {
		t.Fatalf("acknowledged %d events; stored %d, %d distinct", acked, n, d)
	}
	if retries == 0 || atKill >= want {
		t.Errorf("the kill did not land during the load (%d retries, %d of %d acknowledged at the kill)", retries, atKill, want)
	}
	out, err = spoor("sql", "--data", data, "--format", "csv", `SELECT (SELECT sum(count) FROM alerts WHERE rule = 'tmp-binary-exec'), (SELECT count(*) FROM events WHERE exe = '/tmp/x')`).CombinedOutput()
	if err != nil {
		t.Fatalf("alert count: %v\n%s", err, out)
	}
	rec, _ = csv.NewReader(bytes.NewReader(out)).ReadAll()
	if len(rec) != 2 || rec[1][0] != rec[1][1] || rec[1][1] != strconv.Itoa(want/perBatch) {
		t.Fatalf("alerts count %v of the matching events, %d acknowledged batches each hold one", rec, want/perBatch)
	}
	t.Logf("%d events from %d senders, server killed after %d acknowledged, %d retries: all stored exactly once", want, senders, atKill, retries)
}

// ingest, search and sql work against a server as they do on a data dir.
func TestCLIAgainstServer(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tokens, _ := auth.Open(filepath.Join(data, "tokens.json"))
	token, _, _ := tokens.Create("org", auth.Admin, "cli")
	url := serveProcess(t, data)
	file := filepath.Join(dir, "e.ndjson")
	var b bytes.Buffer
	for i := range 300 {
		fmt.Fprintf(&b, `{"_id":"c%d","event_time":%d,"event_type":"login","user":"u%d","agent_id":"a"}`+"\n", i, 1600362902289+int64(i), i%3)
	}
	b.WriteString("{broken\n")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	remote := dataFlags{Server: url, Token: token}
	var out bytes.Buffer
	if err := runIngest(context.Background(), ingestOptions{data: remote, format: "auto"}, []string{file}, &out, &out); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out.String())
	}
	if s := out.String(); !strings.Contains(s, "stored:     300 new") || !strings.Contains(s, file+":301: malformed JSON") {
		t.Errorf("remote ingest summary:\n%s", s)
	}
	out.Reset()
	if err := runSearch(context.Background(), searchOptions{data: remote, format: "table", fields: "_id,user", limit: 5}, `user = "u1"`, &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "c1 ") || !strings.Contains(s, "(5 rows)") {
		t.Errorf("remote search table:\n%s", s)
	}
	out.Reset()
	if err := runSQL(context.Background(), sqlOptions{data: remote, format: "csv"}, `SELECT count(*) AS n FROM events WHERE event_type = 'login'`, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "n\n300\n" {
		t.Errorf("remote sql: %q", out.String())
	}
	err := runSearch(context.Background(), searchOptions{data: remote, format: "table", limit: 5}, `user = `, &out)
	var u usageError
	if !errors.As(err, &u) {
		t.Errorf("bad remote query: %v, want a usage error", err)
	}
}
