package sessions

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/ingest"
)

// sudoDB ingests testdata/sudo_session.log: on node web1, alice's ssh
// session 7 (sshd pid 2000 started before the log) with a chain of eight
// shells exec'd in one millisecond, sudo id and su - bob inside it; and
// bob's session 8, opened before the log began, with sudo -i inside.
func sudoDB(t *testing.T) *datadir.DB {
	t.Helper()
	db := openDB(t)
	load(t, db, "", ingest.FileSource("testdata/sudo_session.log"))
	return db
}

// treeRows runs Tree and returns its rows keyed by the columns' names.
func treeRows(t *testing.T, db *datadir.DB, session, pid int64) []map[string]any {
	t.Helper()
	tb, err := Tree(context.Background(), db, org, "web1", session, pid, 0, allTime)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, r := range tb.Rows {
		m := map[string]any{}
		for i, c := range tb.Columns {
			m[c] = r[i]
		}
		out = append(out, m)
		t.Logf("%-2v %-5v %-5v %-6v %-6v %v", m["depth"], m["pid"], m["ppid"], m["user"], m["target_user"], m["tree"])
	}
	return out
}

// Parent and child exec'd in the same millisecond are linked by the audit
// serial: the chain of eight shells is one branch, 2001 → 2002 → … → 2008,
// whatever order their ids sort in.
func TestTreeSameMillisecond(t *testing.T) {
	db := sudoDB(t)
	rows := treeRows(t, db, 7, 0)
	if len(rows) != 13 {
		t.Fatalf("%d processes in session 7, want 13", len(rows))
	}
	depth := map[int64]int64{}
	for _, r := range rows {
		depth[r["pid"].(int64)] = r["depth"].(int64)
	}
	for i := int64(0); i < 8; i++ {
		if depth[2001+i] != i {
			t.Errorf("pid %d at depth %d, want %d (its parent exec'd in the same millisecond)", 2001+i, depth[2001+i], i)
		}
	}
	for pid, want := range map[int64]int64{2100: 1, 2101: 2, 2200: 1, 2201: 2, 2300: 1} {
		if depth[pid] != want {
			t.Errorf("pid %d at depth %d, want %d", pid, depth[pid], want)
		}
	}
	// the subtree under a pid exec'd in that millisecond holds its descendants
	sub := treeRows(t, db, 0, 2003)
	var pids []int64
	for _, r := range sub {
		pids = append(pids, r["pid"].(int64))
	}
	if !slices.Equal(pids, []int64{2003, 2004, 2005, 2006, 2007, 2008}) {
		t.Errorf("subtree under 2003: %v, want 2003..2008", pids)
	}
}

// tree --pid P where P's own exec is not in the data (sshd, started before
// the log) shows P as a root built from its children's ppid, marked.
func TestTreePIDExecNotSeen(t *testing.T) {
	rows := treeRows(t, sudoDB(t), 0, 2000)
	if len(rows) != 14 {
		t.Fatalf("%d rows under pid 2000, want sshd and its 13 descendants", len(rows))
	}
	root := rows[0]
	if root["pid"] != int64(2000) || root["depth"] != int64(0) || root["event_id"] != "" {
		t.Errorf("root %v, want pid 2000 at depth 0 with no event", root)
	}
	if tr, _ := root["tree"].(string); tr != "? (exec not seen)" {
		t.Errorf("root drawn %q, want it marked exec not seen", tr)
	}
	if rows[1]["pid"] != int64(2001) || rows[1]["depth"] != int64(1) || rows[1]["ppid"] != int64(2000) {
		t.Errorf("first child %v, want the login shell 2001 at depth 1", rows[1])
	}
	for _, r := range rows[1:] {
		if r["depth"].(int64) < 1 {
			t.Errorf("%v is not under pid 2000", r)
		}
	}
}

// A session lasts from its login to its own close, not to the first sudo's
// USER_END; its user is the login user (auid), not sudo's target; sudo and su
// are processes of it, with their target user shown in the tree.
func TestSessionsSudoInside(t *testing.T) {
	db := sudoDB(t)
	tb, err := Sessions(context.Background(), db, org, "web1", 0, allTime)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64][]any{}
	for _, r := range tb.Rows {
		t.Logf("%v", r)
		got[r[0].(int64)] = r
	}
	if len(tb.Rows) != 2 {
		t.Fatalf("%d sessions, want 7 and 8", len(tb.Rows))
	}
	ms := func(v any) int64 {
		tm, ok := v.(time.Time)
		if !ok {
			return -1
		}
		return tm.UnixMilli()
	}
	const base = 1700000000_000
	for _, w := range []struct {
		ses        int64
		user, src  string
		start, end int64
		procs      int64
	}{
		{7, "alice", "203.0.113.9", base + 3, base + 9001, 13},
		{8, "bob", "10.1.2.3", base + 10000, base + 19001, 3},
	} {
		r := got[w.ses]
		if r == nil {
			t.Errorf("session %d not listed", w.ses)
			continue
		}
		if r[1] != w.user {
			t.Errorf("session %d: user %v, want %s (the auid's name, not sudo's target)", w.ses, r[1], w.user)
		}
		if src, _ := r[2].(string); src != w.src {
			t.Errorf("session %d: src_ip %v, want %q", w.ses, r[2], w.src)
		}
		if ms(r[4]) != w.start || ms(r[5]) != w.end {
			t.Errorf("session %d: %d..%d, want %d..%d (its own close, not sudo's)", w.ses, ms(r[4])-base, ms(r[5])-base, w.start-base, w.end-base)
		}
		if r[6] != w.procs {
			t.Errorf("session %d: %v processes, want %d", w.ses, r[6], w.procs)
		}
	}

	// sudo and su in the tree carry their target user
	target := map[int64]any{}
	for _, r := range treeRows(t, db, 7, 0) {
		target[r["pid"].(int64)] = r["target_user"]
	}
	for _, r := range treeRows(t, db, 8, 0) {
		target[r["pid"].(int64)] = r["target_user"]
	}
	for pid, want := range map[int64]any{2100: "root", 2200: "bob", 3001: "root", 2001: nil, 2101: nil, 3003: nil} {
		if target[pid] != want {
			t.Errorf("pid %d: target_user %v, want %v", pid, target[pid], want)
		}
	}
}
