package sessions

import (
	"slices"
	"testing"
	"time"
)

func at(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// Two processes with pid 100 at different times each get their own
// children; a child is never attached to a process that started after it.
func TestLinkPIDReuse(t *testing.T) {
	procs := []Proc{
		{PID: 100, PPID: 1, Exe: "/bin/bash", Start: at(1000), EventID: "bash1"},
		{PID: 101, PPID: 100, Exe: "/bin/ls", Start: at(2000), EventID: "ls"},
		{PID: 100, PPID: 1, Exe: "/bin/sh", Start: at(5000), EventID: "sh2"},
		{PID: 102, PPID: 100, Exe: "/bin/cat", Start: at(6000), EventID: "cat"},
		{PID: 103, PPID: 102, Exe: "/bin/grep", Start: at(6500), EventID: "grep"},
		{PID: 104, PPID: 100, Exe: "/bin/id", Start: at(3000), EventID: "id"},
	}
	nodes := Link(procs, 0)
	got := map[string]string{}
	var order []string
	for _, n := range nodes {
		order = append(order, n.EventID)
		if n.Parent >= 0 {
			got[n.EventID] = nodes[n.Parent].EventID
		} else {
			got[n.EventID] = ""
		}
	}
	want := map[string]string{"bash1": "", "ls": "bash1", "id": "bash1", "sh2": "", "cat": "sh2", "grep": "cat"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("parent of %s = %q, want %q", k, got[k], v)
		}
	}
	wantOrder := []string{"bash1", "ls", "id", "sh2", "cat", "grep"}
	if len(order) != len(wantOrder) {
		t.Fatalf("order %v, want %v", order, wantOrder)
	}
	for i := range order {
		if order[i] != wantOrder[i] {
			t.Fatalf("order %v, want %v", order, wantOrder)
		}
	}
	// the subtree under pid 100: both processes, each with its own children
	sub := Link(procs, 100)
	if len(sub) != 6 || sub[0].Depth != 0 || sub[3].EventID != "sh2" || sub[3].Depth != 0 {
		t.Fatalf("subtree of pid 100: %+v", sub)
	}
	// the subtree under pid 102 holds cat and grep only
	sub = Link(procs, 102)
	if len(sub) != 2 || sub[0].EventID != "cat" || sub[1].EventID != "grep" || sub[1].Depth != 1 {
		t.Fatalf("subtree of pid 102: %+v", sub)
	}
}

func TestDrawTree(t *testing.T) {
	procs := []Proc{
		{PID: 1, Exe: "/sbin/init", Start: at(1)},
		{PID: 2, PPID: 1, Exe: "/bin/bash", Start: at(2)},
		{PID: 3, PPID: 2, Exe: "/bin/ls", Start: at(3)},
		{PID: 4, PPID: 1, Exe: "/bin/sh", Start: at(4)},
		{PID: 5, PPID: 4, Exe: "/bin/id", Start: at(5)},
	}
	nodes := Link(procs, 0)
	rows := make([][]any, len(nodes))
	for i := range rows {
		rows[i] = make([]any, 1)
	}
	drawTree(nodes, rows, 0)
	want := []string{"/sbin/init", "├─ /bin/bash", "│  └─ /bin/ls", "└─ /bin/sh", "   └─ /bin/id"}
	for i, w := range want {
		if rows[i][0] != w {
			t.Errorf("row %d = %q, want %q", i, rows[i][0], w)
		}
	}
}

func TestExternal(t *testing.T) {
	for ip, want := range map[string]bool{
		"176.111.174.26": true, "8.8.8.8": true, "2001:4860::8888": true,
		"10.0.2.125": false, "172.16.3.4": false, "172.32.0.1": true, "192.168.1.1": false,
		"127.0.0.1": false, "169.254.169.254": false, "100.64.0.1": false, "100.128.0.1": true,
		"::1": false, "fd00::1": false, "fe80::1%eth0": false, "::ffff:10.1.2.3": false,
		"": false, "?": false, "-": false, "host.example": false, "0.0.0.0": false, "::": false,
	} {
		if got := External(ip); got != want {
			t.Errorf("External(%q) = %v, want %v", ip, got, want)
		}
	}
}

// Processes started in the same millisecond are ordered by Seq (the audit
// serial), not by the order they are listed in: a child listed before its
// parent still finds it.
func TestLinkSameMillisecond(t *testing.T) {
	procs := []Proc{
		{PID: 12, PPID: 11, Exe: "/bin/id", Start: at(1000), Seq: 503, EventID: "id"},
		{PID: 11, PPID: 10, Exe: "/bin/sh", Start: at(1000), Seq: 502, EventID: "sh"},
		{PID: 10, PPID: 1, Exe: "/bin/bash", Start: at(1000), Seq: 501, EventID: "bash"},
	}
	nodes := Link(procs, 0)
	var got []string
	for _, n := range nodes {
		got = append(got, n.EventID+"@"+string(rune('0'+n.Depth)))
	}
	if want := []string{"bash@0", "sh@1", "id@2"}; !slices.Equal(got, want) {
		t.Errorf("tree %v, want %v", got, want)
	}
	// under a pid whose exec is not seen: one root marked NotSeen
	nodes = Link(procs[:2], 10)
	if len(nodes) != 3 || !nodes[0].NotSeen || nodes[0].PID != 10 || nodes[1].EventID != "sh" || nodes[2].Depth != 2 {
		t.Errorf("subtree of unseen pid 10: %+v", nodes)
	}
}
