package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/spoor-dev/spoor/internal/fleet"
)

// shipAgent posts what an agent ships at start, gzip NDJSON with an ingest
// token: its host metadata, a health event and one audit event.
func shipAgent(t *testing.T, f fixture, token, agentID, host, version string, lost, now int64) {
	t.Helper()
	lines := []map[string]any{
		{"event_type": "host", "type": "host_metadata", "agent_id": agentID, "hostname": host, "event_time": now - 2000,
			"_id": agentID + "-meta-1", "os_version": "ubuntu-24.04", "kernel": "6.8.0-45-generic",
			"private_ip": "10.0.0.5", "public_ip": "203.0.113.5", "instance_id": "i-0abc" + host, "instance_type": "t3.micro",
			"cloud_provider": "aws", "account_id": "479609474799", "region": "us-east-2", "machine_id": "m-" + host,
			"agent_version": version},
		{"event_type": "host", "type": "agent_health", "agent_id": agentID, "hostname": host, "event_time": now - 1000,
			"_id": fmt.Sprintf("%s-health-%d", agentID, now-1000), "agent_version": version, "started_at": now - 60000,
			"spool_bytes": 4096, "spool_events": 3, "lag_ms": 250, "last_send": now - 1500,
			"losses": map[string]int64{"kernel_lost": lost, "inotify_overflow": 0}, "lost_total": lost},
		{"event_type": "audit", "syscall": "execve", "exe": "/usr/bin/id", "agent_id": agentID, "hostname": host,
			"event_time": now, "_id": agentID + "-audit-1"},
	}
	var nd bytes.Buffer
	for _, l := range lines {
		b, _ := json.Marshal(l)
		nd.Write(append(b, '\n'))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(nd.Bytes())
	zw.Close()
	code, body := call(t, "POST", f.url+"/api/v1/events?format=threatstack", token, gz.Bytes(), "Content-Encoding", "gzip")
	if code != http.StatusOK {
		t.Fatalf("ship %s: %d %s", agentID, code, body)
	}
}

func agentsOf(t *testing.T, f fixture, token, query string) map[string]map[string]any {
	t.Helper()
	code, body := call(t, "GET", f.url+"/api/v1/agents"+query, token, nil)
	if code != http.StatusOK {
		t.Fatalf("agents: %d %s", code, body)
	}
	var rows []map[string]any
	if err := json.Unmarshal(body, &rows); err != nil {
		t.Fatalf("agents answer %s: %v", body, err)
	}
	out := map[string]map[string]any{}
	for _, r := range rows {
		out[fmt.Sprint(r["hostname"])] = r
	}
	return out
}

// GET /api/v1/agents lists the caller's organization's agents from what
// they shipped (last health, last host metadata, last event), hosts known
// only from imported events too; another organization's agents never.
func TestAgentsScopedToOrg(t *testing.T) {
	f := start(t, Options{})
	now := time.Now().UnixMilli()
	shipAgent(t, f, f.ingestA, "a1a1a1a1-0000-4000-8000-000000000001", "web-1", "0.9.0", 7, now)
	shipAgent(t, f, f.adminB, "b2b2b2b2-0000-4000-8000-000000000002", "secret-b", "0.9.1", 0, now)
	// A host known only from an imported file (no agent health).
	imported := `{"_id":"imp-1","event_type":"login","hostname":"legacy-1","event_time":1600362902289,"user":"root","os_version":"centos-7"}` + "\n"
	if code, body := call(t, "POST", f.url+"/api/v1/events?format=threatstack", f.adminA, []byte(imported)); code != http.StatusOK {
		t.Fatalf("import: %d %s", code, body)
	}

	a := agentsOf(t, f, f.analystA, "")
	if len(a) != 2 || a["secret-b"] != nil {
		t.Fatalf("orgA sees %v, want web-1 and legacy-1 only", a)
	}
	web := a["web-1"]
	for k, v := range map[string]any{"agent_id": "a1a1a1a1-0000-4000-8000-000000000001", "status": "ok",
		"agent_version": "0.9.0", "lag_ms": 250.0, "spool_bytes": 4096.0, "spool_events": 3.0, "lost_total": 7.0,
		"os_version": "ubuntu-24.04", "kernel": "6.8.0-45-generic", "instance_id": "i-0abcweb-1",
		"instance_type": "t3.micro", "cloud_provider": "aws", "account_id": "479609474799", "region": "us-east-2",
		"private_ip": "10.0.0.5", "public_ip": "203.0.113.5", "events": 3.0} {
		if web[k] != v {
			t.Errorf("web-1 %s = %#v, want %#v", k, web[k], v)
		}
	}
	if l, _ := web["losses"].(map[string]any); l["kernel_lost"] != 7.0 {
		t.Errorf("web-1 losses %#v", web["losses"])
	}
	if web["last_seen"] == nil || web["last_health"] == nil {
		t.Errorf("web-1 has no last_seen or last_health: %v", web)
	}
	legacy := a["legacy-1"]
	if legacy["status"] != "imported" || legacy["os_version"] != "centos-7" || legacy["agent_id"] != nil || legacy["agent_version"] != nil {
		t.Errorf("legacy-1: %v", legacy)
	}

	// The agent's _ids are kept: the same batch shipped again (a retry)
	// adds nothing.
	shipAgent(t, f, f.ingestA, "a1a1a1a1-0000-4000-8000-000000000001", "web-1", "0.9.0", 7, now)
	if n := agentsOf(t, f, f.analystA, "")["web-1"]["events"]; n != 3.0 {
		t.Errorf("web-1 has %v events after a retry, want 3", n)
	}
	if code, body := call(t, "GET", f.url+"/api/v1/events/a1a1a1a1-0000-4000-8000-000000000001-audit-1", f.analystA, nil); code != http.StatusOK {
		t.Errorf("the agent's _id was not kept: %d %s", code, body)
	}

	// An hour later with nothing more from it, web-1 is silent and listed
	// first; the imported host is not an agent that can go silent.
	later, err := fleet.Agents(context.Background(), f.db, "orgA", fleet.Options{Now: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(later.Rows) != 2 || later.Rows[0][1] != "web-1" || later.Rows[0][2] != fleet.StatusSilent || later.Rows[1][2] != fleet.StatusImported {
		t.Errorf("an hour later: %v", later.Rows)
	}
	if a := agentsOf(t, f, f.analystA, "?silent_after=1h"); a["web-1"]["status"] != "ok" {
		t.Errorf("silent_after=1h: web-1 %v", a["web-1"]["status"])
	}

	b := agentsOf(t, f, f.analystB, "?silent_after=1h")
	if len(b) != 1 || b["secret-b"]["status"] != "ok" || b["secret-b"]["lost_total"] != 0.0 {
		t.Errorf("orgB sees %v", b)
	}

	// Ingest tokens do not read; a bad duration is the caller's error.
	if code, _ := call(t, "GET", f.url+"/api/v1/agents", f.ingestA, nil); code != http.StatusForbidden {
		t.Errorf("ingest token: %d, want 403", code)
	}
	if code, _ := call(t, "GET", f.url+"/api/v1/agents?silent_after=soon", f.analystA, nil); code != http.StatusBadRequest {
		t.Errorf("bad silent_after: %d, want 400", code)
	}
	if code, body := call(t, "GET", f.url+"/api/v1/agents?format=csv", f.analystA, nil); code != http.StatusOK || !bytes.HasPrefix(body, []byte("agent_id,hostname,status")) {
		t.Errorf("csv: %d %.80s", code, body)
	}
}
