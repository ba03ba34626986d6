package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spoor-dev/spoor/internal/client"
)

// defaultColumns are the events table's columns when the URL names none.
var defaultColumns = []string{"event_time", "hostname", "event_type", "user", "exe", "arguments"}

func (c *Console) routeEvents() {
	c.mux.HandleFunc("GET /events", c.page(c.events))
	c.mux.HandleFunc("GET /events/{id}", c.page(c.eventView))
	c.mux.HandleFunc("GET /histogram", c.page(c.histogramFrame))
	c.routePivots()
}

// eventsQuery is an events page's state, all of it in its URL.
type eventsQuery struct {
	Q, Since, Until, Cols, Order, Cursor string
}

func eventsQueryOf(r *http.Request) eventsQuery {
	v := r.URL.Query()
	// No range is all of time: newest first, a page costs about the same,
	// and imported evidence from years ago shows (the demo's is from 2020).
	return eventsQuery{Q: v.Get("q"), Since: v.Get("since"), Until: v.Get("until"), Cols: v.Get("cols"), Order: v.Get("order"), Cursor: v.Get("cursor")}
}

// columns are the table's columns, chosen or the default.
func (e eventsQuery) columns() []string {
	var cols []string
	for _, f := range strings.Split(e.Cols, ",") {
		if f = strings.TrimSpace(f); f != "" && f != "_id" {
			cols = append(cols, f)
		}
	}
	if len(cols) == 0 {
		return defaultColumns
	}
	return cols
}

// link is the events page of e, with changes given as name, value pairs.
func (e eventsQuery) link(change ...string) string {
	kv := map[string]string{"q": e.Q, "since": e.Since, "until": e.Until, "cols": e.Cols, "order": e.Order, "cursor": e.Cursor}
	for i := 0; i+1 < len(change); i += 2 {
		kv[change[i]] = change[i+1]
	}
	q := url.Values{}
	for k, v := range kv {
		if v != "" {
			q.Set(k, v)
		}
	}
	return "/events?" + q.Encode()
}

type eventsData struct {
	eventsQuery
	Columns  []string
	Rows     []eventRow
	Next     string // the next page's link, "" on the last page
	First    string // the first page's link, when not on it
	Error    *queryError
	Warnings []string
	Hist     string // the histogram's frame
	Ranges   []rangeLink
	Newest   bool // newest first
	Flip     string
	Searched bool
}

type eventRow struct {
	Link  string // the whole event
	Cells []string
}

// rangeLink is one of the relative ranges offered above the results.
type rangeLink struct {
	Label, Href string
	Current     bool
}

// relativeRanges are the ranges one click away.
var relativeRanges = []struct{ label, since string }{
	{"15 min", "15m"}, {"1 h", "1h"}, {"24 h", "24h"}, {"7 d", "7d"}, {"30 d", "30d"}, {"all", ""},
}

func (c *Console) events(w http.ResponseWriter, r *http.Request, s *session) {
	e := eventsQueryOf(r)
	d := eventsData{eventsQuery: e, Columns: e.columns(), Newest: e.Order != "asc"}
	if d.Newest {
		d.Flip = e.link("order", "asc", "cursor", "")
	} else {
		d.Flip = e.link("order", "", "cursor", "")
	}
	for _, rr := range relativeRanges {
		d.Ranges = append(d.Ranges, rangeLink{Label: rr.label, Href: e.link("since", rr.since, "until", "", "cursor", ""),
			Current: e.Since == rr.since && e.Until == ""})
	}
	if e.Cursor != "" {
		d.First = e.link("cursor", "")
	}
	page, err := c.searchPage(r.Context(), s, e, d.Columns)
	code := http.StatusOK
	if err != nil {
		code = statusOf(err)
		d.Error = queryErrorOf(err, e.Q)
	} else {
		d.Hist = link("/histogram", "q", e.Q, "since", e.Since, "until", e.Until, "cols", e.Cols, "order", e.Order)
		d.Rows, d.Searched = page.rows, true
		d.Warnings = append(d.Warnings, page.warnings...)
		if page.next != "" {
			d.Next = e.link("cursor", page.next)
		}
	}
	c.render(w, r, s, code, "events", "Events", d)
}

// searchAnswer is one page of a search.
type searchAnswer struct {
	rows     []eventRow
	next     string // cursor
	warnings []string
}

// searchPage runs one page of the events search through the API.
func (c *Console) searchPage(ctx context.Context, s *session, e eventsQuery, cols []string) (searchAnswer, error) {
	body := map[string]any{"query": e.Q, "since": e.Since, "until": e.Until, "fields": append([]string{"_id", "event_time"}, cols...),
		"limit": c.opts.PageSize, "desc": e.Order != "asc", "cursor": e.Cursor}
	var objs []map[string]any
	var a *answer
	var err error
	if hour := c.latestHour(ctx, s, e); hour != "" {
		// The console's landing page, every event newest first: the
		// newest hour alone holds a full page more often than not, and
		// reads one part instead of all. A page that is not full there
		// is looked for over all time.
		body["since"] = hour
		objs, a, err = c.callRows(ctx, s, "POST", "/api/v1/search?format=json", body)
		if err != nil || a.Header.Get("Spoor-Next-Cursor") == "" {
			body["since"], a = "", nil
		}
	}
	if a == nil {
		objs, a, err = c.callRows(ctx, s, "POST", "/api/v1/search?format=json", body)
	}
	if err != nil {
		return searchAnswer{}, err
	}
	out := searchAnswer{next: a.Header.Get("Spoor-Next-Cursor"), warnings: a.warnings()}
	for _, o := range objs {
		row := eventRow{Cells: make([]string, len(cols))}
		if id, ok := o["_id"].(string); ok {
			row.Link = eventLink(id, cellText(o["event_time"]))
		}
		for i, col := range cols {
			row.Cells[i] = cellText(o[col])
		}
		out.rows = append(out.rows, row)
	}
	return out, nil
}

// latestHour is the start of the organization's newest hour of events
// (RFC 3339), for the first page of all events newest first; "" for any
// other search, or when it cannot be known.
func (c *Console) latestHour(ctx context.Context, s *session, e eventsQuery) string {
	if e.Q != "" || e.Since != "" || e.Until != "" || e.Cursor != "" || e.Order == "asc" {
		return ""
	}
	// date_key, the lake's partition column, is far cheaper to take the
	// max of than event_time (90 ms to 350 ms over the demo's lake).
	rows, _, err := c.callRows(ctx, s, "POST", "/api/v1/sql?format=json", map[string]string{"sql": "SELECT max(date_key) AS k FROM events"})
	if err != nil || len(rows) != 1 {
		return ""
	}
	t, err := time.Parse("2006-01-02-15", cellText(rows[0]["k"]))
	if err != nil {
		return ""
	}
	return linkTime(t)
}

// eventLink is the event page of an event, with its time when known: the
// page then reads only the parts of that hour.
func eventLink(id, at string) string {
	return link("/events/"+url.PathEscape(id), "t", at)
}

// cellText shows a JSON value as text: strings as they are, lists joined
// with spaces, objects as JSON.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = cellText(p)
		}
		return strings.Join(parts, " ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// queryError is a failed search as the page shows it: the message and,
// for a filter-language error, the query split at its position.
type queryError struct {
	Message           string
	Pos               string
	Before, At, After string
}

// queryErrorOf reads the API's error; its position ("line:col", the
// column in characters) marks the query where the parser stopped.
func queryErrorOf(err error, q string) *queryError {
	var ae *client.APIError
	if !errors.As(err, &ae) {
		return &queryError{Message: err.Error()}
	}
	qe := &queryError{Message: ae.Message, Pos: ae.Position}
	// The API's message ends with the query line and a caret line
	// ("^ expected ..."): the page marks the query itself instead.
	if i := strings.LastIndex(ae.Message, "^ "); i >= 0 && ae.Position != "" {
		qe.Message = "at " + ae.Position + ": " + ae.Message[i+2:]
	}
	line, col, ok := parsePos(ae.Position)
	if !ok {
		return qe
	}
	off := 0
	for l := 1; l < line; l++ {
		nl := strings.IndexByte(q[off:], '\n')
		if nl < 0 {
			return qe
		}
		off += nl + 1
	}
	for c := 1; c < col && off < len(q); c++ {
		_, size := utf8.DecodeRuneInString(q[off:])
		off += size
	}
	qe.Before, qe.After = q[:off], q[off:]
	if off < len(q) {
		_, size := utf8.DecodeRuneInString(q[off:])
		qe.At, qe.After = q[off:off+size], q[off+size:]
	}
	return qe
}

// statusOf is the status of a page whose API call failed: the API's own,
// else 500.
func statusOf(err error) int {
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Status >= 400 {
		return ae.Status
	}
	return http.StatusInternalServerError
}

func parsePos(p string) (line, col int, ok bool) {
	l, c, found := strings.Cut(p, ":")
	if !found {
		return 0, 0, false
	}
	line, err1 := strconv.Atoi(l)
	col, err2 := strconv.Atoi(c)
	return line, col, err1 == nil && err2 == nil && line > 0 && col > 0
}
