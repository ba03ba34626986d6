package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/parse"
)

// auditLog is two execve events and a sudo command, with no node= field.
const auditLog = `type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e syscall=59 success=yes exit=0 items=1 ppid=29002 pid=1631 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=104 comm="arp" exe="/usr/sbin/arp" key=(null)
type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0="arp" a1="-a"
type=PROCTITLE msg=audit(1604994496.155:92733): proctitle=617270002D61
type=SYSCALL msg=audit(1604994496.160:92734): arch=c000003e syscall=59 success=yes exit=0 items=1 ppid=29002 pid=1632 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=104 comm="id" exe="/usr/bin/id" key=(null)
type=EXECVE msg=audit(1604994496.160:92734): argc=1 a0="id"
type=PROCTITLE msg=audit(1604994496.160:92734): proctitle=6964
type=USER_CMD msg=audit(1604994497.000:92735): pid=1700 uid=1000 auid=1000 ses=104 subj=unconfined msg='cwd="/home/wardog" cmd=636174202F6574632F736861646F77 exe="/usr/bin/sudo" terminal=pts/0 res=success'
`

// Raw auditd without node= and without --host is refused, naming the
// flag; with --host its events carry the hostname and an agent_id, sudo's
// command is decoded, and the summary counts records and events.
func TestIngestAuditdNeedsHost(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "audit.log")
	if err := os.WriteFile(log, []byte(auditLog), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	var out bytes.Buffer
	err := runIngest(context.Background(), ingestOptions{data: dataFlags{Dir: data}, format: "auto"}, []string{log}, &out, &out)
	var u usageError
	want := "raw auditd in " + log + " has no node= field: name its host with --host"
	if !errors.As(err, &u) || !strings.Contains(err.Error(), want) {
		t.Fatalf("no host: err %v, want a usage error %q\n%s", err, want, out.String())
	}
	if rows := sqlRows(t, data, "SELECT count(*) AS n FROM events"); rows[0]["n"] != float64(0) {
		t.Errorf("events stored without a host: %v", rows)
	}

	out.Reset()
	if err := runIngest(context.Background(), ingestOptions{data: dataFlags{Dir: data}, format: "auto", host: "web01"}, []string{log}, &out, &out); err != nil {
		t.Fatalf("--host: %v\n%s", err, out.String())
	}
	if s := out.String(); !strings.Contains(s, "auditd:      7 lines, 7 records → 3 events") || strings.Contains(s, " 0 lines") {
		t.Errorf("summary does not count auditd's records and events:\n%s", s)
	}
	rows := sqlRows(t, data, `SELECT hostname, agent_id, type, command, arguments, exe FROM events ORDER BY event_time`)
	if len(rows) != 3 {
		t.Fatalf("%d events, want 3: %v", len(rows), rows)
	}
	for _, r := range rows {
		if r["hostname"] != "web01" || r["agent_id"] != parse.HostAgentID("web01") {
			t.Errorf("event without its host: %v", r)
		}
	}
	if r := rows[2]; r["type"] != "user_cmd" || r["command"] != "cat" || r["arguments"] != "cat /etc/shadow" || r["exe"] != "/usr/bin/sudo" {
		t.Errorf("USER_CMD: %v", r)
	}
}

// A case folder: events beside a notebook and a README. The events are
// read, the rest is skipped with one line each, and --strict passes.
func TestIngestFolderWithNotebookStrict(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "case")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hunt.ipynb"), []byte("{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"metadata\": {},\n   \"outputs\": [],\n   \"source\": [\"import duckdb\\n\", \"duckdb.sql(\\\"SELECT * FROM events\\\")\"]\n  }\n ],\n \"metadata\": {},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("Case 42: events from web01.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "events.ndjson"), []byte(`{"_id":"a","event_time":1600362902289,"event_type":"audit","exe":"/bin/true","agent_id":"a"}`+"\n"+
		`{"_id":"b","event_time":1600362902290,"event_type":"audit","exe":"/bin/false","agent_id":"a"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := ingestOptions{data: dataFlags{Dir: filepath.Join(t.TempDir(), "data")}, format: "auto", strict: true}
	if err := runIngest(context.Background(), o, []string{dir}, &out, &out); err != nil {
		t.Fatalf("--strict: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"stored:     2 new events", "rejected:   0", "threatstack: 2 lines → 2 events",
		"skipped:    2 file(s)", filepath.Join(dir, "hunt.ipynb") + ": not telemetry: notebook JSON",
		filepath.Join(dir, "README") + ": not telemetry: text",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

func TestIngestThousands(t *testing.T) {
	f := func(n int64, want string) {
		t.Helper()
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	f(0, "0")
	f(999, "999")
	f(1000, "1,000")
	f(1234567, "1,234,567")
	f(-45678, "-45,678")
}
