package auditd

import (
	"bytes"
	"strings"
	"testing"
	"time"

	libaudit "github.com/elastic/go-libaudit/v2"
	"github.com/elastic/go-libaudit/v2/aucoalesce"
	"github.com/elastic/go-libaudit/v2/auparse"
	json "github.com/goccy/go-json"
)

// eventOf fills every part of an aucoalesce.Event from s, so that one
// string exercises every member appendEvent writes; full leaves the
// optional parts out when false.
func eventOf(s string, full bool) *aucoalesce.Event {
	ev := &aucoalesce.Event{
		Timestamp: time.Unix(1700000000, 123000000).UTC(),
		Sequence:  4294967295,
		Category:  aucoalesce.EventTypeAuditRule,
		Type:      auparse.AUDIT_SYSCALL,
		Session:   s,
	}
	if !full {
		return ev
	}
	m := map[string]string{s: s, "a": s, "z<&>": "", "\u2028": "x"}
	ev.Result = s
	ev.Tags = []string{s, ""}
	ev.Summary = aucoalesce.Summary{Actor: aucoalesce.Actor{Primary: s, Secondary: s}, Action: s,
		Object: aucoalesce.Object{Type: s, Primary: s, Secondary: s}, How: s}
	ev.User = aucoalesce.User{IDs: m, Names: map[string]string{}, SELinux: m}
	ev.Process = aucoalesce.Process{PID: s, PPID: s, Title: s, Name: s, Exe: s, CWD: s, Args: []string{s}}
	ev.File = &aucoalesce.File{Path: s, Device: s, Inode: s, Mode: s, UID: s, GID: s, Owner: s, Group: s, SELinux: m}
	ev.Source = &aucoalesce.Address{Hostname: s, IP: s, Port: s, Path: s}
	ev.Dest = &aucoalesce.Address{}
	ev.Net = &aucoalesce.Network{Direction: aucoalesce.OutgoingDir}
	ev.Data = m
	ev.Paths = []map[string]string{m, nil, {}}
	ev.ECS.Event = aucoalesce.ECSEvent{Kind: s, Category: []string{s}, Type: []string{s, s}, Outcome: s}
	ev.ECS.User.Name, ev.ECS.User.ID = s, s
	ev.ECS.User.Target.ID = s
	ev.ECS.Group.Name = s
	return ev
}

// checkEventJSON holds appendEvent to json.Marshal, without key orders
// and with ko, which the caller keeps from event to event.
func checkEventJSON(t *testing.T, ev *aucoalesce.Event, ko *keyOrders) {
	t.Helper()
	checkEventJSONWith(t, ev, nil)
	checkEventJSONWith(t, ev, ko)
}

func checkEventJSONWith(t *testing.T, ev *aucoalesce.Event, ko *keyOrders) {
	t.Helper()
	want, err := json.Marshal(ev)
	got, ok := appendEvent([]byte("x"), ev, ko)
	if err != nil {
		if ok {
			t.Fatalf("json.Marshal fails (%v), appendEvent wrote %s", err, got)
		}
		return
	}
	if !ok {
		t.Fatalf("appendEvent refused what json.Marshal writes: %s", want)
	}
	if !bytes.Equal(got[1:], want) {
		t.Fatalf("appendEvent:\n%s\njson.Marshal:\n%s", got[1:], want)
	}
}

func TestEventJSONMatchesMarshal(t *testing.T) {
	ko := &keyOrders{}
	for _, s := range []string{"", "plain", `q"b\s`, "<a&b>", "\x00\x01\x1f\x7f\t\n\r\b\f",
		"caf\u00e9 \u2028\u2029 \ufffd", "bad\xff\xfe utf8 \xed\xa0\x80 \xe2\x80", "日本語"} {
		checkEventJSON(t, eventOf(s, true), ko)
		checkEventJSON(t, eventOf(s, false), ko)
	}
	for _, ts := range []time.Time{time.Unix(0, 0).UTC(), time.Unix(1700000000, 100000000).UTC(),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		ev := eventOf("x", true)
		ev.Timestamp = ts
		checkEventJSON(t, ev, ko)
	}
	ev := eventOf("x", true)
	ev.Net.Direction = 0
	ev.Category, ev.Type = 255, 0
	checkEventJSON(t, ev, ko)
}

func FuzzEventJSON(f *testing.F) {
	f.Add("plain", true)
	f.Add("<\xff\u2028\"\\\x00>", false)
	ko := &keyOrders{}
	f.Fuzz(func(t *testing.T, s string, full bool) {
		checkEventJSON(t, eventOf(s, full), ko)
	})
}

// coalesced returns the coalesced events of the benchmark's log.
func coalesced(b *testing.B) []*aucoalesce.Event {
	text, _ := benchLog(b, 6000)
	var evs []*aucoalesce.Event
	s := &collectStream{evs: &evs}
	re, _ := libaudit.NewReassembler(maxInFlight, reassemblyTimeout, s)
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		msg, err := auparse.ParseLogLine(l)
		if err != nil {
			b.Fatal(err)
		}
		re.PushMessage(msg)
	}
	_ = re.Close()
	return evs
}

type collectStream struct{ evs *[]*aucoalesce.Event }

func (s *collectStream) ReassemblyComplete(msgs []*auparse.AuditMessage) {
	if ev, err := aucoalesce.CoalesceMessages(msgs); err == nil {
		*s.evs = append(*s.evs, ev)
	}
}
func (s *collectStream) EventsLost(int) {}

// BenchmarkEventJSON writes the coalesced events with appendEvent;
// BenchmarkEventJSONMarshal, its baseline, with json.Marshal.
func BenchmarkEventJSON(b *testing.B) {
	evs := coalesced(b)
	b.ReportAllocs()
	b.ResetTimer()
	var buf []byte
	var ko keyOrders
	for i := 0; i < b.N; i++ {
		buf, _ = appendEvent(buf[:0], evs[i%len(evs)], &ko)
	}
}

func BenchmarkEventJSONMarshal(b *testing.B) {
	evs := coalesced(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := json.Marshal(evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
	}
}
