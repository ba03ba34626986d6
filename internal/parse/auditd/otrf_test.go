package auditd

import (
	"regexp"
	"slices"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
)

var auditIDRe = regexp.MustCompile(`msg=audit\((\d+\.\d+:\d+)\)`)

// distinctIDs counts the distinct msg=audit(...) ids of text.
func distinctIDs(text string) int {
	seen := map[string]bool{}
	for _, m := range auditIDRe.FindAllStringSubmatch(text, -1) {
		seen[m[1]] = true
	}
	return len(seen)
}

func TestArpCache(t *testing.T) {
	text := readZip(t, "sh_arp_cache.zip")
	want := distinctIDs(text)
	if want != 2 {
		t.Fatalf("dataset has %d distinct audit ids, the test expects 2", want)
	}
	c := decode(t, text)
	if len(c.events) != want || len(c.rejects) != 0 {
		t.Fatalf("got %d events, %d rejects (%v), want %d events", len(c.events), len(c.rejects), c.rejects, want)
	}
	if g := c.counts[CountGaps]; g != 0 {
		t.Errorf("gaps = %d, want 0 (sequences 92733, 92734)", g)
	}
	e := c.events[0]
	checkStr(t, e, event.EventType, "audit")
	checkStr(t, e, event.Type, "syscall")
	checkStr(t, e, event.Syscall, "execve")
	checkStr(t, e, event.Exe, "/usr/sbin/arp")
	checkStr(t, e, event.Command, "arp")
	checkStr(t, e, event.CWD, "/home/wardog")
	checkStr(t, e, event.TTY, "pts0")
	checkStr(t, e, event.Exit, "0")
	checkStr(t, e, event.Arguments, "arp -a")
	checkList(t, e, event.Args, []string{"arp", "-a"})
	checkList(t, e, event.Path, []string{"/usr/sbin/arp", "/lib64/ld-linux-x86-64.so.2"})
	checkInt(t, e, event.PID, 1631)
	checkInt(t, e, event.PPID, 29002)
	checkInt(t, e, event.AUID, 1000)
	checkInt(t, e, event.UID, 1000)
	checkInt(t, e, event.GID, 1000)
	checkInt(t, e, event.Session, 104)
	checkInt(t, e, event.EventTime, 1604994496155)
	checkBool(t, e, event.Success, true)
	if e.Has(event.Hostname) || e.Has(event.User) {
		t.Errorf("hostname/user set on a plain log without enrichment: %q %q", e.Str[event.Hostname], e.Str[event.User])
	}
	if !e.Has(event.ID) || e.Str[event.ID] == c.events[1].Str[event.ID] {
		t.Errorf("ids missing or equal: %q %q", e.Str[event.ID], c.events[1].Str[event.ID])
	}
	e = c.events[1]
	checkList(t, e, event.Args, []string{"grep", "-v", "^?"})
	checkInt(t, e, event.PID, 1632)
	checkStr(t, e, event.Exe, "/bin/grep")
}

func TestBinaryPaddingDD(t *testing.T) {
	text := readZip(t, "sh_binary_padding_dd.zip")
	want := distinctIDs(text)
	c := decode(t, text)
	if len(c.events) != want || len(c.rejects) != 0 {
		t.Fatalf("got %d events, %d rejects (%v), want %d events", len(c.events), len(c.rejects), c.rejects, want)
	}
	e := c.events[0]
	checkStr(t, e, event.Exe, "/bin/dd")
	checkList(t, e, event.Args, []string{"dd", "if=/dev/zero", "bs=1", "count=1"})
	checkStr(t, e, event.CWD, "/home/wardog")
	checkInt(t, e, event.PID, 2168)
	checkInt(t, e, event.PPID, 29002)
	checkInt(t, e, event.AUID, 1000)
	checkInt(t, e, event.Session, 104)
	checkStr(t, e, event.TTY, "pts0")
}

func checkStr(t *testing.T, e *event.Event, f event.FieldID, want string) {
	t.Helper()
	if !e.Has(f) || e.Str[f] != want {
		t.Errorf("%s = %q (set %v), want %q", event.Get(f).Name, e.Str[f], e.Has(f), want)
	}
}

func checkInt(t *testing.T, e *event.Event, f event.FieldID, want int64) {
	t.Helper()
	if !e.Has(f) || e.Int[f] != want {
		t.Errorf("%s = %d (set %v), want %d", event.Get(f).Name, e.Int[f], e.Has(f), want)
	}
}

func checkBool(t *testing.T, e *event.Event, f event.FieldID, want bool) {
	t.Helper()
	if !e.Has(f) || e.Bool(f) != want {
		t.Errorf("%s = %v (set %v), want %v", event.Get(f).Name, e.Bool(f), e.Has(f), want)
	}
}

func checkList(t *testing.T, e *event.Event, f event.FieldID, want []string) {
	t.Helper()
	if !e.Has(f) || !slices.Equal(e.List(f), want) {
		t.Errorf("%s = %q (set %v), want %q", event.Get(f).Name, e.List(f), e.Has(f), want)
	}
}
