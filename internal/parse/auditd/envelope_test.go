package auditd

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spoor-dev/spoor/internal/event"
)

const envSyscall = `type=SYSCALL msg=audit(1700000000.001:2): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=0 ppid=9 pid=1632 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=104 comm="grep" exe="/bin/grep" key=(null)`

func envelopeOf(t testing.TB, members map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(members)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEnvelopeNamesItsEvent: the envelope's _id, agent_id, container and
// host name the decoded event; its other members are kept in Raw.
func TestEnvelopeNamesItsEvent(t *testing.T) {
	line := envelopeOf(t, map[string]any{
		"_id": "id-1", "agent_id": "agent-1", "hostname": "web-1", "pid": 1632, "containerId": "c0ffee",
		"container_runtime": "docker", "records": "an envelope member named like Raw's",
		EnvelopeKey: []string{envSyscall, `type=EXECVE msg=audit(1700000000.001:2): argc=2 a0="grep" a1="x"`, "not a record"},
	})
	c := &collector{}
	ok, err := New().Whole().Envelope(line, c)
	if !ok || err != nil || len(c.events) != 1 {
		t.Fatalf("ok %v, err %v, %d events", ok, err, len(c.events))
	}
	e := c.events[0]
	checkStr(t, e, event.ID, "id-1")
	checkStr(t, e, event.AgentID, "agent-1")
	checkStr(t, e, event.Hostname, "web-1")
	checkStr(t, e, event.ContainerID, "c0ffee")
	checkStr(t, e, event.Exe, "/bin/grep")
	checkStr(t, e, event.Arguments, "grep x")
	checkInt(t, e, event.PID, 1632)
	if len(c.rejects) != 1 || c.rejects[0].Line != 3 || c.rejects[0].Reason != ReasonMalformed {
		t.Errorf("rejections %+v, want the third record's", c.rejects)
	}
	var raw map[string]any
	if err := json.Unmarshal(e.Raw, &raw); err != nil {
		t.Fatalf("Raw %s: %v", e.Raw, err)
	}
	if raw["container_runtime"] != "docker" || raw["envelope_records"] != "an envelope member named like Raw's" {
		t.Errorf("the envelope's other members are not in Raw: %s", e.Raw)
	}
	if recs, _ := raw["records"].([]any); len(recs) != 2 {
		t.Errorf("Raw's records: %v", raw["records"])
	}
}

// TestEnvelopeRefusals: what is not an envelope is left alone; an
// envelope that cannot be read says why.
func TestEnvelopeRefusals(t *testing.T) {
	for _, line := range []string{
		`{"event_type":"audit","exe":"/bin/ls"}`,
		`{"nested":{"audit_records":["x"]}}`,
		`{"audit_records": [`, // not JSON: the line's own reader says why
	} {
		if ok, err := New().Whole().Envelope([]byte(line), &collector{}); ok || err != nil {
			t.Errorf("%s: ok %v, err %v; want it left alone", line, ok, err)
		}
	}
	for line, want := range map[string]string{
		`{"audit_records":[]}`:                                                   "audit_records is empty",
		`{"audit_records":"type=SYSCALL"}`:                                       "audit_records: want an array of strings (record lines), got \"type=SYSCALL\"",
		`{"audit_records":["x"],"_id":7}`:                                        "_id: want a string, got 7",
		`{"audit_records":["` + strings.Repeat("a", event.MaxEventBytes) + `"]}`: "bytes, limit",
	} {
		ok, err := New().Whole().Envelope([]byte(line), &collector{})
		if !ok || err == nil || !strings.Contains(err.Error()+rejectDetail(err), want) {
			t.Errorf("%.60s: ok %v, err %v; want a refusal naming %q", line, ok, err, want)
		}
	}
}

func rejectDetail(err error) string {
	if re, ok := err.(*event.RejectError); ok {
		return re.Reason + ": " + re.Detail
	}
	return ""
}

// FuzzEnvelope: whatever the line, Envelope does not panic, and each event
// it makes has a Raw that is one JSON object of valid UTF-8 within the
// size limit.
func FuzzEnvelope(f *testing.F) {
	f.Add(`{"_id":"x","agent_id":"a","hostname":"h","pid":1,"audit_records":["` + strings.ReplaceAll(envSyscall, `"`, `\"`) + `"],"extra":{"k":[1,2]}}`)
	f.Add(`{"audit_records":["node=n type=USER_LOGIN msg=audit(1.1:2): pid=1 msg='acct=\"r\" res=failed'","type=EOE msg=audit(1.1:2):"],"records":1}`)
	f.Add(`{"audit_records":[]}`)
	f.Add(`{"audit_records":null,"containerId":"c"}`)
	f.Fuzz(func(t *testing.T, line string) {
		c := &collector{}
		_, _ = New().Whole().Envelope([]byte(line), c)
		for _, e := range c.events {
			if len(e.Raw) > 2*event.MaxEventBytes || !utf8.Valid(e.Raw) {
				t.Fatalf("Raw of %d bytes, valid UTF-8 %v", len(e.Raw), utf8.Valid(e.Raw))
			}
			var m map[string]any
			if err := json.Unmarshal(e.Raw, &m); err != nil {
				t.Fatalf("Raw is not a JSON object: %v: %s", err, e.Raw)
			}
		}
	})
}

// MaybeEnvelope searches the member's rarer tail first; it says the same as
// a search for the whole member.
func TestMaybeEnvelopeFindsTheMember(t *testing.T) {
	for line, want := range map[string]bool{
		`{"audit_records":[]}`:                      true,
		`{"_id":"x","audit_records":["a"],"pid":1}`: true,
		`{"other_records":[],"audit_records":[]}`:   true,
		`{"other_records":[]}`:                      false,
		`{"audit_records" :[]}`:                     false,
		`{"x":"audit_records"}`:                     false,
		`{"x":"_records\":","audit_records":[]}`:    true,
		``:                                          false,
		`_records":`:                                false,
	} {
		if got := MaybeEnvelope([]byte(line)); got != want {
			t.Errorf("MaybeEnvelope(%s) = %v, want %v", line, got, want)
		}
	}
}
