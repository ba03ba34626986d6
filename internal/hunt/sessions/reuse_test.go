package sessions

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/ingest"
)

// Through the lake: pid 500 is a shell at first and another shell later;
// each gets its own children, also when the tree is asked for by pid.
func TestTreePIDReuse(t *testing.T) {
	base := int64(1600000000000)
	procs := []struct {
		id        string
		ms        int64
		pid, ppid int64
		exe       string
	}{
		{"sh1", 0, 500, 400, "/bin/bash"},
		{"ls", 1000, 501, 500, "/bin/ls"},
		{"sh2", 60000, 500, 400, "/bin/sh"},
		{"cat", 61000, 502, 500, "/bin/cat"},
		{"id", 2000, 503, 500, "/usr/bin/id"},
	}
	var b strings.Builder
	for _, p := range procs {
		fmt.Fprintf(&b, `{"_id":%q,"agent_id":"h1","event_time":%d,"event_type":"audit","type":"syscall","syscall":"execve","success":true,"session":7,"auid":1000,"user":"alice","pid":%d,"ppid":%d,"exe":%q,"arguments":%q}`+"\n",
			p.id, base+p.ms, p.pid, p.ppid, p.exe, p.exe)
	}
	db := openDB(t)
	load(t, db, "", ingest.ReaderSource("procs.ndjson", strings.NewReader(b.String())))
	ctx := context.Background()
	check := func(session, pid int64, want string) {
		t.Helper()
		tb, err := Tree(ctx, db, org, "h1", session, pid, 0, allTime)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range tb.Rows {
			got = append(got, fmt.Sprintf("%d:%v", r[0], r[7]))
		}
		if g := strings.Join(got, " "); g != want {
			t.Errorf("tree session %d pid %d: %s, want %s", session, pid, g, want)
		}
	}
	check(7, 0, "0:sh1 1:ls 1:id 0:sh2 1:cat")
	check(0, 500, "0:sh1 1:ls 1:id 0:sh2 1:cat")
	check(7, 502, "0:cat")
	if _, err := Tree(ctx, db, org, "h1", 0, 0, 0, allTime); err == nil {
		t.Error("a tree with neither session nor pid: no error")
	}
	s, err := Sessions(ctx, db, org, "h1", 0, allTime)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rows) != 1 || s.Rows[0][0] != int64(7) || s.Rows[0][6] != int64(5) || s.Rows[0][1] != "alice" || s.Rows[0][3] != false || s.Rows[0][5] != nil {
		t.Errorf("sessions: %v", s.Rows)
	}
}
