package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A field that is neither a column nor in any searched event's raw object
// finds nothing silently no more: spoor search warns on stderr, naming the
// closest known name, on a data directory and through a server (whose
// answer carries it in Spoor-Warning); names that exist, typed or raw, warn
// of nothing.
func TestSearchWarnsOfUnknownFields(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	for i := range 40 {
		fmt.Fprintf(&b, `{"_id":"f%d","organization_id":"o","agent_id":"a","event_time":%d,"event_type":"sysmon","win_event_id":10,"GrantedAccess":"0x1010","TargetImage":"C:\\Windows\\system32\\lsass.exe"}`+"\n", i, 1600362902289+int64(i))
	}
	file := filepath.Join(dir, "e.ndjson")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	ingestInto(t, data, file)
	secret := analystToken(t, data, "o")
	cases := []struct{ q, want string }{
		{`evnt_type = "sysmon"`, "did you mean event_type?"},
		{`GrantedAcess = "0x1010"`, "did you mean GrantedAccess?"},
		{`event_type = "sysmon" AND GrantedAccess = "0x1010"`, ""},
		{`TargetImage ends_with "lsass.exe" OR nosuchfieldatall = 1`, "no field nosuchfieldatall"},
	}
	search := func(where string, d dataFlags, q string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := runSearch(context.Background(), searchOptions{data: d, format: "csv", limit: 10, stderr: &errb}, q, &out); err != nil {
			t.Fatalf("%s: %s: %v", where, q, err)
		}
		if rows := strings.Count(out.String(), "\n") - 1; strings.Contains(q, "0x1010\"") && !strings.Contains(q, "Acess") && rows != 10 {
			t.Errorf("%s: %s: %d rows, want 10: the fields that exist find the events", where, q, rows)
		}
		return errb.String()
	}
	for _, c := range cases {
		stderr := search("data directory", dataFlags{Dir: data}, c.q)
		if c.want == "" && strings.Contains(stderr, "warning") || c.want != "" && !strings.Contains(stderr, "spoor: warning: ") || !strings.Contains(stderr, c.want) {
			t.Errorf("data directory: %s: stderr %q; want a warning with %q", c.q, stderr, c.want)
		}
	}
	srv := serveProcess(t, data)
	for _, c := range cases {
		stderr := search("server", dataFlags{Server: srv, Token: secret}, c.q)
		if c.want == "" && strings.Contains(stderr, "warning") || c.want != "" && !strings.Contains(stderr, "spoor: warning: ") || !strings.Contains(stderr, c.want) {
			t.Errorf("server: %s: stderr %q; want a warning with %q", c.q, stderr, c.want)
		}
		req, _ := http.NewRequest("GET", srv+"/api/v1/search?format=json&query="+url.QueryEscape(c.q), nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := strings.Join(resp.Header.Values("Spoor-Warning"), "\n")
		if resp.StatusCode != 200 || (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("HTTP: %s: %d, Spoor-Warning %q; want %q", c.q, resp.StatusCode, got, c.want)
		}
	}

	// The hunts that take a query warn likewise; a rule's backtest says it
	// in its warnings, on the data directory and through the server.
	for _, analysis := range []string{"cluster", "timeline"} {
		req, _ := http.NewRequest("POST", srv+"/api/v1/hunt/"+analysis, strings.NewReader(`{"query": "evnt_type = \"sysmon\""}`))
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Spoor-Warning"); resp.StatusCode != 200 || !strings.Contains(got, "did you mean event_type?") {
			t.Errorf("hunt %s: %d, Spoor-Warning %q", analysis, resp.StatusCode, got)
		}
	}
	rule := filepath.Join(dir, "typo.yml")
	if err := os.WriteFile(rule, []byte("name: typo\ntype: sysmon\nseverity: 2\nfilter: evnt_type = 'sysmon'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for where, d := range map[string]dataFlags{"data directory": {Dir: data}, "server": {Server: srv, Token: secret}} {
		var out bytes.Buffer
		o := rulesOptions{data: d, since: "2000-01-01", format: "json"}
		if err := runRulesTest(context.Background(), o, rule, &out); err != nil || !strings.Contains(out.String(), "did you mean event_type?") {
			t.Errorf("%s: rules test of a misspelt filter: %v\n%s", where, err, out.String())
		}
	}
}
