package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
)

// Events matching a default rule raise one alert (with a count, not one
// per event) in the sender's organization only, posted to the webhook;
// it can be listed with the filter language, shown and dismissed, and a
// dismissed alert is still listed.
func TestAlertsFromIngest(t *testing.T) {
	var mu sync.Mutex
	var posted []alert.Alert
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a alert.Alert
		json.NewDecoder(r.Body).Decode(&a)
		mu.Lock()
		posted = append(posted, a)
		mu.Unlock()
	}))
	defer hook.Close()
	webhookURL = hook.URL
	f := start(t, Options{})
	webhookURL = ""

	var body strings.Builder
	for i := range 40 {
		fmt.Fprintf(&body, `{"_id":"x%d","event_time":%d,"event_type":"audit","syscall":"execve","exe":"/tmp/implant","agent_id":"a1","hostname":"web-1"}`+"\n", i, 1581674400000+int64(i)*1000)
	}
	body.WriteString(`{"_id":"ok","event_time":1581674400000,"event_type":"audit","syscall":"execve","exe":"/usr/bin/ls","agent_id":"a1","hostname":"web-1"}` + "\n")
	if code, b := call(t, "POST", f.url+"/api/v1/events", f.ingestA, []byte(body.String())); code != 200 {
		t.Fatalf("ingest: %d %s", code, b)
	}
	var list []alert.Alert
	code, b := call(t, "GET", f.url+"/api/v1/alerts", f.analystA, nil)
	json.Unmarshal(b, &list)
	if code != 200 || len(list) != 1 || list[0].Rule != "tmp-binary-exec" || list[0].Count != 40 || list[0].Hostname != "web-1" || len(list[0].EventIDs) != 40 {
		t.Fatalf("alerts: %d %s", code, b)
	}
	id := list[0].ID
	code, b = call(t, "GET", f.url+"/api/v1/alerts", f.analystB, nil)
	if code != 200 || strings.TrimSpace(string(b)) != "[]" {
		t.Fatalf("orgB sees orgA's alerts: %d %s", code, b)
	}
	if code, _ := call(t, "GET", f.url+"/api/v1/alerts/"+id, f.analystB, nil); code != 404 {
		t.Errorf("orgB reading orgA's alert by id: %d", code)
	}
	q := url.QueryEscape(`rule = "tmp-binary-exec" AND severity = 1 AND count >= 40`)
	code, b = call(t, "GET", f.url+"/api/v1/alerts?query="+q, f.analystA, nil)
	if code != 200 || !strings.Contains(string(b), id) {
		t.Errorf("filtered list: %d %s", code, b)
	}
	code, b = call(t, "GET", f.url+"/api/v1/alerts?query="+url.QueryEscape(`severity = 3`), f.analystA, nil)
	if code != 200 || strings.TrimSpace(string(b)) != "[]" {
		t.Errorf("severity 3 list: %d %s", code, b)
	}
	code, b = call(t, "POST", f.url+"/api/v1/alerts/"+id+"/dismiss", f.analystA, []byte(`{"reason":"red team exercise"}`))
	if code != 200 || !strings.Contains(string(b), `"status":"dismissed"`) {
		t.Fatalf("dismiss: %d %s", code, b)
	}
	code, b = call(t, "GET", f.url+"/api/v1/alerts?status=dismissed", f.analystA, nil)
	if code != 200 || !strings.Contains(string(b), "red team exercise") {
		t.Errorf("dismissed list: %d %s", code, b)
	}
	code, b = call(t, "POST", f.url+"/api/v1/sql", f.analystA, []byte(`{"sql": "SELECT rule, count, status FROM alerts"}`), "Accept", "application/json")
	if code != 200 || !strings.Contains(string(b), `"count":40`) || !strings.Contains(string(b), `"status":"dismissed"`) {
		t.Errorf("alerts over SQL: %d %s", code, b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(posted)
		mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posted) != 1 || posted[0].ID != id || posted[0].Org != "orgA" {
		t.Errorf("webhook got %+v, want the one new alert", posted)
	}
}

// A rule put through the API is a file in the organization's rules
// directory and takes effect at once; a backtest says what a rule would have raised.
func TestRulesAPIAndBacktest(t *testing.T) {
	f := start(t, Options{})
	var body strings.Builder
	for i := range 30 {
		user := "alice"
		if i%3 == 0 {
			user = "backup"
		}
		fmt.Fprintf(&body, `{"_id":"w%d","event_time":%d,"event_type":"audit","syscall":"execve","exe":"/usr/bin/wget","arguments":"wget http://x/%d","user":%q,"agent_id":"a%d","hostname":"h%d"}`+"\n", i, 1581674400000+int64(i)*60000, i, user, i%2, i%2)
	}
	if code, b := call(t, "POST", f.url+"/api/v1/events", f.ingestA, []byte(body.String())); code != 200 {
		t.Fatalf("ingest: %d %s", code, b)
	}
	rule := `name: wget-run
title: wget was run
type: host
severity: 2
filter: event_type = "audit" AND exe = "/usr/bin/wget"
suppressions:
  - user = "backup" AND arguments starts_with "wget http://x/"
aggregate: [hostname]
window: 1h
`
	req, err := json.Marshal(map[string]string{"rule": rule, "since": "2020-02-14T00:00:00Z", "until": "2020-02-16T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	code, b := call(t, "POST", f.url+"/api/v1/rules/test", f.analystA, req)
	var bt struct {
		Matched, Suppressed, Alerts int64
		Hosts                       []struct{ Hostname string }
		Samples                     []map[string]any
	}
	if err := json.Unmarshal(b, &bt); err != nil {
		t.Fatalf("backtest answer %d %s: %v", code, b, err)
	}
	if code != 200 || bt.Matched != 30 || bt.Suppressed != 10 || bt.Alerts != 2 || len(bt.Hosts) != 2 || len(bt.Samples) == 0 {
		t.Fatalf("backtest: %d %s", code, b)
	}
	// Analysts may not change rules; admins change their organization's.
	if code, _ := call(t, "PUT", f.url+"/api/v1/rules/wget-run", f.analystA, []byte(rule)); code != 403 {
		t.Errorf("analyst PUT: %d", code)
	}
	if code, b := call(t, "PUT", f.url+"/api/v1/rules/wget-run", f.adminA, []byte(rule)); code != 200 {
		t.Fatalf("admin PUT: %d %s", code, b)
	}
	code, b = call(t, "GET", f.url+"/api/v1/rules/wget-run", f.analystA, nil)
	if code != 200 || !strings.Contains(string(b), "wget was run") {
		t.Fatalf("GET rule: %d %s", code, b)
	}
	// Live at once: the next wget run raises an alert.
	ev := `{"_id":"w-live","event_time":1581674400000,"event_type":"audit","syscall":"execve","exe":"/usr/bin/wget","user":"eve","agent_id":"a9","hostname":"h9"}` + "\n"
	call(t, "POST", f.url+"/api/v1/events", f.ingestA, []byte(ev))
	code, b = call(t, "GET", f.url+"/api/v1/alerts?query="+url.QueryEscape(`rule = "wget-run"`), f.analystA, nil)
	if code != 200 || !strings.Contains(string(b), `"hostname":"h9"`) {
		t.Errorf("the new rule did not fire: %d %s", code, b)
	}
	if code, _ := call(t, "DELETE", f.url+"/api/v1/rules/wget-run", f.adminA, nil); code != 204 {
		t.Errorf("DELETE: %d", code)
	}
}
