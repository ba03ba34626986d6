package server

import "testing"

// What each role may do, as docs/api.md lists it: an analyst reads and
// triages (dismisses alerts) but never writes events, rules or tokens; an
// ingest token only writes events.
func TestRoleMatrix(t *testing.T) {
	f := start(t, Options{})
	rule := []byte("name: r1\nfilter: exe = \"/tmp/x\"\nseverity: 1\n")
	for _, c := range []struct {
		who, token, method, path string
		body                     []byte
		allowed                  bool
	}{
		{"analyst", f.analystA, "POST", "/api/v1/alerts/nope/dismiss", nil, true}, // 404: allowed, no such alert
		{"analyst", f.analystA, "GET", "/api/v1/alerts", nil, true},
		{"analyst", f.analystA, "POST", "/api/v1/sql", []byte(`{"sql": "SELECT 1"}`), true},
		{"analyst", f.analystA, "POST", "/api/v1/events", events(1, "x"), false},
		{"analyst", f.analystA, "POST", "/services/collector/event", []byte(`{"event": {}}`), false},
		{"analyst", f.analystA, "PUT", "/api/v1/rules/r1", rule, false},
		{"analyst", f.analystA, "DELETE", "/api/v1/rules/r1", nil, false},
		{"ingest", f.ingestA, "POST", "/api/v1/events", events(1, "x"), true},
		{"ingest", f.ingestA, "POST", "/api/v1/alerts/nope/dismiss", nil, false},
		{"ingest", f.ingestA, "GET", "/api/v1/alerts", nil, false},
		{"ingest", f.ingestA, "POST", "/api/v1/sql", []byte(`{"sql": "SELECT 1"}`), false},
		{"ingest", f.ingestA, "GET", "/api/v1/rules", nil, false},
	} {
		hdr := []string{}
		if c.path == "/services/collector/event" {
			hdr = []string{"Authorization", "Splunk " + c.token}
		}
		code, body := call(t, c.method, f.url+c.path, c.token, c.body, hdr...)
		if denied := code == 401 || code == 403; denied == c.allowed {
			t.Errorf("%s %s %s: %d %s, want allowed=%v", c.who, c.method, c.path, code, body, c.allowed)
		}
	}
}
