package sessions

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/hunt"
)

// TreeColumns are the columns of Tree's answer. target_user is the user a
// process switched to through PAM (sudo's and su's target), from the
// session records it wrote.
var TreeColumns = []string{"depth", "pid", "ppid", "exe", "arguments", "user", "start", "event_id", "target_user", "tree"}

// Proc is one process start.
type Proc struct {
	PID, PPID      int64
	Exe, Arguments string
	User           string
	Start          time.Time
	// Seq orders processes started in the same millisecond: the audit
	// serial (a parent's exec precedes its child's), 0 when unknown.
	Seq     int64
	EventID string
	// ParentExe is the parent's executable when the source names it.
	ParentExe string
	// TargetUser is the user the process switched to (sudo, su).
	TargetUser string
	// NotSeen marks a process whose exec is not in the data, known only
	// as its children's ppid.
	NotSeen bool
}

// Node is a process placed in a tree.
type Node struct {
	Proc
	Depth  int
	Parent int // index in the input of Link, -1 for a root
}

// seqExpr is an audit event's serial: the coalesced event's sequence (raw
// auditd) or the audit header's id (Threat Stack). Tree reads it only for
// the rows it returns.
const seqExpr = `coalesce(TRY_CAST(json_extract_string(raw, '$.sequence') AS BIGINT),
	TRY_CAST(json_extract_string(raw, '$.header.id') AS BIGINT), 0)`

// targetCond selects the session records whose user is the target of a
// user switch: PAM's session open and credential setting (acct is the
// user switched to; authentication and accounting name the invoker).
const targetCond = `event_type = 'login' AND type IN ('user_start', 'cred_acq', 'cred_refr') AND user IS NOT NULL AND user <> ''`

// Tree lists the processes host (an agent_id or a hostname) started in
// [from, to] (epoch ms) as a tree, parents before their children and
// children by start time: those of session when session > 0, and only the
// subtree under the processes whose pid is pid when pid > 0 (every process
// that had that pid in the range is a root of its own subtree, and when
// the range holds children of pid but not its exec, pid is a root marked
// "exec not seen"). At least one of the two must be given.
//
// A child's parent is the latest process with the child's ppid that
// started before it (in the same millisecond, by audit serial): pids are
// reused, and two processes with the same pid are never merged. A process
// whose parent is not among the selected processes (the login shell's
// sshd, say) is a root.
func Tree(ctx context.Context, db *datadir.DB, org, host string, session int64, pid int64, from, to int64) (hunt.Table, error) {
	if host == "" {
		return hunt.Table{}, errors.New("tree: no host")
	}
	if session <= 0 && pid <= 0 {
		return hunt.Table{}, errors.New("tree: give a session or a pid")
	}
	q := `WITH p AS (
	SELECT _id, event_time, pid, ppid, exe, arguments, user, parent_exe, ` + sessionExpr + ` AS ses,
		` + procCond + ` AS is_proc, ` + seqExpr + ` AS seq
	FROM events
	WHERE ` + hostCond + ` AND pid IS NOT NULL AND (` + procCond + ` OR (` + targetCond + `))
)
SELECT is_proc, pid, ppid, exe, arguments, user, event_time, seq, _id, parent_exe FROM p`
	args := []any{host, host}
	var where []string
	if session > 0 {
		where = append(where, "ses = ?")
		args = append(args, session)
	}
	if pid > 0 {
		// Only what started from the first root (or the first child of
		// a root whose exec is not seen) on can be under a root.
		sub := "SELECT min(event_time) FROM p WHERE is_proc AND (pid = ? OR ppid = ?)"
		args = append(args, pid, pid)
		if session > 0 {
			sub += " AND ses = ?"
			args = append(args, session)
		}
		where = append(where, "event_time >= ("+sub+")")
	}
	q += "\nWHERE " + strings.Join(where, " AND ") + "\nORDER BY event_time, seq, _id"
	t, err := hunt.Query(ctx, db, org, from, to, q, args...)
	if err != nil {
		return hunt.Table{}, fmt.Errorf("tree of %s: %w", host, err)
	}
	var procs, switches []Proc
	for _, r := range t.Rows {
		var p Proc
		p.PID, _ = asInt64(r[1])
		p.PPID, _ = asInt64(r[2])
		p.Exe, _ = r[3].(string)
		p.Arguments, _ = r[4].(string)
		p.User, _ = r[5].(string)
		p.Start = asTime(r[6])
		p.Seq, _ = asInt64(r[7])
		p.EventID, _ = r[8].(string)
		p.ParentExe, _ = r[9].(string)
		if isProc, _ := r[0].(bool); isProc {
			procs = append(procs, p)
		} else {
			switches = append(switches, p)
		}
	}
	setTargets(procs, switches)
	nodes := Link(procs, pid)
	out := hunt.Table{Columns: TreeColumns, Rows: make([][]any, 0, len(nodes))}
	for _, n := range nodes {
		var ppid, start, target any = n.PPID, n.Start, nil
		if n.NotSeen {
			ppid, start = nil, nil
		}
		if n.TargetUser != "" {
			target = n.TargetUser
		}
		out.Rows = append(out.Rows, []any{int64(n.Depth), n.PID, ppid, n.Exe, n.Arguments, n.User, start, n.EventID, target, ""})
	}
	drawTree(nodes, out.Rows, len(TreeColumns)-1)
	return out, nil
}

// setTargets gives each process the user of the first target record
// (switches, as Procs: pid, user, start) its pid wrote after its exec and
// before that pid's next exec. Both slices are in time order.
func setTargets(procs, switches []Proc) {
	if len(switches) == 0 {
		return
	}
	byPID := map[int64][]int{} // pid -> its processes, in time order
	for i, p := range procs {
		byPID[p.PID] = append(byPID[p.PID], i)
	}
	for _, s := range switches {
		var owner = -1
		for _, i := range byPID[s.PID] {
			if after(procs[i], s) {
				break
			}
			owner = i
		}
		if owner >= 0 && procs[owner].TargetUser == "" {
			procs[owner].TargetUser = s.User
		}
	}
}

// after says whether a started after b (by time, then serial).
func after(a, b Proc) bool {
	if c := a.Start.Compare(b.Start); c != 0 {
		return c > 0
	}
	return a.Seq > b.Seq
}

// Link places procs in a tree and returns it in tree order: each root (by
// start time) followed by its subtree, children by start time. A child's
// parent is the latest process with its ppid that started before it (in
// the same millisecond, the lower Seq, then the one listed first). When
// rootPID > 0 only the subtrees under processes with that pid are
// returned; children of rootPID whose parent's exec is not among procs
// hang under one added root for rootPID, marked NotSeen. Parent in the
// returned nodes is an index into the returned slice.
func Link(procs []Proc, rootPID int64) []Node {
	order := make([]int, len(procs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(procs[a].Start.Compare(procs[b].Start), cmp.Compare(procs[a].Seq, procs[b].Seq))
	})
	parent := make([]int, len(procs))
	children := make([][]int, len(procs))
	latest := make(map[int64]int, len(procs)) // pid -> latest process with it so far
	for _, i := range order {
		parent[i] = -1
		if j, ok := latest[procs[i].PPID]; ok && procs[i].PPID != 0 {
			parent[i] = j
			children[j] = append(children[j], i)
		}
		latest[procs[i].PID] = i
	}
	var roots []int
	var unseen []int // children of rootPID whose parent's exec is not seen
	for _, i := range order {
		if rootPID > 0 {
			if procs[i].PID == rootPID {
				roots = append(roots, i)
			} else if parent[i] < 0 && procs[i].PPID == rootPID {
				unseen = append(unseen, i)
			}
		} else if parent[i] < 0 {
			roots = append(roots, i)
		}
	}
	nodes := make([]Node, 0, len(procs)+1)
	seen := make([]bool, len(procs))
	var walk func(i, depth, up int)
	walk = func(i, depth, up int) {
		if seen[i] { // a root with that pid already inside an earlier subtree
			return
		}
		seen[i] = true
		at := len(nodes)
		nodes = append(nodes, Node{Proc: procs[i], Depth: depth, Parent: up})
		for _, c := range children[i] {
			walk(c, depth+1, at)
		}
	}
	if len(unseen) > 0 {
		// These children started before any exec of rootPID in procs,
		// so their root comes first.
		root := Proc{PID: rootPID, NotSeen: true}
		for _, c := range unseen {
			root.ParentExe = cmp.Or(root.ParentExe, procs[c].ParentExe)
		}
		root.Exe = root.ParentExe
		nodes = append(nodes, Node{Proc: root, Parent: -1})
		for _, c := range unseen {
			walk(c, 1, 0)
		}
	}
	for _, r := range roots {
		walk(r, 0, -1)
	}
	return nodes
}

// drawTree fills column col of rows (one per node, in tree order) with the
// process's exe indented under its parent with box-drawing lines.
func drawTree(nodes []Node, rows [][]any, col int) {
	// last[i]: node i is its parent's last child (or the last root).
	last := make([]bool, len(nodes))
	lastChild := map[int]int{}
	for i, n := range nodes {
		lastChild[n.Parent] = i
	}
	for _, i := range lastChild {
		last[i] = true
	}
	for i, n := range nodes {
		label := cmp.Or(n.Exe, n.Arguments, "?")
		if n.NotSeen {
			label += " (exec not seen)"
		}
		if n.Depth == 0 {
			rows[i][col] = label
			continue
		}
		var b strings.Builder
		// the ancestors between the root and the parent: a bar where
		// that ancestor has siblings still to come
		var chain []int
		for a := n.Parent; a >= 0 && nodes[a].Depth > 0; a = nodes[a].Parent {
			chain = append(chain, a)
		}
		for k := len(chain) - 1; k >= 0; k-- {
			if last[chain[k]] {
				b.WriteString("   ")
			} else {
				b.WriteString("│  ")
			}
		}
		if last[i] {
			b.WriteString("└─ ")
		} else {
			b.WriteString("├─ ")
		}
		b.WriteString(label)
		rows[i][col] = b.String()
	}
}
