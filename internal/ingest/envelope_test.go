package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse/auditd"
)

// keeper is a sink that keeps the events by _id.
type keeper struct {
	mu  sync.Mutex
	evs map[string]*event.Event
}

func (k *keeper) sink(_ context.Context, evs []*event.Event) (int, int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, e := range evs {
		k.evs[e.Str[event.ID]] = e
	}
	return len(evs), 0, nil
}

// TestAgentEnvelopesIngested: a file of the agent's audit envelopes (what
// `spoor agent --out` writes) is recognised and its records decoded, as
// lines and as pretty-printed objects; a file opening with an envelope
// without agent_id is recognised too; a record or an envelope that cannot be read is rejected
// at its line, saying why, and the rest is kept.
func TestAgentEnvelopesIngested(t *testing.T) {
	recs := strings.Split(strings.TrimSpace(auditLines), "\n")
	quoted := make([]string, len(recs))
	for i, r := range recs {
		quoted[i] = string(event.AppendJSONString(nil, r))
	}
	all := "[" + strings.Join(quoted, ",") + "]"
	other := strings.ReplaceAll(all, "92733", "92734")
	withBad := "[" + strings.ReplaceAll(strings.Join(quoted, ","), ":92733", ":92735") + `,"garbage"]`
	for name, body := range map[string]string{
		"lines": `{"hostname":"web-2","audit_records":` + other + "}\n" +
			`{"_id":"e1","agent_id":"a1","hostname":"web-1","pid":1631,"audit_records":` + all + "}\n" +
			`{"_id":"e3","audit_records":` + withBad + ",\"container_runtime\":\"docker\",\"containerId\":\"c1\"}\n" +
			`{"_id":"e4","audit_records":"not a list"}` + "\n",
		"pretty": "{\n  \"audit_records\": " + all + ",\n  \"_id\": \"e1\",\n  \"agent_id\": \"a1\",\n  \"hostname\": \"web-1\"\n}\n" +
			"{\n  \"hostname\": \"web-2\",\n  \"audit_records\": " + other + "\n}\n" +
			"{\"_id\":\"e3\",\"containerId\":\"c1\",\"container_runtime\":\"docker\",\n\"audit_records\":" + withBad + "}\n" +
			"{\"_id\":\"e4\",\n\"audit_records\":\"not a list\"}\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "agent.ndjson")
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			k := &keeper{evs: map[string]*event.Event{}}
			sum, err := Run(context.Background(), []string{p}, k.sink, Options{Org: "o"})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Stored != 3 || sum.Rejected != 2 || sum.Formats["threatstack"] != 1 {
				t.Fatalf("stored %d, rejected %d (%v), formats %v; want 3 stored, 2 rejected, threatstack", sum.Stored, sum.Rejected, sum.Samples, sum.Formats)
			}
			e1 := k.evs["e1"]
			if e1 == nil || e1.Str[event.Exe] != "/usr/sbin/arp" || e1.Str[event.AgentID] != "a1" || e1.Str[event.Hostname] != "web-1" ||
				e1.Str[event.OrganizationID] != "o" || e1.Int[event.EventTime] != 1604994496155 {
				t.Fatalf("e1: %+v", e1)
			}
			var e2 *event.Event
			for id, e := range k.evs {
				if id != "e1" && id != "e3" {
					e2 = e
				}
			}
			if e2 == nil || e2.Str[event.Hostname] != "web-2" || e2.Str[event.AgentID] == "" || e2.Str[event.Command] != "arp" {
				t.Fatalf("the envelope without _id or agent_id: %+v", e2)
			}
			e3 := k.evs["e3"]
			if e3 == nil || e3.Str[event.ContainerID] != "c1" || !strings.Contains(string(e3.Raw), `"container_runtime":"docker"`) {
				t.Fatalf("e3: %+v", e3)
			}
			reasons := map[string]bool{}
			for _, r := range sum.Samples {
				reasons[r.Reason] = true
				if r.Line < 3 {
					t.Errorf("rejection %+v: not at the line of the envelope it is in", r)
				}
			}
			if !reasons[auditd.ReasonMalformed] || !reasons[auditd.ReasonBadEnvelope] {
				t.Errorf("rejections %+v; want a malformed record and a malformed envelope", sum.Samples)
			}
			for _, r := range sum.Samples {
				if r.Reason == auditd.ReasonMalformed && !strings.HasPrefix(r.Detail, "audit record 5: ") {
					t.Errorf("the bad record's rejection does not say which record: %+v", r)
				}
			}
		})
	}
}
