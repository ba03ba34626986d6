package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/server"
)

// agentEvents are what an agent ships at start: host metadata, health and
// one audit event, as NDJSON.
func agentEvents(agentID, host string, now int64) []byte {
	var b bytes.Buffer
	for _, e := range []map[string]any{
		{"event_type": "host", "type": "host_metadata", "agent_id": agentID, "hostname": host, "event_time": now - 2000,
			"_id": agentID + "-meta-1", "os_version": "debian-12", "kernel": "6.1.0-18-amd64", "instance_id": "i-0123",
			"region": "eu-west-1", "cloud_provider": "aws", "agent_version": "0.9.0"},
		{"event_type": "host", "type": "agent_health", "agent_id": agentID, "hostname": host, "event_time": now - 1000,
			"_id": fmt.Sprintf("%s-health-%d", agentID, now-1000), "agent_version": "0.9.0", "lag_ms": 1200,
			"spool_bytes": 2000000000, "losses": map[string]int64{"spool_dropped": 42}, "lost_total": 42},
		{"event_type": "audit", "agent_id": agentID, "hostname": host, "event_time": now, "_id": agentID + "-a", "exe": "/usr/bin/id"},
	} {
		l, _ := json.Marshal(e)
		b.Write(append(l, '\n'))
	}
	return b.Bytes()
}

// spoor agents over a server and over a data directory: the same agent,
// with its health and metadata, as NDJSON and as a table of the main
// columns.
func TestAgentsCommand(t *testing.T) {
	now := time.Now().UnixMilli()
	file := filepath.Join(t.TempDir(), "agent.ndjson")
	if err := os.WriteFile(file, agentEvents("7f000001-0000-4000-8000-00000000aaaa", "app-7", now), 0o644); err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	var out bytes.Buffer
	if err := runIngest(context.Background(), ingestOptions{data: dataFlags{Dir: local}, format: "threatstack"}, []string{file}, &out, &out); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out.String())
	}
	remote, _ := serveInProcess(t, t.TempDir(), 0, server.Options{})
	if err := runIngest(context.Background(), ingestOptions{data: remote, format: "threatstack"}, []string{file}, &out, &out); err != nil {
		t.Fatalf("ingest over the server: %v\n%s", err, out.String())
	}
	for name, data := range map[string]dataFlags{"local": {Dir: local}, "remote": remote} {
		out.Reset()
		if err := runAgents(context.Background(), agentsOptions{data: data, format: "ndjson", silentAfter: time.Hour}, &out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var row map[string]any
		if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &row); err != nil {
			t.Fatalf("%s: %q: %v", name, out.String(), err)
		}
		for k, v := range map[string]any{"agent_id": "7f000001-0000-4000-8000-00000000aaaa", "hostname": "app-7",
			"status": "ok", "agent_version": "0.9.0", "lag_ms": 1200.0, "lost_total": 42.0, "os_version": "debian-12",
			"region": "eu-west-1", "instance_id": "i-0123", "spool_bytes": 2e9} {
			if row[k] != v {
				t.Errorf("%s: %s = %#v, want %#v", name, k, row[k], v)
			}
		}
		out.Reset()
		if err := runAgents(context.Background(), agentsOptions{data: data, format: "table", silentAfter: time.Hour}, &out); err != nil {
			t.Fatalf("%s table: %v", name, err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) < 2 || !strings.HasPrefix(strings.TrimSpace(lines[0]), "agent_id") || strings.Contains(lines[0], "spool_bytes") ||
			!strings.Contains(out.String(), "app-7") || !strings.Contains(out.String(), "debian-12") {
			t.Errorf("%s table:\n%s", name, out.String())
		}
	}
	// The caller's mistakes are usage errors (exit 2).
	for _, o := range []agentsOptions{{data: remote, format: "yaml", silentAfter: time.Minute}, {data: remote, format: "table"}} {
		var u usageError
		if err := runAgents(context.Background(), o, &out); !errors.As(err, &u) {
			t.Errorf("%+v: %v, want a usage error", o, err)
		}
	}
}
