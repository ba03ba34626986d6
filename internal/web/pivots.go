package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/spoor-dev/spoor/internal/sqlquote"
)

// routePivots adds the pivots from an event: a process tree, the other
// hosts with an executable, and an IoC sweep. Each is a page of its own,
// with its parameters in the URL.
func (c *Console) routePivots() {
	c.mux.HandleFunc("GET /pivot/tree", c.page(c.treePage))
	c.mux.HandleFunc("GET /pivot/exe", c.page(c.exePage))
	c.mux.HandleFunc("GET /pivot/sweep", c.page(c.sweepPage))
}

// table is a generic result table: templates draw it with
// {{template "table" .}} (layout.html). A row's Link, when set, opens it.
type table struct {
	Columns []string
	Rows    []tableRow
}

type tableRow struct {
	Link  string
	Cells []string
}

// tableOf lays rows of a JSON answer (objects) out in cols, each row
// linked by link (nil: none).
func tableOf(rows []map[string]any, cols []string, link func(map[string]any) string) table {
	t := table{Columns: cols}
	for _, r := range rows {
		tr := tableRow{Cells: make([]string, len(cols))}
		for i, c := range cols {
			tr.Cells[i] = cellText(r[c])
		}
		if link != nil {
			tr.Link = link(r)
		}
		t.Rows = append(t.Rows, tr)
	}
	return t
}

// callRows calls the API and decodes its JSON answer, an array of
// objects, keeping numbers as they are written.
func (c *Console) callRows(ctx context.Context, s *session, method, path string, body any) ([]map[string]any, *answer, error) {
	a, err := c.call(ctx, s, method, path, body)
	if err != nil {
		return nil, nil, err
	}
	if err := a.err(); err != nil {
		return nil, a, err
	}
	if msg := a.Header.Get("Spoor-Error"); msg != "" {
		return nil, a, fmt.Errorf("the answer was cut: %s", msg)
	}
	dec := json.NewDecoder(bytes.NewReader(a.Body))
	dec.UseNumber()
	var rows []map[string]any
	if err := dec.Decode(&rows); err != nil {
		return nil, a, fmt.Errorf("read %s: %w", path, err)
	}
	return rows, a, nil
}

// treeNode is a process of a tree with its children.
type treeNode struct {
	PID, User, Exe, Args, Start, TargetUser string
	Event                                   string // the exec event's link
	Children                                []*treeNode
}

type treeData struct {
	Host, Session, PID, Since, Until string
	Roots                            []*treeNode
	Count                            int
	Error                            string
}

// treePage draws the hunting API's process tree as a nested list.
func (c *Console) treePage(w http.ResponseWriter, r *http.Request, s *session) {
	v := r.URL.Query()
	d := treeData{Host: v.Get("host"), Session: v.Get("session"), PID: v.Get("pid"), Since: v.Get("since"), Until: v.Get("until")}
	ses, _ := strconv.ParseInt(d.Session, 10, 64)
	pid, _ := strconv.ParseInt(d.PID, 10, 64)
	body := map[string]any{"host": d.Host, "session": ses, "pid": pid, "since": d.Since, "until": d.Until}
	rows, _, err := c.callRows(r.Context(), s, "POST", "/api/v1/hunt/tree?format=json", body)
	code := http.StatusOK
	if err != nil {
		code, d.Error = statusOf(err), err.Error()
	}
	d.Roots, d.Count = nest(rows), len(rows)
	c.render(w, r, s, code, "events_tree", "Process tree on "+d.Host, d)
}

// nest builds the tree from its rows, which come parents first, each
// with its depth.
func nest(rows []map[string]any) []*treeNode {
	var roots []*treeNode
	var path []*treeNode // the current node's ancestors, by depth
	for _, r := range rows {
		n := &treeNode{PID: cellText(r["pid"]), User: cellText(r["user"]), Exe: cellText(r["exe"]), Args: cellText(r["arguments"]),
			Start: cellText(r["start"]), TargetUser: cellText(r["target_user"])}
		if id := cellText(r["event_id"]); id != "" {
			n.Event = eventLink(id, n.Start)
		}
		depth, _ := strconv.Atoi(cellText(r["depth"]))
		depth = min(max(depth, 0), len(path))
		path = path[:depth]
		if depth == 0 {
			roots = append(roots, n)
		} else {
			p := path[depth-1]
			p.Children = append(p.Children, n)
		}
		path = append(path, n)
	}
	return roots
}

type exeData struct {
	Exe, Since string
	Table      table
	Error      string
}

// exePage lists the hosts that ran an executable: how often, first and
// last, through the SQL API (the executable quoted as an SQL string).
func (c *Console) exePage(w http.ResponseWriter, r *http.Request, s *session) {
	d := exeData{Exe: r.URL.Query().Get("exe"), Since: r.URL.Query().Get("since")}
	if d.Since == "" {
		d.Since = "30d"
	}
	sql := `SELECT hostname, any_value(agent_id) AS agent_id, count(*) AS events, min(event_time) AS first_seen, max(event_time) AS last_seen
FROM events WHERE exe = ` + sqlquote.String(d.Exe) + ` GROUP BY hostname ORDER BY events DESC, hostname LIMIT 1000`
	rows, _, err := c.callRows(r.Context(), s, "POST", "/api/v1/sql?format=json", map[string]string{"sql": sql, "since": d.Since})
	code := http.StatusOK
	if err != nil {
		code, d.Error = statusOf(err), err.Error()
	}
	d.Table = tableOf(rows, []string{"hostname", "agent_id", "events", "first_seen", "last_seen"}, func(row map[string]any) string {
		return link("/events", "q", "hostname = "+quote(cellText(row["hostname"]))+" AND exe = "+quote(d.Exe), "since", d.Since)
	})
	c.render(w, r, s, code, "events_exe", "Hosts that ran "+d.Exe, d)
}

type sweepData struct {
	IoC, Since, Until string
	Table             table
	Error             string
	Swept             bool
}

// sweepPage sweeps every host of the organization for one indicator
// (hunt/sweep infers its kind: address, network, hash, path, name...).
func (c *Console) sweepPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := r.URL.Query()
	d := sweepData{IoC: v.Get("ioc"), Since: v.Get("since"), Until: v.Get("until")}
	code := http.StatusOK
	if d.IoC != "" {
		body := map[string]any{"iocs": []string{d.IoC}, "since": d.Since, "until": d.Until}
		rows, _, err := c.callRows(r.Context(), s, "POST", "/api/v1/hunt/sweep?format=json", body)
		if err != nil {
			code, d.Error = statusOf(err), err.Error()
		}
		d.Swept = err == nil
		d.Table = tableOf(rows, []string{"hostname", "ioc", "kind", "field", "first_seen", "last_seen", "count"}, func(row map[string]any) string {
			return link("/events", "q", "hostname = "+quote(cellText(row["hostname"])), "since", cellText(row["first_seen"]), "until", cellText(row["last_seen"]), "order", "asc")
		})
	}
	c.render(w, r, s, code, "events_sweep", "Sweep", d)
}
