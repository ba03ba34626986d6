package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
)

// hostSink keeps each event's hostname and agent_id.
type hostSink struct {
	mu     sync.Mutex
	hosts  []string
	agents []string
}

func (h *hostSink) sink(_ context.Context, evs []*event.Event) (int, int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range evs {
		h.hosts = append(h.hosts, e.Str[event.Hostname])
		h.agents = append(h.agents, e.Str[event.AgentID])
	}
	return len(evs), 0, nil
}

// A raw audit log that names no host (no node=) is refused unless the
// caller names one; events never go in without a host.
func TestAuditdNeedsHost(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "audit.log")
	if err := os.WriteFile(p, []byte(auditLines), 0o644); err != nil {
		t.Fatal(err)
	}

	h := &hostSink{}
	sum, err := Run(context.Background(), []string{p}, h.sink, Options{Org: "o"})
	if err != nil {
		t.Fatal(err)
	}
	want := "raw auditd in " + p + " has no node= field: name its host with --host"
	if len(sum.Refused) != 1 || sum.Refused[0] != want || len(h.hosts) != 0 {
		t.Fatalf("refused %q, %d events; want %q and none", sum.Refused, len(h.hosts), want)
	}
	// The server names its own way of giving the host.
	sum, _ = Run(context.Background(), []string{p}, h.sink, Options{Org: "o", HostFlag: "?host="})
	if len(sum.Refused) != 1 || !strings.HasSuffix(sum.Refused[0], "name its host with ?host=") {
		t.Errorf("refused %q", sum.Refused)
	}

	sum, err = Run(context.Background(), []string{p}, h.sink, Options{Org: "o", Host: "web01"})
	if err != nil || len(sum.Refused) != 0 || len(h.hosts) != 1 {
		t.Fatalf("--host: %v, refused %q, %d events", err, sum.Refused, len(h.hosts))
	}
	if h.hosts[0] != "web01" || h.agents[0] != parse.HostAgentID("web01") {
		t.Errorf("hostname %q agent_id %q, want web01 and %s", h.hosts[0], h.agents[0], parse.HostAgentID("web01"))
	}
	// node= names the host: no flag needed, and it wins over --host.
	node := filepath.Join(dir, "node.log")
	if err := os.WriteFile(node, []byte(strings.ReplaceAll(auditLines, "type=", "node=db7 type=")), 0o644); err != nil {
		t.Fatal(err)
	}
	h = &hostSink{}
	sum, _ = Run(context.Background(), []string{node}, h.sink, Options{Org: "o", Host: "web01"})
	if len(sum.Refused) != 0 || len(h.hosts) != 1 || h.hosts[0] != "db7" || h.agents[0] != parse.HostAgentID("db7") {
		t.Errorf("node=: refused %q, hosts %q agents %q", sum.Refused, h.hosts, h.agents)
	}
}

// The summary counts, per format, what was read (lines or records) and
// the events that came of it.
func TestSummaryPerFormat(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.log"), []byte(auditLines+strings.ReplaceAll(auditLines, ":92733)", ":92734)")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.ndjson"), lines(5, map[int]string{3: "not json"}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.json"), []byte(`{"Records":[`+strings.ReplaceAll(ctRecord, "ID", "1")+","+strings.ReplaceAll(ctRecord, "ID", "2")+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, _ := runFiles(t, Options{Host: "web01"}, dir)
	for _, c := range []struct {
		format          string
		records, events int64
	}{{"auditd", 8, 2}, {"threatstack", 5, 4}, {"cloudtrail", 2, 2}} {
		if sum.Records[c.format] != c.records || sum.Events[c.format] != c.events || sum.Formats[c.format] != 1 {
			t.Errorf("%s: %d inputs, %d records, %d events; want 1, %d, %d", c.format, sum.Formats[c.format],
				sum.Records[c.format], sum.Events[c.format], c.records, c.events)
		}
	}
	if _, ok := sum.Counts[parse.CountRecords]; ok {
		t.Errorf("records tallied among the counts too: %v", sum.Counts)
	}
}
