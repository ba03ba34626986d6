package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/agent/logins"
	"github.com/spoor-dev/spoor/internal/agent/source"
)

// An SSH brute force in auth.log, read by the agent's login source and
// ingested as the agent ships its events (Threat Stack JSON lines with
// agent_id and hostname): `spoor logins` lists the source with its twelve
// failures and the success that followed, and the default brute-force rules
// open their alerts.
func TestAuthLogBruteForceThroughIngest(t *testing.T) {
	dir := t.TempDir()
	authLog := filepath.Join(dir, "auth.log")
	// The twelve failures span 110 s across 10:00, a boundary of the rule's
	// 10-minute windows: 6 fall before it, 6 after. "Ten within ten
	// minutes" is any ten-minute span, so the alert opens all the same.
	base := time.Date(2024, 3, 5, 9, 59, 0, 0, time.UTC)
	var b strings.Builder
	stamp := func(i int) string { return base.Add(time.Duration(i) * 10 * time.Second).Format(time.RFC3339) }
	for i := 0; i < 12; i++ {
		fmt.Fprintf(&b, "%s bastion sshd[%d]: Failed password for root from 198.51.100.7 port %d ssh2\n", stamp(i), 4000+i, 50000+i)
	}
	fmt.Fprintf(&b, "%s bastion sshd[5000]: Accepted password for root from 198.51.100.7 port 51000 ssh2\n", stamp(12))
	fmt.Fprintf(&b, "%s bastion sshd[5000]: pam_unix(sshd:session): session opened for user root(uid=0) by (uid=0)\n", stamp(12))
	if err := os.WriteFile(authLog, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	src := logins.New(logins.Config{AuthLog: authLog, Wtmp: logins.Off, StateDir: t.TempDir(), Poll: 10 * time.Millisecond})
	events := make(chan source.Event, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, func(e source.Event) { events <- e }) }()
	var nd bytes.Buffer
	for i := 0; i < 14; i++ {
		select {
		case e := <-events:
			e["agent_id"], e["hostname"] = "4d0b1c1e-0000-4000-8000-000000000001", "bastion" // what the agent adds
			line, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			nd.Write(append(line, '\n'))
		case <-time.After(20 * time.Second):
			t.Fatalf("%d events from the login source, want 14", i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	shipped := filepath.Join(dir, "shipped.ndjson")
	if err := os.WriteFile(shipped, nd.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	data := t.TempDir()
	var out bytes.Buffer
	if err := runIngest(context.Background(), ingestOptions{data: dataFlags{Dir: data}, format: "threatstack"}, []string{shipped}, &out, &out); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out.String())
	}

	out.Reset()
	o := huntOptions{data: dataFlags{Dir: data}, format: "ndjson"}
	if err := runHunt(context.Background(), "logins", o, &out); err != nil {
		t.Fatalf("logins: %v", err)
	}
	var row map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &row); err != nil {
		t.Fatalf("logins answer %q: %v", out.String(), err)
	}
	for k, v := range map[string]any{"src_ip": "198.51.100.7", "user": "root", "failures": 12.0, "successes": 1.0,
		"succeeded_after_failures": 12.0, "external": true} {
		if row[k] != v {
			t.Errorf("logins: %s = %v, want %v (row %v)", k, row[k], v, row)
		}
	}

	out.Reset()
	if err := runAlertsList(context.Background(), alertsOptions{data: dataFlags{Dir: data}, format: "ndjson"}, "", &out); err != nil {
		t.Fatalf("alerts: %v", err)
	}
	for _, rule := range []string{"brute-force-source", "brute-force-success"} {
		if !strings.Contains(out.String(), `"rule":"`+rule+`"`) {
			t.Errorf("no %s alert in\n%s", rule, out.String())
		}
	}
}
