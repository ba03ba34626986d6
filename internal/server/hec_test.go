package server

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestHECEventAndRaw(t *testing.T) {
	f := start(t, Options{})
	body := `{"time": 1600362902.289, "host": "web-1", "sourcetype": "threatstack", "event": {"_id": "h1", "event_type": "audit", "exe": "/usr/bin/curl"}}` +
		`{"time": "1600362903", "event": "sshd[123]: Accepted publickey for ubuntu", "fields": {"env": "prod"}}` + "\n" +
		`{"event": {"_id": "h3", "event_time": 1600362904000, "exe": "/bin/sh"}}`
	code, resp := call(t, "POST", f.url+"/services/collector/event", "", []byte(body), "Authorization", "Splunk "+f.ingestA)
	var ans hecAnswer
	json.Unmarshal(resp, &ans)
	if code != 200 || ans.Code != 0 || ans.Text != "Success" || ans.Accepted != 3 {
		t.Fatalf("HEC event: %d %s", code, resp)
	}
	code, resp = call(t, "POST", f.url+"/services/collector/raw", "", []byte(`{"_id":"r1","event_time":1600362905000,"exe":"/bin/raw"}`+"\nplain text line\n"), "Authorization", "Splunk "+f.ingestA)
	if code != 200 || !strings.Contains(string(resp), `"accepted":2`) {
		t.Fatalf("HEC raw: %d %s", code, resp)
	}
	code, resp = call(t, "POST", f.url+"/api/v1/sql?format=csv", f.analystA, []byte(`{"sql": "SELECT \"_id\", hostname, epoch_ms(event_time) AS t, raw->>'message' AS m, raw->'fields'->>'env' AS env FROM events ORDER BY t"}`))
	if code != 200 {
		t.Fatalf("%d %s", code, resp)
	}
	lines := strings.Split(strings.TrimSpace(string(resp)), "\n")
	want := []string{
		"_id,hostname,t,m,env",
		"h1,web-1,1600362902289,,",
	}
	for i, w := range want {
		if i >= len(lines) || lines[i] != w {
			t.Errorf("line %d: %q, want %q (all: %q)", i, lines[i], w, lines)
		}
	}
	if !strings.Contains(string(resp), ",1600362903000,sshd[123]: Accepted publickey for ubuntu,prod") {
		t.Errorf("string event with fields not stored as message: %s", resp)
	}
	if len(lines) != 6 {
		t.Errorf("%d events stored, want 5", len(lines)-1)
	}
}

func TestHECErrors(t *testing.T) {
	f := start(t, Options{})
	for _, c := range []struct {
		auth, body string
		status     int
		code       int
	}{
		{"", `{"event": {"a": 1}}`, 401, 2},
		{"Splunk nope", `{"event": {"a": 1}}`, 403, 4},
		{"Splunk " + f.analystA, `{"event": {"a": 1}}`, 403, 4},
		{"Splunk " + f.ingestA, ``, 400, 5},
		{"Splunk " + f.ingestA, `{"event": {"a": 1}`, 400, 6},
		{"Splunk " + f.ingestA, `{"time": 1}`, 400, 12},
		{"Splunk " + f.ingestA, `{"event": ""}`, 400, 13},
	} {
		hdr := []string{}
		if c.auth != "" {
			hdr = []string{"Authorization", c.auth}
		}
		code, resp := call(t, "POST", f.url+"/services/collector/event", "", []byte(c.body), hdr...)
		var ans hecAnswer
		json.Unmarshal(resp, &ans)
		if code != c.status || ans.Code != c.code {
			t.Errorf("%q %q: %d %s, want %d code %d", c.auth, c.body, code, resp, c.status, c.code)
		}
	}
}
