package alert

import (
	"encoding/json"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/query"
)

// AsEvent presents an alert to the filter language: its columns by name
// (rule, severity, status, title, count, group_key...) are looked up in
// raw, hostname and agent_id are typed, event_time is its last event.
func AsEvent(a Alert) *event.Event {
	e := new(event.Event)
	e.SetString(event.ID, a.ID)
	e.SetString(event.OrganizationID, a.Org)
	e.SetString(event.EventType, "alert")
	e.SetInt(event.EventTime, a.LastTime)
	if a.Hostname != "" {
		e.SetString(event.Hostname, a.Hostname)
	}
	if a.AgentID != "" {
		e.SetString(event.AgentID, a.AgentID)
	}
	e.SetString(event.Summary, a.Title)
	e.Raw, _ = json.Marshal(a)
	return e
}

// Filter keeps the alerts a filter-language query matches ("" keeps all).
func Filter(alerts []Alert, q string) ([]Alert, error) {
	if q == "" {
		return alerts, nil
	}
	m, err := query.CompileString(q)
	if err != nil {
		return nil, err
	}
	var out []Alert
	for _, a := range alerts {
		if m.Match(AsEvent(a)) {
			out = append(out, a)
		}
	}
	return out, nil
}
