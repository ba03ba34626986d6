package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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

// eventView shows one whole original event and the pivots from it.
func (c *Console) eventView(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	var typed map[string]any
	var typedErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		typed, typedErr = c.typedFields(r.Context(), s, id)
	}()
	a, err := c.call(r.Context(), s, "GET", "/api/v1/events/"+url.PathEscape(id), nil)
	<-done
	if err == nil {
		err = a.err()
	}
	if err != nil {
		c.fail(w, r, statusOf(err), err.Error())
		return
	}
	d := eventData{ID: id, Warnings: a.warnings()}
	var pretty bytes.Buffer
	if json.Indent(&pretty, a.Body, "", "  ") == nil {
		d.Raw = pretty.String()
	} else {
		d.Raw = string(a.Body)
	}
	d.Fields = topLevel(a.Body)
	if typedErr != nil {
		d.Warnings = append(d.Warnings, "pivots unavailable: "+typedErr.Error())
	} else {
		d.Pivots = pivotsOf(typed)
	}
	c.render(w, r, s, http.StatusOK, "events_event", "Event "+id, d)
}

// typedFields reads the event's typed columns, whatever its format named
// them, through a search for its _id.
func (c *Console) typedFields(ctx context.Context, s *session, id string) (map[string]any, error) {
	body := map[string]any{"query": "_id = " + quote(id), "fields": pivotFields, "limit": 1}
	a, err := c.call(ctx, s, "POST", "/api/v1/search?format=json", body)
	if err != nil {
		return nil, err
	}
	if err := a.err(); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(a.Body))
	dec.UseNumber()
	var rows []map[string]any
	if err := dec.Decode(&rows); err != nil || len(rows) == 0 {
		return nil, fmt.Errorf("no event %q", id)
	}
	return rows[0], nil
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
