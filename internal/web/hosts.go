package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/client"
	"github.com/spoor-dev/spoor/internal/query"
	"github.com/spoor-dev/spoor/internal/timespec"
)

// routeHosts adds the Hosts pages: the organization's agents and hosts,
// and one host's page (timeline, what changed, sessions and process
// trees, connections), each a hunt of the API about that host.
func (c *Console) routeHosts() {
	c.mux.HandleFunc("GET /hosts", c.page(c.hostsPage))
	c.mux.HandleFunc("GET /hosts/{host}", c.page(c.hostPage))
}

// agentRow is a row of GET /api/v1/agents (docs/api.md). Times are the
// API's JSON times; absent numbers are nil.
type agentRow struct {
	AgentID       string           `json:"agent_id"`
	Hostname      string           `json:"hostname"`
	Status        string           `json:"status"`
	LastSeen      string           `json:"last_seen"`
	LastEventTime string           `json:"last_event_time"`
	Events        int64            `json:"events"`
	AgentVersion  string           `json:"agent_version"`
	LagMS         *int64           `json:"lag_ms"`
	LostTotal     *int64           `json:"lost_total"`
	Losses        map[string]int64 `json:"losses"`
	OSVersion     string           `json:"os_version"`
	Kernel        string           `json:"kernel"`
	InstanceID    string           `json:"instance_id"`
	InstanceType  string           `json:"instance_type"`
	CloudProvider string           `json:"cloud_provider"`
	Region        string           `json:"region"`
	PrivateIP     string           `json:"private_ip"`
	PublicIP      string           `json:"public_ip"`
}

// Key names the host in the console's URLs and to the hunts: its agent id,
// or its host name when its events carry no agent id.
func (a agentRow) Key() string {
	if a.AgentID != "" {
		return a.AgentID
	}
	return a.Hostname
}

// Name is what the pages call the host.
func (a agentRow) Name() string {
	if a.Hostname != "" {
		return a.Hostname
	}
	return a.AgentID
}

// Link is the host's page.
func (a agentRow) Link() string { return "/hosts/" + url.PathEscape(a.Key()) }

// LossText lists the agent's losses, most first: "kernel_lost 7, backlog 2".
func (a agentRow) LossText() string { return countsText(a.Losses) }

// countsText lists named counts, most first, then by name: "audit 80,
// network 40".
func countsText(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + strconv.FormatInt(m[k], 10)
	}
	return strings.Join(parts, ", ")
}

// filter is the filter-language query for the host's events.
func (a agentRow) filter() string {
	field, value := "agent_id", a.AgentID
	if value == "" {
		field, value = "hostname", a.Hostname
	}
	return query.Print(&query.Compare{Field: &query.Ident{Name: field}, Op: query.OpEq,
		Values: []*query.Literal{{Kind: query.LitString, Value: value}}})
}

// agents asks the API for the organization's agents and hosts.
func (c *Console) agents(ctx context.Context, s *session, silentAfter string) ([]agentRow, []string, error) {
	path := "/api/v1/agents?format=json"
	if silentAfter != "" {
		path += "&silent_after=" + url.QueryEscape(silentAfter)
	}
	var rows []agentRow
	a, err := c.callJSON(ctx, s, "GET", path, nil, &rows)
	if err != nil {
		return nil, nil, err
	}
	return rows, a.warnings(), nil
}

// silentChoices are the silence thresholds the hosts page offers.
var silentChoices = []string{"3m", "10m", "1h", "24h"}

type hostsData struct {
	Hosts       []agentRow
	Silent      int
	SilentAfter string
	Choices     []rangeLink
	Warnings    []string
	Error       string
}

func (c *Console) hostsPage(w http.ResponseWriter, r *http.Request, s *session) {
	d := hostsData{SilentAfter: r.URL.Query().Get("silent_after")}
	for _, ch := range silentChoices {
		d.Choices = append(d.Choices, rangeLink{Label: ch, Href: link("/hosts", "silent_after", ch),
			Current: ch == d.SilentAfter || (d.SilentAfter == "" && ch == silentChoices[0])})
	}
	rows, warnings, err := c.agents(r.Context(), s, d.SilentAfter)
	if err != nil {
		d.Error = err.Error()
		c.render(w, r, s, statusOfErr(err), "hosts", "Hosts", d)
		return
	}
	d.Hosts, d.Warnings = rows, warnings
	for _, h := range rows {
		if h.Status == "silent" {
			d.Silent++
		}
	}
	c.render(w, r, s, http.StatusOK, "hosts", "Hosts", d)
}

// statusOfErr is the page's status for a failed request: the API's own
// status, else 400 (what the console refused before asking: a bad time).
func statusOfErr(err error) int {
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 600 {
		return ae.Status
	}
	return http.StatusBadRequest
}

// hostTabs are the host page's views, the first the default: what changed
// is the question seed 000 starts from.
var hostTabs = []struct{ id, name string }{
	{"changes", "What changed"}, {"sessions", "Logon sessions"}, {"connections", "Connections"},
}

// hostQuery is a host page's state, all of it in its URL.
type hostQuery struct {
	Key, Tab, Since, Until string
	Baseline, Against      string // the diff's: FROM..TO, and a golden host's key
	Disappeared            bool
	Session, PID           string // a process tree's root
}

func hostQueryOf(r *http.Request) hostQuery {
	v := r.URL.Query()
	q := hostQuery{Key: r.PathValue("host"), Tab: v.Get("tab"), Since: v.Get("since"), Until: v.Get("until"),
		Baseline: v.Get("baseline"), Against: v.Get("against"), Disappeared: v.Get("disappeared") == "1",
		Session: v.Get("session"), PID: v.Get("pid")}
	if !slices.ContainsFunc(hostTabs, func(t struct{ id, name string }) bool { return t.id == q.Tab }) {
		q.Tab = hostTabs[0].id
	}
	return q
}

// link is this host's page with changes given as name, value pairs.
func (q hostQuery) link(change ...string) string {
	kv := []string{"tab", q.Tab, "since", q.Since, "until", q.Until, "baseline", q.Baseline, "against", q.Against,
		"disappeared", map[bool]string{true: "1"}[q.Disappeared], "session", q.Session, "pid", q.PID}
	for i := 0; i+1 < len(change); i += 2 {
		for j := 0; j+1 < len(kv); j += 2 {
			if kv[j] == change[i] {
				kv[j+1] = change[i+1]
			}
		}
	}
	if kv[1] == hostTabs[0].id {
		kv[1] = ""
	}
	return link("/hosts/"+url.PathEscape(q.Key), kv...)
}

type hostData struct {
	hostQuery
	Host     agentRow
	Others   []agentRow // golden host choices
	Tabs     []rangeLink
	Chart    *hostChart
	Whole    string // the page over the host's whole life
	Warnings []string
	Error    string

	// What changed.
	Diff       *hostTable
	AlertSpans []alertSpan // where each rule's alerts started: one click to their diff
	DiffNote   string      // what was compared with what
	// Logon sessions, and a process tree.
	Sessions *hostTable
	Tree     []*procNode
	TreeOf   string
	// Connections.
	Conns *hostTable
}

func (c *Console) hostPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := hostQueryOf(r)
	rows, warnings, err := c.agents(r.Context(), s, "")
	if err != nil {
		c.fail(w, r, statusOfErr(err), "the hosts could not be read: "+err.Error())
		return
	}
	// A host of another organization is not in this one's list: the page
	// says no such host, as the API would.
	i := slices.IndexFunc(rows, func(a agentRow) bool { return a.Key() == q.Key })
	if i < 0 {
		c.fail(w, r, http.StatusNotFound, "no host "+strconv.Quote(q.Key)+" in your organization")
		return
	}
	d := hostData{hostQuery: q, Host: rows[i], Warnings: warnings, Whole: q.link("since", "", "until", "")}
	for j, o := range rows {
		if j != i {
			d.Others = append(d.Others, o)
		}
	}
	for _, t := range hostTabs {
		d.Tabs = append(d.Tabs, rangeLink{Label: t.name, Href: q.link("tab", t.id, "session", "", "pid", ""), Current: t.id == q.Tab})
	}
	ctx := r.Context()
	chart, err := c.hostTimeline(ctx, s, d.Host, q)
	if err != nil {
		d.Error = err.Error()
		c.render(w, r, s, statusOfErr(err), "hosts_host", d.Host.Name(), d)
		return
	}
	d.Chart = chart
	switch q.Tab {
	case "changes":
		err = c.hostChanges(ctx, s, &d)
	case "sessions":
		err = c.hostSessions(ctx, s, &d)
	case "connections":
		var t *hostTable
		t, err = c.hostHunt(ctx, s, "connections", map[string]any{"host": d.Host.Key(), "since": q.Since, "until": q.Until},
			[]string{"dst_ip", "dst_port", "external", "exes", "count", "first_seen", "last_seen"}, nil)
		d.Conns = t
	}
	code := http.StatusOK
	if err != nil {
		d.Error, code = err.Error(), statusOfErr(err)
	}
	c.render(w, r, s, code, "hosts_host", d.Host.Name(), d)
}

// hostChanges diffs the host's window (the page's range) against its own
// time before it, or against a golden host, and lists the windows in
// which alerts started so that one click diffs them.
func (c *Console) hostChanges(ctx context.Context, s *session, d *hostData) error {
	// One link per rule, to the first bar in which its alerts started:
	// a noisy rule alerting in every bar does not bury a rare one.
	seen := map[string]int{}
	for _, b := range d.Chart.Bars {
		for _, rule := range b.Rules {
			if i, ok := seen[rule]; ok {
				d.AlertSpans[i].Windows++
				continue
			}
			seen[rule] = len(d.AlertSpans)
			d.AlertSpans = append(d.AlertSpans, alertSpan{Rule: rule, First: b.Label, Windows: 1,
				Href: d.link("tab", "changes", "since", b.Since, "until", b.Until)})
		}
	}
	if d.Since == "" && d.Until == "" {
		return nil // no window yet: the page asks for one
	}
	from, _, err := timespec.Range(d.Since, d.Until, c.opts.Now())
	if err != nil {
		return err
	}
	body := map[string]any{"host": d.Host.Key(), "window": d.Since + ".." + d.Until, "disappeared": d.Disappeared}
	switch {
	case d.Against != "":
		body["against_host"] = d.Against
		if d.Baseline != "" {
			body["baseline"] = d.Baseline
		}
		d.DiffNote = "against host " + d.Against
	case d.Baseline != "":
		body["baseline"] = d.Baseline
		d.DiffNote = "against its own baseline " + d.Baseline
	case from > 0:
		// The host's own past: everything before the window.
		body["baseline"] = ".." + linkTimeMS(from-1)
		d.DiffNote = "against its own past, everything before " + linkTimeMS(from)
	default:
		return fmt.Errorf("the window starts at the beginning of time, so the host has no past to compare it with: give the window a start, a baseline or a golden host")
	}
	t, err := c.hostHunt(ctx, s, "diff", body, []string{"category", "item", "first_seen", "count", "fleet_hosts", "status"},
		func(row map[string]any) string { return eventPage(cellText(row["example_event_id"])) })
	d.Diff = t
	return err
}

// alertSpan is a rule's first bar with alerts, linked to its diff.
type alertSpan struct {
	Rule, First, Href string
	Windows           int // bars in which its alerts started
}

// hostSessions lists the host's logon sessions in the range; with a
// session or pid in the URL, that process tree too.
func (c *Console) hostSessions(ctx context.Context, s *session, d *hostData) error {
	q := d.hostQuery
	t, err := c.hostHunt(ctx, s, "sessions", map[string]any{"host": d.Host.Key(), "since": q.Since, "until": q.Until},
		[]string{"session", "user", "src_ip", "external", "start", "end", "processes", "first_command"},
		func(row map[string]any) string {
			return q.link("tab", "sessions", "session", cellText(row["session"]), "pid", "") + "#tree"
		})
	d.Sessions = t
	if err != nil || (q.Session == "" && q.PID == "") {
		return err
	}
	body := map[string]any{"host": d.Host.Key(), "since": q.Since, "until": q.Until}
	if n, err := strconv.ParseInt(q.Session, 10, 64); err == nil {
		body["session"], d.TreeOf = n, "session "+q.Session
	}
	if n, err := strconv.ParseInt(q.PID, 10, 64); err == nil {
		body["pid"], d.TreeOf = n, "process "+q.PID
	}
	rows, _, err := c.callRows(ctx, s, "POST", "/api/v1/hunt/tree?format=json", body)
	if err != nil {
		return fmt.Errorf("process tree: %w", err)
	}
	d.Tree = procTree(rows, q)
	return nil
}

// hostTable is a hunt's answer as a page shows it.
type hostTable struct {
	Columns []string
	Rows    []hostTableRow
	Linked  bool // rows have an "open" link
	Cut     int  // rows left out
}

type hostTableRow struct {
	Link  string
	Class string // "new", "gone": a diff row's status
	Cells []string
}

// maxHostRows bounds a table of the host page; the rest is counted.
const maxHostRows = 500

// hostHunt runs a hunting analysis and lays its rows out in cols, each row
// linked by link (nil: none).
func (c *Console) hostHunt(ctx context.Context, s *session, analysis string, body map[string]any, cols []string, link func(map[string]any) string) (*hostTable, error) {
	rows, _, err := c.callRows(ctx, s, "POST", "/api/v1/hunt/"+analysis+"?format=json", body)
	if err != nil {
		return nil, err
	}
	t := &hostTable{Columns: cols, Linked: link != nil}
	if len(rows) > maxHostRows {
		t.Cut, rows = len(rows)-maxHostRows, rows[:maxHostRows]
	}
	for _, row := range rows {
		tr := hostTableRow{Cells: make([]string, len(cols)), Class: cellText(row["status"])}
		for i, col := range cols {
			tr.Cells[i] = cellText(row[col])
		}
		if link != nil {
			tr.Link = link(row)
		}
		t.Rows = append(t.Rows, tr)
	}
	return t, nil
}

// eventPage is the page of the event with _id id (its time unknown), ""
// for none.
func eventPage(id string) string {
	if id == "" {
		return ""
	}
	return eventLink(id, "")
}

// linkTimeMS writes an epoch-ms time into a URL: RFC 3339 in UTC to the
// millisecond, which the API reads back exactly.
func linkTimeMS(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
