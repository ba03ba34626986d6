package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func sigmaRule(id, title, tag string) []byte {
	return []byte(`title: ` + title + `
id: ` + id + `
status: test
level: high
tags:
  - ` + tag + `
logsource:
  product: linux
  service: auditd
detection:
  sel:
    type: EXECVE
    a0: nc
  condition: sel
`)
}

// GET /api/v1/sigma lists the live Sigma rules a caller's events meet: the
// shared ones and its own organization's, never another's; q filters and
// limit and offset page.
func TestSigmaListScopedToOrg(t *testing.T) {
	f := start(t, Options{})
	shared := f.srv.opts.Rules.Path()
	if err := os.WriteFile(filepath.Join(shared, "shared-nc.yml"), sigmaRule("6d1f5a36-0000-4000-8000-000000000001", "Netcat run (shared)", "attack.t1059.004"), 0o644); err != nil {
		t.Fatal(err)
	}
	orgB, err := f.srv.opts.Rules.Org("orgB")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(orgB.Path(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(orgB.Path(), "b-secret.yml"), sigmaRule("6d1f5a36-0000-4000-8000-00000000000b", "orgB's own secret rule", "attack.t1003"), 0o644); err != nil {
		t.Fatal(err)
	}
	type list struct {
		Total int `json:"total"`
		Rules []struct {
			ID, Title, Technique, Origin, Logsource string
		} `json:"rules"`
	}
	get := func(token, query string) list {
		t.Helper()
		code, body := call(t, "GET", f.url+"/api/v1/sigma"+query, token, nil)
		if code != 200 {
			t.Fatalf("GET /api/v1/sigma%s: %d %s", query, code, body)
		}
		var l list
		if err := json.Unmarshal(body, &l); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		return l
	}
	deadline := time.Now().Add(20 * time.Second)
	for get(f.analystB, "?q=orgB").Total == 0 || get(f.analystA, "?q=netcat").Total == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the Sigma rules written were never live")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if l := get(f.analystA, "?q=secret"); l.Total != 0 {
		t.Fatalf("orgA sees orgB's rule: %+v", l)
	}
	a := get(f.analystA, "?q=T1059.004")
	if a.Total != 1 || a.Rules[0].Origin != "shared" || a.Rules[0].Technique != "T1059.004" || a.Rules[0].Logsource == "" {
		t.Fatalf("orgA's view of the shared rule: %+v", a)
	}
	b := get(f.analystB, "?q=6d1f5a36")
	if b.Total != 2 || len(b.Rules) != 2 {
		t.Fatalf("orgB sees %+v, want the shared rule and its own", b)
	}
	if p := get(f.analystB, "?q=6d1f5a36&limit=1&offset=1"); p.Total != 2 || len(p.Rules) != 1 || p.Rules[0].ID == b.Rules[0].ID {
		t.Fatalf("second page of one: %+v", p)
	}
	for _, bad := range []string{"?limit=0", "?limit=501", "?offset=-1", "?limit=x"} {
		if code, body := call(t, "GET", f.url+"/api/v1/sigma"+bad, f.analystA, nil); code != 400 {
			t.Errorf("GET /api/v1/sigma%s: %d %s, want 400", bad, code, body)
		}
	}
	if code, _ := call(t, "GET", f.url+"/api/v1/sigma", f.ingestA, nil); code != 403 {
		t.Errorf("an ingest token listed the rules: %d", code)
	}
}
