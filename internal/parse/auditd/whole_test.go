package auditd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
)

// groups is a GroupOutput that keeps copies of what Group hands over.
type groups struct {
	recs    []Records
	rejects []parse.Rejection
}

func (g *groups) Event(r Records) {
	r.Lines = append([]string(nil), r.Lines...)
	g.recs = append(g.recs, r)
}
func (g *groups) Reject(rj parse.Rejection) { g.rejects = append(g.rejects, rj) }

// wholeCorpus is every audit log the tests can read: go-libaudit's own
// test logs, the aucoalesce cases, the enriched log and the datasets.
func wholeCorpus(t *testing.T) map[string]string {
	t.Helper()
	c := map[string]string{}
	if dir := libauditDir(); dir != "" {
		logs, _ := filepath.Glob(filepath.Join(dir, "auparse", "testdata", "*.log"))
		for _, p := range logs {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			c[filepath.Base(p)] = string(b)
		}
		cases, _ := filepath.Glob(filepath.Join(dir, "aucoalesce", "testdata", "*.yaml"))
		for _, p := range cases {
			for name, text := range readYAMLCases(t, p) {
				c[filepath.Base(p)+"/"+name] = text
			}
		}
	}
	b, err := os.ReadFile("testdata/enriched.log")
	if err != nil {
		t.Fatal(err)
	}
	c["enriched.log"] = string(b)
	for _, z := range []string{"sh_arp_cache.zip", "sh_binary_padding_dd.zip"} {
		if _, err := os.Stat(filepath.Join(datasets, z)); err == nil {
			c[z] = readZip(t, z)
		}
	}
	// A log with the oddities Decode copes with: a syslog prefix, node=
	// fields of two hosts interleaved, a record of an event arriving after
	// another event's, a daemon record, a line that is no record, EOE, two
	// user-space messages of one serial (each an event of its own).
	c["odd"] = strings.Join([]string{
		`<13>Nov 10 07:48:12 web1 audispd: type=SYSCALL msg=audit(1604994496.155:10): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=1 ppid=1 pid=2 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="id" exe="/usr/bin/id" key=(null)`,
		`node=db1 type=SYSCALL msg=audit(1604994496.156:10): arch=c000003e syscall=42 success=yes exit=0 a0=3 a1=5 a2=10 a3=0 items=0 ppid=1 pid=7 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=3 comm="curl" exe="/usr/bin/curl" key=(null)`,
		`<13>Nov 10 07:48:12 web1 audispd: type=EXECVE msg=audit(1604994496.155:10): argc=1 a0="id"`,
		`node=db1 type=SOCKADDR msg=audit(1604994496.156:10): saddr=02000050C0A80001000000000000000000`,
		`<13>Nov 10 07:48:12 web1 audispd: type=EOE msg=audit(1604994496.155:10): `,
		`node=db1 type=EOE msg=audit(1604994496.156:10): `,
		`type=DAEMON_START msg=audit(1604994497.000:4000): op=start ver=2.8.5 format=raw kernel=5.4.0 auid=4294967295 pid=1 uid=0 ses=4294967295 subj=unconfined res=success`,
		`this is not an audit record`,
		`type=USER_ACCT msg=audit(1604994498.000:12): pid=9 uid=0 auid=1000 ses=3 msg='op=PAM:accounting grantors=pam_unix acct="root" exe="/usr/sbin/sshd" hostname=10.0.0.1 addr=10.0.0.1 terminal=ssh res=success'`,
		`type=USER_START msg=audit(1604994498.000:12): pid=9 uid=0 auid=1000 ses=3 msg='op=PAM:session_open grantors=pam_unix acct="root" exe="/usr/sbin/sshd" hostname=10.0.0.1 addr=10.0.0.1 terminal=ssh res=success'`,
		`type=USER_LOGIN msg=audit(1604994498.000:11): pid=9 uid=0 auid=1000 ses=3 msg='op=login id=1000 exe="/usr/sbin/sshd" hostname=10.0.0.1 addr=10.0.0.1 terminal=/dev/pts/1 res=success'`,
	}, "\n") + "\n"
	return c
}

// TestWholeMatchesDecode holds the two halves the agent and the server
// split the decoder into (Group on the host, Whole on the server) to the
// decoder itself: for every log, the events Whole makes of Group's
// records are Decode's events, with Decode's _ids, in Decode's order.
func TestWholeMatchesDecode(t *testing.T) {
	corpus := wholeCorpus(t)
	if len(corpus) < 4 {
		t.Fatalf("only %d logs found", len(corpus))
	}
	total := 0
	for name, text := range corpus {
		d := New()
		d.Host = "h1"
		want := &collector{}
		if err := d.Decode(context.Background(), strings.NewReader(text), want); err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		g := &groups{}
		if err := d.Group(context.Background(), strings.NewReader(text), g); err != nil {
			t.Fatalf("%s: group: %v", name, err)
		}
		got := &collector{}
		w := d.Whole()
		for _, r := range g.recs {
			n := len(got.events)
			if err := w.Decode(r.Host, r.Lines, got); err != nil {
				t.Fatalf("%s: whole: %v", name, err)
			}
			for _, e := range got.events[n:] {
				if e.Str[event.ID] != r.ID {
					t.Errorf("%s: Group's ID %s, Whole's event %s", name, r.ID, e.Str[event.ID])
				}
			}
		}
		if len(got.events) != len(want.events) {
			t.Errorf("%s: %d events from Group+Whole, %d from Decode", name, len(got.events), len(want.events))
			continue
		}
		if len(g.rejects)+len(got.rejects) != len(want.rejects) {
			t.Errorf("%s: %d+%d rejections from Group+Whole, %d from Decode", name, len(g.rejects), len(got.rejects), len(want.rejects))
		}
		if msg := firstDifference(want.events, got.events); msg != "" {
			t.Errorf("%s: %s", name, msg)
		}
		total += len(want.events)
	}
	if total < 100 {
		t.Errorf("only %d events compared", total)
	}
	t.Logf("%d logs, %d events compared", len(corpus), total)
}

// firstDifference describes the first of Decode's events (want) that
// Whole's (got, as many) do not match, "" when all do.
func firstDifference(want, got []*event.Event) string {
	for i := range want {
		if a, b := describe(want[i]), describe(got[i]); a != b {
			return fmt.Sprintf("event %d differs:\nDecode: %s\nWhole:  %s", i, a, b)
		}
	}
	return ""
}

// describe renders every field an event has, and its Raw.
func describe(e *event.Event) string {
	var b bytes.Buffer
	for id := event.FieldID(0); int(id) < event.NumFields; id++ {
		if e.Has(id) {
			fmt.Fprintf(&b, "%d=%q/%d/%v ", id, e.Str[id], e.Int[id], e.List(id))
		}
	}
	b.WriteString(string(e.Raw))
	return b.String()
}

// TestWholeCutsWhereReassemblerDoes hands Whole lines that are more than
// one event, cut as go-libaudit's reassembler cuts a log: what Decode
// makes of the same lines.
func TestWholeCutsWhereReassemblerDoes(t *testing.T) {
	sys := `type=SYSCALL msg=audit(1604994496.155:20): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=1 ppid=1 pid=2 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="id" exe="/usr/bin/id" key=(null)`
	title := `type=PROCTITLE msg=audit(1604994496.155:20): proctitle=6964`
	path := `type=PATH msg=audit(1604994496.155:20): item=0 name="/usr/bin/id" inode=61 dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL`
	acct := `type=USER_ACCT msg=audit(1604994498.000:21): pid=9 uid=0 auid=1000 ses=3 msg='op=PAM:accounting acct="root" exe="/usr/sbin/sshd" hostname=? addr=? terminal=ssh res=success'`
	start := `type=USER_START msg=audit(1604994498.000:21): pid=9 uid=0 auid=1000 ses=3 msg='op=PAM:session_open acct="root" exe="/usr/sbin/sshd" hostname=? addr=? terminal=ssh res=success'`
	eoe := `type=EOE msg=audit(1604994496.155:20): `
	for name, lines := range map[string][]string{
		"a record after PROCTITLE":        {sys, title, path},
		"two user messages of one serial": {acct, start},
		"two serials":                     {sys, path, acct},
		"EOE between records":             {sys, eoe, path, title},
	} {
		want := &collector{}
		if err := New().Decode(context.Background(), strings.NewReader(strings.Join(lines, "\n")+"\n"), want); err != nil {
			t.Fatal(err)
		}
		got := &collector{}
		if err := New().Whole().Decode("", lines, got); err != nil {
			t.Fatal(err)
		}
		if len(want.events)+len(want.rejects) < 2 {
			t.Fatalf("%s: Decode made %d events and %d rejections; the case means more than one", name, len(want.events), len(want.rejects))
		}
		if len(got.events) != len(want.events) || len(got.rejects) != len(want.rejects) {
			t.Errorf("%s: Whole made %d events and %d rejections, Decode %d and %d", name, len(got.events), len(got.rejects), len(want.events), len(want.rejects))
			continue
		}
		if msg := firstDifference(want.events, got.events); msg != "" {
			t.Errorf("%s: %s", name, msg)
		}
	}
}

// FuzzWholeMatchesDecode: whatever the text, Group's records decoded by
// Whole are Decode's events, and between them they reject as many lines
// and events as Decode does.
func FuzzWholeMatchesDecode(f *testing.F) {
	f.Add(seqLines)
	if b, err := os.ReadFile("testdata/enriched.log"); err == nil {
		f.Add(string(b))
		f.Add(prefixLines(string(b), "<13>Nov 10 07:48:12 relay audisp-syslog: node=n1 "))
	}
	f.Add(execLines(1700000000, 50) + daemonEnd + daemonStart + execLines(1700000100, 2) + daemonAbort)
	f.Add("type=SOCKADDR msg=audit(1.1:7): saddr=0A000050000000002001DB8000000000000000000000000100000000\ntype=SYSCALL msg=audit(1.1:7): arch=c000003e syscall=43 success=yes exit=3\ntype=EOE msg=audit(1.1:7):")
	f.Fuzz(func(t *testing.T, text string) {
		want := &collector{}
		if err := New().Decode(context.Background(), strings.NewReader(text), want); err != nil {
			t.Fatal(err)
		}
		g := &groups{}
		if err := New().Group(context.Background(), strings.NewReader(text), g); err != nil {
			t.Fatal(err)
		}
		got := &collector{}
		w := New().Whole()
		for _, r := range g.recs {
			if err := w.Decode(r.Host, r.Lines, got); err != nil {
				t.Fatal(err)
			}
		}
		if len(got.events) != len(want.events) || len(g.rejects)+len(got.rejects) != len(want.rejects) {
			t.Fatalf("Group+Whole: %d events, %d+%d rejections; Decode: %d events, %d rejections",
				len(got.events), len(g.rejects), len(got.rejects), len(want.events), len(want.rejects))
		}
		if msg := firstDifference(want.events, got.events); msg != "" {
			t.Fatal(msg)
		}
	})
}
