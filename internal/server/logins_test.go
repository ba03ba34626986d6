package server

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// POST /api/v1/hunt/logins over a real server, on a brute force ingested
// through /api/v1/events in both forms (raw auditd, Windows Security
// JSON): per source and account, the logon that followed the failures;
// the default brute-force rules raised their alerts at ingest.
func TestHuntLoginsAPI(t *testing.T) {
	f := start(t, Options{})
	for _, file := range []string{"bruteforce_audit.log", "bruteforce_security.json"} {
		body, err := os.ReadFile("../hunt/logins/testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if code, b := call(t, "POST", f.url+"/api/v1/events", f.ingestA, body); code != 200 {
			t.Fatalf("ingest %s: %d %s", file, code, b)
		}
	}
	code, b := call(t, "POST", f.url+"/api/v1/hunt/logins", f.analystA, []byte(`{"host":"bastion"}`), "Accept", "application/x-ndjson")
	if code != 200 {
		t.Fatalf("logins: %d %s", code, b)
	}
	rows := map[string]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("row %q: %v", l, err)
		}
		rows[r["src_ip"].(string)+" "+r["user"].(string)] = r
	}
	if r := rows["198.51.100.7 ubuntu"]; r == nil || r["succeeded_after_failures"] != float64(8) || r["external"] != true {
		t.Errorf("the brute force that worked: %v", r)
	}
	if r := rows["198.51.100.7 root"]; r == nil || r["failures"] != float64(6) || r["successes"] != float64(0) {
		t.Errorf("root from the attacker: %v", r)
	}
	if len(rows) != 5 {
		t.Errorf("%d rows on bastion, want 5 (dc01's are another host's)", len(rows))
	}
	if code, b := call(t, "POST", f.url+"/api/v1/hunt/logins", f.analystB, []byte(`{}`), "Accept", "application/x-ndjson"); code != 200 || strings.TrimSpace(string(b)) != "" {
		t.Errorf("orgB sees orgA's logons: %d %s", code, b)
	}
	if code, b := call(t, "POST", f.url+"/api/v1/hunt/logins", f.analystA, []byte(`{"since":"nonsense"}`)); code != 400 {
		t.Errorf("bad since: %d %s", code, b)
	}
	code, b = call(t, "GET", f.url+"/api/v1/alerts", f.analystA, nil)
	if code != 200 {
		t.Fatalf("alerts: %d %s", code, b)
	}
	for _, want := range []string{`"rule":"brute-force-success"`, `"rule":"brute-force-source"`, `198.51.100.7`, `198.51.100.8`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("alerts lack %s: %.600s", want, b)
		}
	}
}
