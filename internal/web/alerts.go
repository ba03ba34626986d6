package web

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
)

// routeAlerts adds the alerts list, the dismissal and the stream of new
// alerts.
func (c *Console) routeAlerts() {
	c.mux.HandleFunc("GET /alerts", c.page(c.alerts))
	c.mux.HandleFunc("POST /alerts/dismiss", c.post(c.dismiss))
	c.mux.HandleFunc("GET /alerts/stream", c.page(c.alertStream))
	c.mux.HandleFunc("GET /alerts/{id}/events", c.page(c.alertEventsPage))
}

// alertSorts are the orders the alerts table offers, by their URL name;
// each breaks ties by the alert's last sighting, newest first.
var alertSorts = map[string]func(a, b alert.Alert) int{
	"last":     func(a, b alert.Alert) int { return 0 },
	"first":    func(a, b alert.Alert) int { return cmp.Compare(b.FirstTime, a.FirstTime) },
	"severity": func(a, b alert.Alert) int { return cmp.Compare(a.Severity, b.Severity) },
	"count":    func(a, b alert.Alert) int { return cmp.Compare(b.Count, a.Count) },
	"rule":     func(a, b alert.Alert) int { return cmp.Compare(a.Rule, b.Rule) },
	"host":     func(a, b alert.Alert) int { return cmp.Compare(a.Hostname, b.Hostname) },
}

type alertsData struct {
	Tab, Q, Sort string
	Alerts       []alertRow
	Tabs         []rangeLink
	Sorts        []rangeLink
	Error        *queryError
	Done         string // what the last dismissal did
	Problems     []string
	Now          int64  // epoch ms of this page: the stream sends alerts made after it
	Total        int    // alerts in the tab, on every page
	Prev, Next   string // the neighbouring pages' links
}

type alertRow struct {
	alert.Alert
	Events string // the events behind the alert
}

// alertsPerPage bounds the rows of an alerts page.
const alertsPerPage = 100

// alertsQuery is the alerts page's state, in its URL.
type alertsQuery struct {
	Tab, Q, Sort string
	Page         int
}

func (a alertsQuery) link(change ...string) string {
	page := ""
	if a.Page > 0 {
		page = strconv.Itoa(a.Page)
	}
	// link keeps the last value given for a name.
	return link("/alerts", append([]string{"tab", a.Tab, "q", a.Q, "sort", a.Sort, "page", page}, change...)...)
}

func (c *Console) alerts(w http.ResponseWriter, r *http.Request, s *session) {
	v := r.URL.Query()
	aq := alertsQuery{Tab: v.Get("tab"), Q: v.Get("q"), Sort: v.Get("sort")}
	aq.Page, _ = strconv.Atoi(v.Get("page"))
	aq.Page = max(aq.Page, 0)
	if aq.Tab != "dismissed" {
		aq.Tab = "open"
	}
	if _, ok := alertSorts[aq.Sort]; !ok {
		aq.Sort = "last"
	}
	d := alertsData{Tab: aq.Tab, Q: aq.Q, Sort: aq.Sort, Done: v.Get("done"), Problems: v["problem"], Now: c.opts.Now().UnixMilli()}
	for _, t := range []string{"open", "dismissed"} {
		d.Tabs = append(d.Tabs, rangeLink{Label: t, Href: aq.link("tab", t, "page", ""), Current: t == aq.Tab})
	}
	for _, o := range []string{"last", "first", "severity", "count", "rule", "host"} {
		d.Sorts = append(d.Sorts, rangeLink{Label: o, Href: aq.link("sort", o, "page", ""), Current: o == aq.Sort})
	}
	var list []alert.Alert
	_, err := c.callJSON(r.Context(), s, "GET", link("/api/v1/alerts", "status", aq.Tab, "query", aq.Q), nil, &list)
	code := http.StatusOK
	if err != nil {
		code, d.Error = statusOf(err), queryErrorOf(err, aq.Q)
	}
	by := alertSorts[aq.Sort]
	slices.SortStableFunc(list, func(a, b alert.Alert) int {
		return cmp.Or(by(a, b), cmp.Compare(b.LastTime, a.LastTime), cmp.Compare(a.ID, b.ID))
	})
	d.Total = len(list)
	from := min(aq.Page*alertsPerPage, len(list))
	to := min(from+alertsPerPage, len(list))
	if from > 0 {
		d.Prev = aq.link("page", strconv.Itoa(aq.Page-1))
	}
	if to < len(list) {
		d.Next = aq.link("page", strconv.Itoa(aq.Page+1))
	}
	for _, a := range list[from:to] {
		d.Alerts = append(d.Alerts, alertRow{Alert: a, Events: alertEventsLink(a)})
	}
	c.render(w, r, s, code, "alerts", "Alerts", d)
}

// alertEventsLink is the console's short link to the events behind an
// alert (alertEventsPage sends it on to the search).
func alertEventsLink(a alert.Alert) string {
	if len(a.EventIDs) == 0 {
		return ""
	}
	return "/alerts/" + url.PathEscape(a.ID) + "/events"
}

// alertEventsPage sends the browser to the events behind an alert.
func (c *Console) alertEventsPage(w http.ResponseWriter, r *http.Request, s *session) {
	var a alert.Alert
	if _, err := c.callJSON(r.Context(), s, "GET", "/api/v1/alerts/"+url.PathEscape(r.PathValue("id")), nil, &a); err != nil {
		c.fail(w, r, statusOf(err), err.Error())
		return
	}
	to := alertEvents(a)
	if to == "" {
		c.fail(w, r, http.StatusNotFound, "alert "+a.ID+" names no events")
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// alertEvents is the search for the events behind an alert: its sample of
// event ids within its first and last sighting.
func alertEvents(a alert.Alert) string {
	if len(a.EventIDs) == 0 {
		return ""
	}
	ids := make([]string, len(a.EventIDs))
	for i, id := range a.EventIDs {
		ids[i] = quote(id)
	}
	return link("/events", "q", "_id in ("+strings.Join(ids, ", ")+")",
		"since", linkTime(time.UnixMilli(a.FirstTime)), "until", linkTime(time.UnixMilli(a.LastTime)), "order", "asc")
}

// dismiss dismisses the checked alerts with one reason, each through the
// API (which keeps the alert and who dismissed it), and goes back to the
// list saying what happened.
func (c *Console) dismiss(w http.ResponseWriter, r *http.Request, s *session) {
	ids := r.PostForm["id"]
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	back := alertsQuery{Tab: r.PostFormValue("tab"), Q: r.PostFormValue("q"), Sort: r.PostFormValue("sort")}
	var problems []string
	switch {
	case len(ids) == 0:
		problems = append(problems, "check the alerts to dismiss first")
	case reason == "":
		problems = append(problems, "say why the alerts are dismissed: the reason is kept with them")
	}
	done := 0
	if len(problems) == 0 {
		for _, id := range ids {
			_, err := c.callJSON(r.Context(), s, "POST", "/api/v1/alerts/"+url.PathEscape(id)+"/dismiss", map[string]string{"reason": reason}, nil)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			done++
		}
	}
	to := back.link("done", fmt.Sprintf("dismissed %d of %d", done, len(ids)))
	if len(ids) == 0 || reason == "" {
		to = back.link()
	}
	for _, p := range problems {
		sep := "&"
		if !strings.Contains(to, "?") {
			sep = "?"
		}
		to += sep + "problem=" + url.QueryEscape(p)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// afterOf reads the stream's ?after= (epoch ms), else now.
func (c *Console) afterOf(r *http.Request) int64 {
	if n, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64); err == nil {
		return n
	}
	return c.opts.Now().UnixMilli()
}
