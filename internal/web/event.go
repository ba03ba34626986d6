package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/client"
	"github.com/spoor-dev/spoor/internal/query"
)

// pivotFields are the typed columns an event's pivots start from.
var pivotFields = []string{"_id", "event_time", "hostname", "agent_id", "event_type", "session", "pid", "ppid", "exe", "parent_exe", "user", "src_ip", "dst_ip"}

// sweepable are the fields whose values the event page offers to sweep
// every host for (seed 000: is anyone else compromised?).
var sweepable = map[string]bool{"exe": true, "parent_exe": true, "src_ip": true, "dst_ip": true, "path": true,
	"Image": true, "ParentImage": true, "TargetFilename": true, "Hashes": true, "sha256": true, "md5": true,
	"sourceIPAddress": true, "QueryName": true, "DestinationIp": true, "SourceIp": true, "DestinationHostname": true}

type eventData struct {
	ID       string
	Fields   []eventField
	Raw      string // the original event, indented
	Pivots   []pivot
	Warnings []string
}

type eventField struct {
	Name, Value string
	Sweep       string // the sweep link for this value, when it is an indicator
}

type pivot struct {
	Label, Href string
}

// eventView shows one whole original event and the pivots from it. The
// links of the console name the event's time (?t=), which bounds the
// lookup to the parts of that hour; without it, or when it is wrong, the
// event is looked for over all time.
func (c *Console) eventView(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	at := r.URL.Query().Get("t")
	ev, err := c.lookup(r.Context(), s, id, at)
	if statusOf(err) == http.StatusNotFound && at != "" {
		ev, err = c.lookup(r.Context(), s, id, "")
	}
	if err != nil {
		c.fail(w, r, statusOf(err), err.Error())
		return
	}
	d := eventData{ID: id, Warnings: ev.warnings}
	var pretty bytes.Buffer
	if json.Indent(&pretty, ev.original, "", "  ") == nil {
		d.Raw = pretty.String()
	} else {
		d.Raw = string(ev.original)
	}
	d.Fields = topLevel(ev.original)
	d.Pivots = pivotsOf(ev.typed)
	c.render(w, r, s, http.StatusOK, "events_event", "Event "+id, d)
}

// foundEvent is an event as the event page shows it: the original as it
// came, and its typed columns, which the pivots start from.
type foundEvent struct {
	original []byte
	typed    map[string]any
	warnings []string
}

// lookup finds the event of id, at the time at ("" for any time), through
// two searches at once: the original (a search without fields answers
// whole original events) and its typed columns.
func (c *Console) lookup(ctx context.Context, s *session, id, at string) (foundEvent, error) {
	q := "_id = " + quote(id)
	var typed []map[string]any
	var typedErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		typed, _, typedErr = c.callRows(ctx, s, "POST", "/api/v1/search?format=json",
			map[string]any{"query": q, "fields": pivotFields, "limit": 1, "since": at, "until": at})
	}()
	var originals []json.RawMessage
	a, err := c.callJSON(ctx, s, "POST", "/api/v1/search?format=json", map[string]any{"query": q, "limit": 1, "since": at, "until": at}, &originals)
	<-done
	switch {
	case err != nil:
		return foundEvent{}, err
	case typedErr != nil:
		return foundEvent{}, typedErr
	case len(originals) == 0 || len(typed) == 0:
		return foundEvent{}, &client.APIError{Status: http.StatusNotFound, Message: fmt.Sprintf("no event %q in your organization", id)}
	}
	return foundEvent{original: originals[0], typed: typed[0], warnings: a.warnings()}, nil
}

// topLevel lists the event's top-level fields in their order in the JSON,
// each value as text (strings as they are, the rest as JSON).
func topLevel(raw []byte) []eventField {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var out []eventField
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return out
		}
		name, _ := t.(string)
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return out
		}
		f := eventField{Name: name, Value: string(v)}
		var str string
		if json.Unmarshal(v, &str) == nil {
			f.Value = str
			if sweepable[name] && str != "" {
				f.Sweep = link("/pivot/sweep", "ioc", str, "since", "30d")
			}
		}
		out = append(out, f)
	}
	return out
}

// quote writes s as a filter-language string literal.
func quote(s string) string { return query.Print(&query.Literal{Kind: query.LitString, Value: s}) }

// pivotWindows are the "same host ±N minutes" windows (seed 001).
var pivotWindows = []int{1, 5, 15, 60}

// pivotsOf lists the pivots an event's typed fields allow.
func pivotsOf(ev map[string]any) []pivot {
	str := func(k string) string { return cellText(ev[k]) }
	at, err := time.Parse(time.RFC3339Nano, str("event_time"))
	if err != nil {
		return nil
	}
	host, hostField := str("agent_id"), "agent_id"
	if host == "" {
		host, hostField = str("hostname"), "hostname"
	}
	var out []pivot
	window := func(d time.Duration) (string, string) { return linkTime(at.Add(-d)), linkTime(at.Add(d)) }
	if host != "" {
		for _, m := range pivotWindows {
			since, until := window(time.Duration(m) * time.Minute)
			out = append(out, pivot{fmt.Sprintf("same host ±%d min", m),
				link("/events", "q", hostField+" = "+quote(host), "since", since, "until", until, "order", "asc")})
		}
	}
	treeHost := str("hostname")
	if treeHost == "" {
		treeHost = host
	}
	// A session of auditd's "unset" (-1 as unsigned) is no session.
	if ses, err := strconv.ParseInt(str("session"), 10, 64); err == nil && ses > 0 && ses != 4294967295 && host != "" {
		since, until := window(24 * time.Hour)
		out = append(out, pivot{"same session",
			link("/events", "q", hostField+" = "+quote(host)+" AND session = "+strconv.FormatInt(ses, 10), "since", since, "until", until, "order", "asc")})
		out = append(out, pivot{"session's process tree",
			link("/pivot/tree", "host", treeHost, "session", strconv.FormatInt(ses, 10), "since", since, "until", until)})
	}
	if pid, err := strconv.ParseInt(str("pid"), 10, 64); err == nil && pid > 0 && treeHost != "" {
		since, until := window(24 * time.Hour)
		out = append(out, pivot{"process tree under pid " + strconv.FormatInt(pid, 10),
			link("/pivot/tree", "host", treeHost, "pid", strconv.FormatInt(pid, 10), "since", since, "until", until)})
	}
	if exe := str("exe"); exe != "" {
		out = append(out, pivot{"other hosts with this executable", link("/pivot/exe", "exe", exe)})
	}
	for _, k := range []string{"exe", "src_ip", "dst_ip"} {
		if v := str(k); v != "" && !strings.HasPrefix(v, "127.") {
			out = append(out, pivot{"sweep all hosts for " + k + " " + v, link("/pivot/sweep", "ioc", v, "since", "30d")})
		}
	}
	return out
}
