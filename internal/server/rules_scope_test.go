package server

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
)

// auditEvents is n execve events of one host, ids prefixed by prefix.
func auditEvents(n int, prefix string) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"_id":"%s-%d","event_time":%d,"event_type":"audit","syscall":"execve","exe":"/usr/bin/id","agent_id":"a1","hostname":"%s-host"}`+"\n",
			prefix, i, 1581674400000+int64(i)*1000, prefix)
	}
	return []byte(b.String())
}

const everythingRule = `name: b-everything
title: every audit event
type: host
severity: 3
filter: event_type = "audit"
`

type ruleListing struct {
	Native []struct {
		Name      string `json:"name"`
		Origin    string `json:"origin"`
		Technique string `json:"technique"`
	} `json:"native"`
	Problems []struct {
		File  string `json:"file"`
		Error string `json:"error"`
	} `json:"problems"`
}

// Rules belong to an organization: a rule organization B's admin puts
// fires on B's events only, is invisible to A and cannot be changed by A's
// admin; shared rules are read-only to every organization's admin; and no
// answer names a server path.
func TestRulesScopedToOrg(t *testing.T) {
	f := start(t, Options{})
	var bodies []string
	do := func(method, path, token string, body []byte) (int, []byte) {
		t.Helper()
		code, b := call(t, method, f.url+path, token, body)
		bodies = append(bodies, string(b))
		return code, b
	}
	if code, b := do("PUT", "/api/v1/rules/b-everything", f.adminB, []byte(everythingRule)); code != 200 {
		t.Fatalf("B's admin PUT: %d %s", code, b)
	}
	if code, b := do("POST", "/api/v1/events", f.ingestA, auditEvents(20, "a")); code != 200 {
		t.Fatalf("ingest A: %d %s", code, b)
	}
	if code, b := do("POST", "/api/v1/events", f.adminB, auditEvents(3, "b")); code != 200 {
		t.Fatalf("ingest B: %d %s", code, b)
	}
	alertsOf := func(token string) []alert.Alert {
		t.Helper()
		code, b := do("GET", "/api/v1/alerts?status=all&query="+url.QueryEscape(`rule = "b-everything"`), token, nil)
		var list []alert.Alert
		if err := json.Unmarshal(b, &list); code != 200 || err != nil {
			t.Fatalf("alerts: %d %s", code, b)
		}
		return list
	}
	if got := alertsOf(f.analystA); len(got) != 0 {
		t.Errorf("B's rule opened %d alert(s) in A: %+v", len(got), got)
	}
	if got := alertsOf(f.analystB); len(got) != 1 || got[0].Count != 3 {
		t.Errorf("B's rule on B's events: %+v, want one alert counting 3", got)
	}

	// A sees the shared rules, not B's; B sees both.
	listing := func(token string) map[string]string {
		t.Helper()
		code, b := do("GET", "/api/v1/rules", token, nil)
		var l ruleListing
		if err := json.Unmarshal(b, &l); code != 200 || err != nil {
			t.Fatalf("GET rules: %d %s", code, b)
		}
		m := map[string]string{}
		for _, r := range l.Native {
			m[r.Name] = r.Origin
			if r.Origin == "builtin" && r.Technique == "" {
				t.Errorf("built-in rule %s listed without its ATT&CK technique", r.Name)
			}
			if r.Name == "lsass-access" && r.Technique != "T1003.001" {
				t.Errorf("lsass-access listed with technique %q, want T1003.001", r.Technique)
			}
		}
		return m
	}
	if a := listing(f.analystA); a["b-everything"] != "" || a["tmp-binary-exec"] != "builtin" {
		t.Errorf("A's rule list: %v", a)
	}
	if b := listing(f.analystB); b["b-everything"] != "org" || b["tmp-binary-exec"] != "builtin" {
		t.Errorf("B's rule list: %v", b)
	}
	if code, _ := do("GET", "/api/v1/rules/b-everything", f.analystA, nil); code != 404 {
		t.Errorf("A reads B's rule: %d", code)
	}

	// A's admin can neither delete B's rule nor change a shared one.
	if code, _ := do("DELETE", "/api/v1/rules/b-everything", f.adminA, nil); code != 404 {
		t.Errorf("A's admin DELETE of B's rule: %d, want 404", code)
	}
	shared := strings.Replace(everythingRule, "b-everything", "tmp-binary-exec", 1)
	if code, _ := do("PUT", "/api/v1/rules/tmp-binary-exec", f.adminA, []byte(shared)); code != 403 {
		t.Errorf("A's admin PUT over a shared rule: %d, want 403", code)
	}
	if code, _ := do("DELETE", "/api/v1/rules/tmp-binary-exec", f.adminA, nil); code != 403 {
		t.Errorf("A's admin DELETE of a shared rule: %d, want 403", code)
	}
	// A rule of the same name put by A is A's own: B's is untouched.
	mine := strings.Replace(everythingRule, `event_type = "audit"`, `event_type = "file"`, 1)
	if code, b := do("PUT", "/api/v1/rules/b-everything", f.adminA, []byte(mine)); code != 200 {
		t.Fatalf("A's admin PUT of its own rule: %d %s", code, b)
	}
	if code, b := do("GET", "/api/v1/rules/b-everything", f.analystB, nil); code != 200 || !strings.Contains(string(b), `event_type = \"audit\"`) {
		t.Errorf("B's rule after A put one of that name: %d %s", code, b)
	}
	if code, _ := do("DELETE", "/api/v1/rules/b-everything", f.adminA, nil); code != 204 {
		t.Errorf("A's admin DELETE of its own rule: %d", code)
	}
	if code, _ := do("GET", "/api/v1/rules/b-everything", f.analystB, nil); code != 200 {
		t.Errorf("A's delete removed B's rule: %d", code)
	}

	// B's backtest sees B's events only.
	req, _ := json.Marshal(map[string]string{"rule": everythingRule, "since": "2020-02-14T00:00:00Z", "until": "2020-02-16T00:00:00Z"})
	code, b := do("POST", "/api/v1/rules/test", f.analystB, req)
	var bt struct{ Matched int64 }
	if json.Unmarshal(b, &bt); code != 200 || bt.Matched != 3 {
		t.Errorf("B's backtest: %d %s, want 3 matches (B's events only)", code, b)
	}

	// A broken shared file is reported by its name in the rules directory.
	if err := os.WriteFile(filepath.Join(f.dir, "rules", "broken.yml"), []byte("name: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		code, b := do("GET", "/api/v1/rules", f.analystA, nil)
		var l ruleListing
		json.Unmarshal(b, &l)
		if code == 200 && len(l.Problems) > 0 && strings.Contains(l.Problems[0].File, "broken.yml") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broken file is not reported: %d %s", code, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, b := range bodies {
		if strings.Contains(b, f.dir) {
			t.Fatalf("an answer names the data directory %s: %s", f.dir, b)
		}
	}
}

// With --operator-org, that organization's admins change the shared
// rules (?scope=shared), which then serve every organization; no other
// admin may.
func TestSharedRulesByOperator(t *testing.T) {
	f := start(t, Options{OperatorOrg: "orgB"})
	rule := strings.Replace(everythingRule, "b-everything", "op-everything", 1)
	if code, _ := call(t, "PUT", f.url+"/api/v1/rules/op-everything?scope=shared", f.adminA, []byte(rule)); code != 403 {
		t.Errorf("A's admin PUT of a shared rule: %d, want 403", code)
	}
	if code, b := call(t, "PUT", f.url+"/api/v1/rules/op-everything?scope=shared", f.adminB, []byte(rule)); code != 200 || !strings.Contains(string(b), `"origin":"shared"`) {
		t.Fatalf("operator PUT of a shared rule: %d %s", code, b)
	}
	if code, b := call(t, "POST", f.url+"/api/v1/events", f.ingestA, auditEvents(2, "a")); code != 200 {
		t.Fatalf("ingest A: %d %s", code, b)
	}
	code, b := call(t, "GET", f.url+"/api/v1/alerts?query="+url.QueryEscape(`rule = "op-everything"`), f.analystA, nil)
	if code != 200 || !strings.Contains(string(b), `"count":2`) {
		t.Errorf("the shared rule on A's events: %d %s", code, b)
	}
	if code, _ := call(t, "DELETE", f.url+"/api/v1/rules/op-everything", f.adminA, nil); code != 403 {
		t.Errorf("A's admin DELETE of a shared rule: %d, want 403", code)
	}
	if code, _ := call(t, "DELETE", f.url+"/api/v1/rules/op-everything?scope=shared", f.adminB, nil); code != 204 {
		t.Errorf("operator DELETE of a shared rule: %d", code)
	}
}
