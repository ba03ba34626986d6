package auditd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
)

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// stripTails removes the enrichment tails of text.
func stripTails(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if j := strings.IndexByte(l, 0x1d); j >= 0 {
			lines[i] = l[:j]
		}
	}
	return strings.Join(lines, "\n")
}

// prefixLines puts prefix before every non-empty line of text.
func prefixLines(text, prefix string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

// sameFields fails unless a and b hold the same typed fields, but for
// those named in skip.
func sameFields(t *testing.T, a, b *event.Event, skip ...event.FieldID) {
	t.Helper()
	for _, f := range event.Catalog() {
		if slices.Contains(skip, f.ID) {
			continue
		}
		va, oka := a.Value(f.ID)
		vb, okb := b.Value(f.ID)
		if oka != okb || va.String() != vb.String() {
			t.Errorf("%s: %v %q vs %v %q", f.Name, oka, va.String(), okb, vb.String())
		}
	}
}

func TestSyslogAndEnrichment(t *testing.T) {
	enriched := readTestdata(t, "enriched.log")
	plain := stripTails(enriched)
	base := decode(t, plain)
	if len(base.events) != 2 || len(base.rejects) != 0 {
		t.Fatalf("plain: %d events, rejects %v; want 2", len(base.events), base.rejects)
	}
	if base.events[0].Has(event.User) || base.events[0].Has(event.Hostname) {
		t.Errorf("plain record has user %q host %q", base.events[0].Str[event.User], base.events[0].Str[event.Hostname])
	}
	// The login event: acct is the user, addr the source.
	login := base.events[1]
	checkStr(t, login, event.EventType, "login")
	checkStr(t, login, event.Type, "user_login")
	checkStr(t, login, event.User, "wardog")
	checkStr(t, login, event.SrcIP, "10.0.0.7")
	checkStr(t, login, event.TTY, "/dev/pts/1")
	checkStr(t, login, event.Exe, "/usr/sbin/sshd")
	checkBool(t, login, event.Success, true)
	checkInt(t, login, event.Session, 105)

	cases := []struct {
		name, text, host string
	}{
		{"rfc3164", prefixLines(plain, "Nov 10 07:48:12 myhost audispd: "), "myhost"},
		{"rfc3164 pri node", prefixLines(plain, "<13>Nov 10 07:48:12 relay audisp-syslog: node=auditnode "), "auditnode"},
		{"rfc3164 one-digit day", prefixLines(plain, "Nov  1 07:48:12 myhost audispd: "), "myhost"},
		{"rfc5424", prefixLines(plain, "<13>1 2020-11-10T07:48:12.155Z myhost audisp-syslog - - - "), "myhost"},
		{"rsyslog iso", prefixLines(plain, "2020-11-10T07:48:12.155+00:00 myhost audispd: "), "myhost"},
		{"node only", prefixLines(plain, "node=n1 "), "n1"},
		{"enriched", enriched, ""},
		{"enriched behind syslog", prefixLines(enriched, "Nov 10 07:48:12 myhost audispd: "), "myhost"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := decode(t, c.text)
			if len(got.events) != len(base.events) || len(got.rejects) != 0 {
				t.Fatalf("%d events, rejects %v; want %d", len(got.events), got.rejects, len(base.events))
			}
			for i, e := range got.events {
				sameFields(t, e, base.events[i], event.Hostname, event.AgentID, event.ID, event.User, event.Group)
				if c.host != "" {
					checkStr(t, e, event.Hostname, c.host)
				} else if e.Has(event.Hostname) {
					t.Errorf("hostname %q, want none", e.Str[event.Hostname])
				}
			}
			if strings.Contains(c.name, "enriched") {
				checkStr(t, got.events[0], event.User, "wardog")
				checkStr(t, got.events[0], event.Group, "wardog")
				checkStr(t, got.events[1], event.User, "wardog") // acct= wins over UID="root"
				if !bytes.Contains(got.events[0].Raw, []byte(`\u001dARCH=x86_64`)) {
					t.Errorf("Raw records lost the enrichment tail: %s", got.events[0].Raw)
				}
			} else {
				sameFields(t, got.events[0], base.events[0], event.Hostname, event.AgentID, event.ID)
			}
			if bytes.Contains(got.events[0].Raw, []byte("audispd")) {
				t.Errorf("Raw records kept the syslog prefix: %s", got.events[0].Raw)
			}
		})
	}
}

// seqLines are records of events 1, 2 and 5, interleaved.
const seqLines = `type=SYSCALL msg=audit(1700000000.100:1): arch=c000003e syscall=59 success=yes exit=0 items=1 ppid=1 pid=10 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="ls" exe="/bin/ls" key=(null)
type=SYSCALL msg=audit(1700000000.200:2): arch=c000003e syscall=42 success=no exit=-111 items=0 ppid=1 pid=20 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="curl" exe="/usr/bin/curl" key=(null)
type=EXECVE msg=audit(1700000000.100:1): argc=2 a0="ls" a1="-l"
type=SOCKADDR msg=audit(1700000000.200:2): saddr=02000050C0A80001
type=CWD msg=audit(1700000000.100:1): cwd="/root"
type=PATH msg=audit(1700000000.100:1): item=0 name="/bin/ls" inode=1 dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL
type=PROCTITLE msg=audit(1700000000.200:2): proctitle=6375726C00687474703A2F2F3139322E3136382E302E31
type=PROCTITLE msg=audit(1700000000.100:1): proctitle=6C73002D6C
type=CONFIG_CHANGE msg=audit(1700000000.500:5): auid=4294967295 ses=4294967295 op=set audit_enabled=1 old=1 res=1
`

func TestOrderAndGaps(t *testing.T) {
	c := decode(t, seqLines)
	if len(c.events) != 3 || len(c.rejects) != 0 {
		t.Fatalf("%d events, rejects %v; want 3", len(c.events), c.rejects)
	}
	if g := c.counts[CountGaps]; g != 2 {
		t.Errorf("gaps = %d, want 2 (sequences 1, 2, 5)", g)
	}
	ls, curl, cfg := c.events[0], c.events[1], c.events[2]
	checkList(t, ls, event.Args, []string{"ls", "-l"})
	checkStr(t, ls, event.CWD, "/root")
	checkList(t, ls, event.Path, []string{"/bin/ls"})
	checkStr(t, ls, event.Syscall, "execve")
	checkInt(t, ls, event.EventTime, 1700000000100)

	checkStr(t, curl, event.Syscall, "connect")
	checkBool(t, curl, event.Success, false)
	checkStr(t, curl, event.Exit, "ECONNREFUSED")
	checkStr(t, curl, event.DstIP, "192.168.0.1")
	checkInt(t, curl, event.DstPort, 80)
	checkStr(t, curl, event.Direction, "outbound")
	checkInt(t, curl, event.AUID, 4294967295)
	checkInt(t, curl, event.Session, 4294967295)
	// no EXECVE: the arguments come from PROCTITLE, split on NUL
	checkList(t, curl, event.Args, []string{"curl", "http://192.168.0.1"})
	checkStr(t, curl, event.Arguments, "curl http://192.168.0.1")

	checkStr(t, cfg, event.Type, "config_change")
	checkStr(t, cfg, event.EventType, "audit")
	checkBool(t, cfg, event.Success, true)

	// A sequence that starts again (auditd restarted) counts no gap, and
	// does not wrap around to billions.
	c = decode(t, seqLines+strings.ReplaceAll(seqLines, "1700000000", "1700000100"))
	if len(c.events) != 6 {
		t.Fatalf("%d events, want 6", len(c.events))
	}
	if g := c.counts[CountGaps]; g != 4 {
		t.Errorf("gaps = %d, want 4", g)
	}
}

func TestMalformedLines(t *testing.T) {
	good := strings.Split(strings.TrimSpace(seqLines), "\n")
	lines := []string{
		good[0],
		"this is not an audit record", // 2
		good[1],
		"type=SYSCALL msg=audit(bad): arch=c000003e", // 4
		"", // blank: skipped silently
		"type=NO_SUCH_TYPE msg=audit(1.1:1): x=1", // 6
		"type=SYSCALL", // 7
	}
	lines = append(lines, good[2:]...)
	c := decode(t, strings.Join(lines, "\n")) // no final newline
	var at []int64
	for _, r := range c.rejects {
		if r.Reason != ReasonMalformed || r.Detail == "" {
			t.Errorf("rejection %+v", r)
		}
		at = append(at, r.Line)
	}
	if !slices.Equal(at, []int64{2, 4, 6, 7}) {
		t.Errorf("rejected lines %v, want [2 4 6 7]", at)
	}
	if len(c.events) != 3 {
		t.Fatalf("%d events, want 3", len(c.events))
	}
	checkList(t, c.events[0], event.Args, []string{"ls", "-l"})
	checkStr(t, c.events[2], event.Type, "config_change")
}

func TestEventTooLarge(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("type=SYSCALL msg=audit(1700000000.100:1): arch=c000003e syscall=2 success=yes exit=3 items=40 ppid=1 pid=10 auid=0 uid=0 gid=0 comm=\"x\" exe=\"/x\"\n")
	long := strings.Repeat("a", 60000)
	for i := range 40 {
		sb.WriteString("type=PATH msg=audit(1700000000.100:1): item=" + string(rune('0'+i%10)) + ` name="/` + long + `"` + "\n")
	}
	sb.WriteString("type=PROCTITLE msg=audit(1700000000.100:1): proctitle=78\n")
	sb.WriteString(strings.Split(seqLines, "\n")[8] + "\n")
	c := decode(t, sb.String())
	if len(c.rejects) != 1 || c.rejects[0].Reason != ReasonEventTooLarge || c.rejects[0].Line != 1 {
		t.Fatalf("rejects %+v, want one %q at line 1", c.rejects, ReasonEventTooLarge)
	}
	if len(c.events) != 1 {
		t.Fatalf("%d events, want the one after", len(c.events))
	}
	for _, e := range c.events {
		if len(e.Raw) > event.MaxEventBytes {
			t.Errorf("Raw of %d bytes", len(e.Raw))
		}
	}
}

// hugeLine is a reader of one line of n bytes of audit-looking text, then
// tail, generated as it is read.
type hugeLine struct {
	head  string
	n     int64 // bytes of filler left
	tail  *strings.Reader
	chunk []byte
}

func (h *hugeLine) Read(p []byte) (int, error) {
	if h.head != "" {
		n := copy(p, h.head)
		h.head = h.head[n:]
		return n, nil
	}
	if h.n > 0 {
		m := int64(len(p))
		if m > h.n {
			m = h.n
		}
		if m > int64(len(h.chunk)) {
			m = int64(len(h.chunk))
		}
		n := copy(p[:m], h.chunk)
		h.n -= int64(n)
		return n, nil
	}
	return h.tail.Read(p)
}

func TestHugeLineBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 1 GiB")
	}
	const size = 1 << 30
	chunk := bytes.Repeat([]byte("a=b "), 64<<10/4)
	r := &hugeLine{
		head:  "type=SYSCALL msg=audit(1700000000.100:1): ",
		n:     size,
		chunk: chunk,
		tail:  strings.NewReader("\n" + seqLines),
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c := &collector{}
	if err := New().Decode(context.Background(), r, c); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	if alloc > 64<<20 {
		t.Errorf("allocated %d MiB reading a 1 GiB line", alloc>>20)
	}
	if after.HeapInuse > 64<<20+before.HeapInuse {
		t.Errorf("heap in use grew from %d to %d MiB", before.HeapInuse>>20, after.HeapInuse>>20)
	}
	if len(c.rejects) != 1 || c.rejects[0].Reason != ReasonLineTooLong || c.rejects[0].Line != 1 {
		t.Fatalf("rejects %+v, want one %q at line 1", c.rejects, ReasonLineTooLong)
	}
	if len(c.events) != 3 {
		t.Fatalf("%d events after the long line, want 3", len(c.events))
	}
	checkList(t, c.events[0], event.Args, []string{"ls", "-l"})
	t.Logf("1 GiB line: %d KiB allocated", alloc>>10)
}

type failingOutput struct {
	collector
	err error
}

func (f *failingOutput) Event(*event.Event) error { return f.err }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestErrors(t *testing.T) {
	want := errors.New("store full")
	out := &failingOutput{err: want}
	if err := New().Decode(context.Background(), strings.NewReader(seqLines), out); !errors.Is(err, want) {
		t.Errorf("Decode with a failing output: %v, want %v", err, want)
	}
	ioErr := errors.New("disk gone")
	c := &collector{}
	r := io.MultiReader(strings.NewReader(seqLines), errReader{ioErr})
	if err := New().Decode(context.Background(), r, c); !errors.Is(err, ioErr) {
		t.Errorf("Decode with a failing reader: %v, want %v", err, ioErr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := New().Decode(ctx, strings.NewReader(seqLines), &collector{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Decode with a cancelled context: %v", err)
	}
}

func TestDetect(t *testing.T) {
	yes := []string{
		seqLines,
		"type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e",
		"node=web1 type=USER_LOGIN msg=audit(1604994496.155:1): pid=1",
		"Nov 10 07:48:12 myhost audispd: type=SYSCALL msg=audit(1604994496.155:92733): x=1",
		"<13>1 2020-11-10T07:48:12Z h a - - - node=x type=EOE msg=audit(1.1:1): ",
		"some header\nanother\ntype=CWD msg=audit(1.1:1): cwd=\"/\"",
	}
	no := []string{
		"",
		`{"type":"SYSCALL","msg":"audit(1.1:1)"}`,
		"mytype=SYSCALL msg=audit(1.1:1):",
		"type=SYSCALL msg=foo",
		"Nov 10 07:48:12 myhost sshd[1]: Accepted password for root",
	}
	for _, s := range yes {
		if !Detect([]byte(s)) {
			t.Errorf("Detect(%q) = false", s)
		}
	}
	for _, s := range no {
		if Detect([]byte(s)) {
			t.Errorf("Detect(%q) = true", s)
		}
	}
}

var _ parse.Decoder = New()
