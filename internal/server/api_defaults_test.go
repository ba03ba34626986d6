package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// The hunting API answers JSON unless asked otherwise, as docs/api.md says
// (what a browser and jq expect); an empty ingest body is a 400, not a 200
// with zeros.
func TestHuntDefaultsToJSONAndEmptyBodyIs400(t *testing.T) {
	f := start(t, Options{})
	if code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, events(5, "x")); code != 200 {
		t.Fatalf("ingest: %d %s", code, body)
	}
	code, body := call(t, "POST", f.url+"/api/v1/hunt/cluster", f.analystA, []byte(`{}`))
	if code != 200 || !json.Valid(body) || !strings.HasPrefix(strings.TrimSpace(string(body)), "[") {
		t.Errorf("hunt without a format: %d %.200s, want one JSON array", code, body)
	}
	code, body = call(t, "POST", f.url+"/api/v1/hunt/cluster?format=ndjson", f.analystA, []byte(`{}`))
	if code != 200 || strings.HasPrefix(string(body), "[") {
		t.Errorf("hunt as ndjson: %d %.200s", code, body)
	}
	for _, b := range []string{"", " \n\t"} {
		code, body = call(t, "POST", f.url+"/api/v1/events", f.ingestA, []byte(b))
		if code != 400 || !strings.Contains(string(body), "empty body") {
			t.Errorf("empty body %q: %d %s, want 400 empty body", b, code, body)
		}
	}
}
