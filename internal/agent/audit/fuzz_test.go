package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/parse/auditd"
)

// FuzzFollower feeds hostile text to the follower, written to its file in
// pieces: it must not fail or hold more than a line's limit, every event
// must have an _id and a time, and where the log keeps each event's records
// together (as auditd writes them) the events must not depend on how the
// writes were cut.
func FuzzFollower(f *testing.F) {
	f.Add([]byte(seedLog), []byte{3, 200, 17})
	f.Add([]byte("type=SYSCALL msg=audit(1.1:1): arch=c000003e syscall=59 success=yes exit=0 pid=1 comm=\"x\"\ntype=EXECVE msg=audit(1.1:1): argc=1 a0=\"x\"\r\n\x00\n"), []byte{1, 1, 1, 1})
	f.Add(append(bytes.Repeat([]byte("a"), auditd.MaxLineBytes+10), "\ntype=PROCTITLE msg=audit(2.2:2): proctitle=6C73\n"...), []byte{255, 255})
	f.Add([]byte("node=a type=SYSCALL msg=audit(1.1:1): syscall=59\nnode=b type=SYSCALL msg=audit(1.1:1): syscall=42\ntype=EOE msg=audit(1.1:1):\n"), []byte{})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		whole := follow(t, data, nil)
		parts := follow(t, data, cuts)
		if contiguous(data) && !slices.Equal(whole, parts) {
			t.Fatalf("events depend on how the log was written:\nwhole %q\nparts %q", whole, parts)
		}
	})
}

const seedLog = `type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e syscall=59 success=yes exit=0 a0=558e251634a0 items=2 ppid=29002 pid=1631 auid=1000 uid=1000 gid=1000 tty=pts0 ses=104 comm="arp" exe="/usr/sbin/arp" key=(null)
type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0="arp" a1="-a"
type=CWD msg=audit(1604994496.155:92733): cwd="/home/wardog"
type=PROCTITLE msg=audit(1604994496.155:92733): proctitle=617270002D61
type=USER_LOGIN msg=audit(1604994497.000:92734): pid=1 uid=0 auid=1000 ses=3 msg='op=login acct="root" exe="/usr/sbin/sshd" hostname=? addr=10.0.0.9 terminal=ssh res=failed'
`

// follow writes data to a log in pieces of the sizes in cuts (one write
// for all with none), polling after each, and returns the events as JSON.
func follow(t *testing.T, data, cuts []byte) []string {
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out []string
	fl := NewFollower(FollowConfig{Path: path, Host: "h"})
	fl.g = newGrouper("h", func(e source.Event) {
		e = flat(t, e)
		if id, _ := e["_id"].(string); id == "" {
			t.Fatalf("event without _id: %v", e)
		}
		if _, ok := e["event_time"].(int64); !ok {
			t.Fatalf("event without event_time: %v", e)
		}
		// go-libaudit lists its warnings in map order: not compared.
		delete(e, "warnings")
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("event does not encode: %v", err)
		}
		out = append(out, string(b))
	})
	if err := fl.start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rest := data
	for _, c := range cuts {
		n := min(int(c)*64, len(rest))
		w.Write(rest[:n])
		rest = rest[n:]
		if _, err := fl.poll(ctx); err != nil {
			t.Fatal(err)
		}
		if cap(fl.buf) > auditd.MaxLineBytes+4*readBytes {
			t.Fatalf("holds %d bytes of partial line", cap(fl.buf))
		}
	}
	w.Write(rest)
	for i := 0; i < 100; i++ {
		read, err := fl.poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !read {
			break
		}
	}
	fl.f.Close()
	slices.Sort(out)
	return out
}

// contiguous says whether each event's records stand together in data.
func contiguous(data []byte) bool {
	seen := map[string]bool{}
	last := ""
	var buf []byte
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		buf = groupKey(buf, line)
		k := string(buf)
		if k == last {
			continue
		}
		if seen[k] {
			return false
		}
		seen[k], last = true, k
	}
	return true
}
