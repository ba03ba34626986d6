package auditd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
)

// execLines is one execve event of serial seq at second sec.
func execLines(sec, seq int) string {
	return fmt.Sprintf(`type=SYSCALL msg=audit(%d.100:%d): arch=c000003e syscall=59 success=yes exit=0 items=1 ppid=1 pid=%d auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="id" exe="/usr/bin/id" key=(null)
type=EXECVE msg=audit(%d.100:%d): argc=1 a0="id"
type=PROCTITLE msg=audit(%d.100:%d): proctitle=6964
`, sec, seq, 1000+seq, sec, seq, sec, seq)
}

const (
	daemonEnd   = "type=DAEMON_END msg=audit(1700000050.000:2978): op=terminate auid=0 pid=1 subj=unconfined res=success\n"
	daemonStart = "type=DAEMON_START msg=audit(1700000100.000:2979): op=start ver=2.8.5 format=raw kernel=5.15.0-91-generic auid=4294967295 pid=612 uid=0 ses=4294967295 subj=unconfined res=success\n"
	daemonAbort = "type=DAEMON_ABORT msg=audit(1700000200.000:2980): op=load-config auid=0 pid=612 subj=unconfined res=failed\n"
)

// auditd numbers its own DAEMON_* records apart from the kernel's events,
// and a reboot starts the kernel's serials again: only the serials missing
// within one daemon run are lost events.
func TestDaemonRunsAndGaps(t *testing.T) {
	f := func(name string, text string, events int, gaps int64) *collector {
		t.Helper()
		c := decode(t, text)
		if len(c.events) != events || len(c.rejects) != 0 {
			t.Errorf("%s: %d events, rejects %v; want %d", name, len(c.events), c.rejects, events)
		}
		if g := c.counts[CountGaps]; g != gaps {
			t.Errorf("%s: gaps = %d, want %d", name, g, gaps)
		}
		return c
	}
	// Rebooted: the kernel's serials start again after DAEMON_START.
	rebooted := execLines(1700000000, 500) + execLines(1700000000, 501) + execLines(1700000001, 503) +
		daemonEnd + daemonStart +
		execLines(1700000101, 20) + execLines(1700000101, 21) + execLines(1700000102, 23) +
		daemonAbort
	c := f("rebooted", rebooted, 9, 2) // 502 and 22
	if n := c.counts[parse.CountRecords]; n != 21 {
		t.Errorf("records = %d, want 21", n)
	}
	// auditd restarted without a reboot: the kernel's serials go on, and
	// what it sent while no daemon listened is not counted as lost.
	f("restarted", execLines(1700000000, 500)+execLines(1700000000, 501)+daemonEnd+daemonStart+
		execLines(1700000101, 540)+execLines(1700000101, 541), 6, 0)
	// A DAEMON_START whose serial is below the kernel's, then more events.
	f("low daemon serial", execLines(1700000000, 9000)+daemonStart+execLines(1700000101, 9010)+execLines(1700000101, 9012), 4, 1)

	var daemons []*event.Event
	for _, e := range c.events {
		if strings.HasPrefix(e.Str[event.Type], "daemon_") {
			daemons = append(daemons, e)
		}
	}
	if len(daemons) != 3 {
		t.Fatalf("%d DAEMON_* events, want 3", len(daemons))
	}
	end, start, abort := daemons[0], daemons[1], daemons[2]
	checkStr(t, end, event.Type, "daemon_end")
	checkStr(t, end, event.EventType, "audit")
	checkInt(t, end, event.EventTime, 1700000050000)
	checkBool(t, end, event.Success, true)
	checkInt(t, end, event.PID, 1)

	checkStr(t, start, event.Type, "daemon_start")
	checkStr(t, start, event.EventType, "audit")
	checkStr(t, start, event.Kernel, "5.15.0-91-generic")
	checkInt(t, start, event.PID, 612)
	checkInt(t, start, event.UID, 0)
	checkBool(t, start, event.Success, true)
	for _, want := range []string{`"op":"start"`, `"ver":"2.8.5"`, "type=DAEMON_START"} {
		if !strings.Contains(string(start.Raw), want) {
			t.Errorf("DAEMON_START raw lacks %s: %s", want, start.Raw)
		}
	}
	checkStr(t, abort, event.Type, "daemon_abort")
	checkBool(t, abort, event.Success, false)
}

// sudo writes the command it ran hex-encoded in USER_CMD's cmd= (when it
// holds a space), or as it is.
func TestUserCmd(t *testing.T) {
	hex := `type=USER_CMD msg=audit(1700000300.000:700): pid=4242 uid=1000 auid=1000 ses=3 subj=unconfined msg='cwd="/home/wardog" cmd=636174202F6574632F736861646F77 exe="/usr/bin/sudo" terminal=pts/0 res=success'` + "\n"
	plain := `type=USER_CMD msg=audit(1700000301.000:701): pid=4243 uid=1000 auid=1000 ses=3 subj=unconfined msg='cwd="/home/wardog" cmd="whoami" exe="/usr/bin/sudo" terminal=pts/0 res=success'` + "\n"
	c := decode(t, hex+plain)
	if len(c.events) != 2 {
		t.Fatalf("%d events, want 2 (rejects %v)", len(c.events), c.rejects)
	}
	e := c.events[0]
	checkStr(t, e, event.Command, "cat")
	checkList(t, e, event.Args, []string{"cat", "/etc/shadow"})
	checkStr(t, e, event.Arguments, "cat /etc/shadow")
	checkStr(t, e, event.Exe, "/usr/bin/sudo")
	checkStr(t, e, event.CWD, "/home/wardog")
	e = c.events[1]
	checkStr(t, e, event.Command, "whoami")
	checkList(t, e, event.Args, []string{"whoami"})
}

// A host comes from node=, else a syslog header, else the Decoder's Host;
// with RequireHost and none of them, decoding stops before any event.
func TestHostFallback(t *testing.T) {
	text := execLines(1700000000, 1) + execLines(1700000000, 2)
	run := func(d *Decoder, text string) (*collector, error) {
		c := &collector{}
		return c, d.Decode(context.Background(), strings.NewReader(text), c)
	}
	c, err := run(&Decoder{Host: "web01", RequireHost: true}, text)
	if err != nil || len(c.events) != 2 {
		t.Fatalf("--host: %v, %d events", err, len(c.events))
	}
	for _, e := range c.events {
		checkStr(t, e, event.Hostname, "web01")
		checkStr(t, e, event.AgentID, parse.HostAgentID("web01"))
	}
	if id := parse.HostAgentID("web01"); len(id) != 36 || id == parse.HostAgentID("web02") || id != parse.HostAgentID("WEB01") {
		t.Errorf("HostAgentID(web01) = %q", id)
	}

	// node= wins over Host.
	c, err = run(&Decoder{Host: "web01", RequireHost: true}, prefixLines(text, "node=db7 "))
	if err != nil || len(c.events) != 2 {
		t.Fatalf("node=: %v, %d events", err, len(c.events))
	}
	checkStr(t, c.events[0], event.Hostname, "db7")
	checkStr(t, c.events[0], event.AgentID, parse.HostAgentID("db7"))

	c, err = run(&Decoder{RequireHost: true}, text)
	var nh *parse.NoHostError
	if !errors.As(err, &nh) || nh.Line != 1 || nh.Field != "node=" || len(c.events) != 0 {
		t.Fatalf("no host: err %v, %d events; want a NoHostError at line 1 and no event", err, len(c.events))
	}
	// Without RequireHost (the zero Decoder) the events come without a host.
	c, err = run(&Decoder{}, text)
	if err != nil || len(c.events) != 2 || c.events[0].Has(event.Hostname) || c.events[0].Has(event.AgentID) {
		t.Fatalf("lenient: %v, %d events", err, len(c.events))
	}
}
