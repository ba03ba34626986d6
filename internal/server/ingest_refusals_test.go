package server

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/client"
	"github.com/spoor-dev/spoor/internal/parse"
)

// Raw audit lines that name no host (no node=) are refused over HTTP with
// a 400 that says how to name it, on the events endpoint and on HEC's raw
// one; nothing of them is stored. With ?host= they are stored under it.
func TestRawAuditdNeedsHost(t *testing.T) {
	f := start(t, Options{})
	lines := []byte(`type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e syscall=59 success=yes exit=0 items=1 ppid=29002 pid=1631 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=104 comm="arp" exe="/usr/sbin/arp" key=(null)
type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0="arp" a1="-a"
type=PROCTITLE msg=audit(1604994496.155:92733): proctitle=617270002D61
`)
	count := func() string {
		t.Helper()
		code, body := call(t, "POST", f.url+"/api/v1/sql", f.analystA, []byte(`{"sql": "SELECT count(*) AS n, max(hostname) AS h, max(agent_id) AS a FROM events"}`), "Accept", "application/json")
		if code != 200 {
			t.Fatalf("sql: %d %s", code, body)
		}
		return string(body)
	}
	code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, lines)
	if code != 400 || !strings.Contains(string(body), "raw auditd in body has no node= field: name its host with ?host=") {
		t.Errorf("events without a host: %d %s, want 400 naming ?host=", code, body)
	}
	code, body = call(t, "POST", f.url+"/services/collector/raw", f.ingestA, lines, "Authorization", "Splunk "+f.ingestA)
	if code != 400 || !strings.Contains(string(body), "?host=") || !strings.Contains(string(body), `"code":6`) {
		t.Errorf("HEC raw without a host: %d %s, want 400 naming ?host=", code, body)
	}
	if got := count(); !strings.Contains(got, `"n":0`) {
		t.Errorf("refused lines were stored: %s", got)
	}
	code, body = call(t, "POST", f.url+"/api/v1/events?host=web-3", f.ingestA, lines)
	if code != 200 || !strings.Contains(string(body), `"accepted":1`) {
		t.Fatalf("with ?host=: %d %s", code, body)
	}
	if got := count(); !strings.Contains(got, `"n":1`) || !strings.Contains(got, `"h":"web-3"`) || !strings.Contains(got, `"a":"`+parse.HostAgentID("web-3")+`"`) {
		t.Errorf("stored: %s, want one event of web-3 with its agent_id", got)
	}
}

// `spoor ingest --server` of a case folder sends the events and skips the
// notebook beside them with one line, instead of sending it as events.
func TestClientSkipsNotTelemetry(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hunt.ipynb"), []byte("{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"source\": [\"x = 1\"]\n  }\n ],\n \"metadata\": {},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "events.ndjson"), events(3, "org-a"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := start(t, Options{})
	c := &client.Client{URL: f.url, Token: f.ingestA, HTTP: http.DefaultClient}
	sum, err := c.Ingest(context.Background(), []string{dir}, "auto", "")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Stored != 3 || sum.Rejected != 0 || sum.Skipped != 1 || len(sum.Skips) != 1 || sum.Skips[0].What != "notebook JSON" {
		t.Errorf("stored %d, rejected %d, skipped %d %v; want 3 stored and the notebook skipped", sum.Stored, sum.Rejected, sum.Skipped, sum.Skips)
	}
	if sum.Records["threatstack"] != 3 || sum.Events["threatstack"] != 3 {
		t.Errorf("per format: records %v events %v", sum.Records, sum.Events)
	}
}
