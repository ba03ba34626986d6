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

// TreeColumns are the columns of Tree's answer.
var TreeColumns = []string{"depth", "pid", "ppid", "exe", "arguments", "user", "start", "event_id", "tree"}

// Proc is one process start.
type Proc struct {
	PID, PPID      int64
	Exe, Arguments string
	User           string
	Start          time.Time
	EventID        string
}

// Node is a process placed in a tree.
type Node struct {
	Proc
	Depth  int
	Parent int // index in the input of Link, -1 for a root
}

// Tree lists the processes host (an agent_id or a hostname) started in
// [from, to] (epoch ms) as a tree, parents before their children and
// children by start time: those of session when session > 0, and only the
// subtree under the processes whose pid is pid when pid > 0 (every process
// that had that pid in the range is a root of its own subtree). At least
// one of the two must be given.
//
// A child's parent is the latest process with the child's ppid that
// started before it: pids are reused, and two processes with the same pid
// are never merged. A process whose parent is not among the selected
// processes (the login shell's sshd, say) is a root.
func Tree(ctx context.Context, db *datadir.DB, org, host string, session int64, pid int64, from, to int64) (hunt.Table, error) {
	if host == "" {
		return hunt.Table{}, errors.New("tree: no host")
	}
	if session <= 0 && pid <= 0 {
		return hunt.Table{}, errors.New("tree: give a session or a pid")
	}
	q := `WITH p AS (
	SELECT _id, event_time, pid, ppid, exe, arguments, user, ` + sessionExpr + ` AS ses
	FROM events
	WHERE ` + hostCond + ` AND pid IS NOT NULL AND ` + procCond + `
)
SELECT pid, ppid, exe, arguments, user, event_time, _id FROM p`
	args := []any{host, host}
	var where []string
	if session > 0 {
		where = append(where, "ses = ?")
		args = append(args, session)
	}
	if pid > 0 {
		// Only what started from the first root on can be under a root.
		sub := "SELECT min(event_time) FROM p WHERE pid = ?"
		args = append(args, pid)
		if session > 0 {
			sub += " AND ses = ?"
			args = append(args, session)
		}
		where = append(where, "event_time >= ("+sub+")")
	}
	q += "\nWHERE " + strings.Join(where, " AND ") + "\nORDER BY event_time, _id"
	t, err := hunt.Query(ctx, db, org, from, to, q, args...)
	if err != nil {
		return hunt.Table{}, fmt.Errorf("tree of %s: %w", host, err)
	}
	procs := make([]Proc, 0, len(t.Rows))
	for _, r := range t.Rows {
		var p Proc
		p.PID, _ = asInt64(r[0])
		p.PPID, _ = asInt64(r[1])
		p.Exe, _ = r[2].(string)
		p.Arguments, _ = r[3].(string)
		p.User, _ = r[4].(string)
		p.Start = asTime(r[5])
		p.EventID, _ = r[6].(string)
		procs = append(procs, p)
	}
	nodes := Link(procs, pid)
	out := hunt.Table{Columns: TreeColumns, Rows: make([][]any, 0, len(nodes))}
	for _, n := range nodes {
		out.Rows = append(out.Rows, []any{int64(n.Depth), n.PID, n.PPID, n.Exe, n.Arguments, n.User, n.Start, n.EventID, ""})
	}
	drawTree(nodes, out.Rows, len(TreeColumns)-1)
	return out, nil
}

// Link places procs in a tree and returns it in tree order: each root (by
// start time) followed by its subtree, children by start time. A child's
// parent is the latest process with its ppid that started before it (at
// the same millisecond, the one listed first). When rootPID > 0 only the
// subtrees under processes with that pid are returned. Parent in the
// returned nodes is an index into the returned slice.
func Link(procs []Proc, rootPID int64) []Node {
	order := make([]int, len(procs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return procs[a].Start.Compare(procs[b].Start)
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
	for _, i := range order {
		if rootPID > 0 {
			if procs[i].PID == rootPID {
				roots = append(roots, i)
			}
		} else if parent[i] < 0 {
			roots = append(roots, i)
		}
	}
	nodes := make([]Node, 0, len(procs))
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
