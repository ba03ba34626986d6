package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
)

// streamAlert is what the alerts page's script adds as a row.
type streamAlert struct {
	ID        string `json:"id"`
	Severity  int    `json:"severity"`
	SevName   string `json:"severity_name"`
	Rule      string `json:"rule"`
	Title     string `json:"title"`
	Technique string `json:"technique"`
	Host      string `json:"host"`
	First     string `json:"first_seen"`
	Last      string `json:"last_seen"`
	Count     int64  `json:"count"`
	Events    string `json:"events"`
}

// alertStream sends the session's new open alerts as server-sent events:
// those made after ?after= (the page's own time), each once. It reads them
// through the API with the session's token, so a stream carries only its
// organization's alerts; it polls the API's list (alerts live in memory,
// so a poll is cheap) every AlertPoll and says it is alive every
// Heartbeat, which also keeps the server's write deadline away.
func (c *Console) alertStream(w http.ResponseWriter, r *http.Request, s *session) {
	rc := http.NewResponseController(w)
	after := c.afterOf(r)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 5000\n\n")
	rc.Flush()
	sent := map[string]bool{}
	poll := time.NewTicker(c.opts.AlertPoll)
	defer poll.Stop()
	beat := time.NewTicker(c.opts.Heartbeat)
	defer beat.Stop()
	for {
		if _, ok := c.session(r, false); !ok {
			fmt.Fprint(w, "event: signed-out\ndata: {}\n\n")
			rc.Flush()
			return // signed out, expired or revoked
		}
		var list []alert.Alert
		if _, err := c.callJSON(r.Context(), s, "GET", "/api/v1/alerts?status=open", nil, &list); err != nil {
			c.opts.Logger.Warn("console: alert stream", "org", s.org, "err", err)
		}
		// The list is newest first; send the oldest new one first.
		for i := len(list) - 1; i >= 0; i-- {
			a := list[i]
			if a.CreatedAt <= after || sent[a.ID] {
				continue
			}
			sent[a.ID] = true
			b, _ := json.Marshal(streamAlert{ID: a.ID, Severity: a.Severity, SevName: severityName(a.Severity), Rule: a.Rule, Title: a.Title,
				Technique: a.Technique, Host: a.Hostname, First: fmtMillis(a.FirstTime), Last: fmtMillis(a.LastTime), Count: a.Count, Events: alertEventsLink(a)})
			fmt.Fprintf(w, "event: alert\nid: %s\ndata: %s\n\n", a.ID, b)
		}
		if rc.Flush() != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-poll.C:
		case <-beat.C:
			fmt.Fprint(w, ": alive\n\n")
		}
	}
}
