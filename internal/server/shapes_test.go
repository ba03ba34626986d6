package server

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// snakeKey is the spelling of every key of the API's JSON objects.
var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// jsonShape decodes a JSON answer and reports keys not in snake_case and
// nulls, by path; allowNull names keys that may be null.
func jsonShape(t *testing.T, b []byte, allowNull ...string) (v any, problems []string) {
	t.Helper()
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	var walk func(path string, x any)
	walk = func(path string, x any) {
		switch x := x.(type) {
		case nil:
			for _, k := range allowNull {
				if strings.HasSuffix(path, "."+k) {
					return
				}
			}
			problems = append(problems, path+" is null")
		case map[string]any:
			for k, y := range x {
				if !snakeKey.MatchString(k) {
					problems = append(problems, fmt.Sprintf("%s.%s is not snake_case", path, k))
				}
				walk(path+"."+k, y)
			}
		case []any:
			for i, y := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), y)
			}
		}
	}
	walk("", v)
	return v, problems
}

// errorBody checks an error answer: its status, JSON content type, and the
// shape every error has ({"error": ...}, a position only for bad queries);
// it returns the message.
func errorBody(t *testing.T, what string, method, url, token string, body []byte, code int) string {
	t.Helper()
	resp, b := callResp(t, method, url, token, body)
	var e map[string]any
	if resp.StatusCode != code || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || json.Unmarshal(b, &e) != nil {
		t.Errorf("%s: %d %s %q; want %d and a JSON error", what, resp.StatusCode, resp.Header.Get("Content-Type"), b, code)
		return ""
	}
	msg, _ := e["error"].(string)
	if msg == "" || len(e) != 1 {
		t.Errorf("%s: %s; want {\"error\": \"...\"}", what, b)
	}
	return msg
}

// The API's JSON, as a client meets it: unknown routes and ids answer JSON
// errors of one shape; rules are snake_case with their window as written in
// YAML; lists are [] when empty, never null; roles read "an ingest token";
// hunt errors name the request's fields, not the command line's flags.
func TestAPIJSONShapes(t *testing.T) {
	f := start(t, Options{})
	api := f.url + "/api/v1"

	// Unknown routes and methods, with and without a token.
	for _, tok := range []string{"", f.analystA} {
		if msg := errorBody(t, "unknown route", "GET", api+"/nothing", tok, nil, 404); !strings.Contains(msg, "/api/v1/nothing") {
			t.Errorf("unknown route: %q does not name it", msg)
		}
		errorBody(t, "unknown top-level route", "GET", f.url+"/nothing", tok, nil, 404)
	}
	resp, _ := callResp(t, "DELETE", api+"/alerts", f.analystA, nil)
	if msg := errorBody(t, "wrong method", "DELETE", api+"/alerts", f.analystA, nil, 405); !strings.Contains(msg, "GET") || resp.Header.Get("Allow") == "" {
		t.Errorf("wrong method: %q, Allow %q; want the allowed methods named", msg, resp.Header.Get("Allow"))
	}
	if msg := errorBody(t, "unknown analysis", "POST", api+"/hunt/nosuch", f.analystA, []byte(`{}`), 404); !strings.Contains(msg, "nosuch") {
		t.Errorf("unknown analysis: %q", msg)
	}
	// Unknown ids are named back.
	for _, p := range []string{"/rules/no-such-id", "/alerts/no-such-id", "/events/no-such-id"} {
		if msg := errorBody(t, "GET "+p, "GET", api+p, f.analystA, nil, 404); !strings.Contains(msg, "no-such-id") {
			t.Errorf("GET %s: %q does not name the id", p, msg)
		}
	}
	if msg := errorBody(t, "ingest token searching", "GET", api+"/search?query=", f.ingestA, nil, 403); !strings.Contains(msg, "an ingest token") {
		t.Errorf("ingest token: %q", msg)
	}
	if msg := errorBody(t, "analyst token putting", "PUT", api+"/rules/x", f.analystA, []byte("name: x"), 403); !strings.Contains(msg, "an analyst token") {
		t.Errorf("analyst token: %q", msg)
	}

	// Hunt errors name the API's fields.
	for analysis, fields := range map[string][]string{
		"diff": {"host", "window", "baseline", "against_host"}, "tree": {"host", "session", "pid"},
		"sessions": {"host"}, "connections": {"host"}, "sweep": {"iocs"}, "talkers": {"addr"},
	} {
		msg := errorBody(t, "hunt "+analysis, "POST", api+"/hunt/"+analysis, f.analystA, []byte(`{}`), 400)
		for _, field := range fields {
			if !strings.Contains(msg, `"`+field+`"`) || strings.Contains(msg, "--") {
				t.Errorf("hunt %s: %q; want the fields %v named, no flags", analysis, msg, fields)
				break
			}
		}
	}

	// An ingest answer lists its rejections, none as [].
	code, b := call(t, "POST", api+"/events", f.ingestA, events(3, "orgA"))
	if v, probs := jsonShape(t, b); code != 200 || len(probs) > 0 || v.(map[string]any)["rejections"] == nil {
		t.Errorf("ingest answer: %d %s %v; want rejections []", code, b, probs)
	}

	// Rules: snake_case, window as in YAML, the sequence's after, lists.
	code, b = call(t, "GET", api+"/rules", f.analystA, nil)
	v, probs := jsonShape(t, b)
	if code != 200 || len(probs) > 0 {
		t.Fatalf("rules: %d %v", code, probs)
	}
	var seq map[string]any
	for _, r := range v.(map[string]any)["native"].([]any) {
		r := r.(map[string]any)
		if _, ok := r["aggregate"].([]any); !ok {
			t.Errorf("rule %v: aggregate %v; want a list", r["name"], r["aggregate"])
		}
		if _, ok := r["suppressions"].([]any); !ok {
			t.Errorf("rule %v: suppressions %v; want a list", r["name"], r["suppressions"])
		}
		if r["name"] == "brute-force-success" {
			seq = r
		}
	}
	if after, _ := seq["after"].(map[string]any); seq["window"] != "1h" || after["filter"] == nil || after["threshold"] == nil {
		t.Errorf("brute-force-success: window %v, after %v; want 1h and its after's filter and threshold", seq["window"], seq["after"])
	}
	rule := "name: quiet\ntype: host\nseverity: 3\nfilter: exe = \"/nonexistent\"\nwindow: 5m\n"
	code, b = call(t, "PUT", api+"/rules/quiet", f.adminA, []byte(rule))
	v, probs = jsonShape(t, b)
	ans, _ := v.(map[string]any)
	put, _ := ans["rule"].(map[string]any)
	if w, ok := ans["warnings"].([]any); code != 200 || len(probs) > 0 || !ok || len(w) != 0 || put["window"] != "5m" || put["name"] != "quiet" {
		t.Errorf("PUT rule: %d %s %v; want window 5m and warnings []", code, b, probs)
	}
	noisy := rule + "suppressions:\n  - _id = \"x\"\n"
	code, b = call(t, "PUT", api+"/rules/quiet", f.adminA, []byte(noisy))
	v, probs = jsonShape(t, b)
	if w, _ := v.(map[string]any)["warnings"].([]any); code != 200 || len(probs) > 0 || len(w) == 0 {
		t.Errorf("PUT rule with a per-event suppression: %d %s %v; want its warnings, snake_case", code, b, probs)
	} else if _, ok := w[0].(string); !ok {
		t.Errorf("PUT rule warnings: %v; want strings, as a backtest's", w[0])
	}

	// A backtest that matches nothing answers empty lists.
	req, _ := json.Marshal(map[string]string{"rule": rule, "since": "2000-01-01"})
	code, b = call(t, "POST", api+"/rules/test", f.analystA, req)
	v, probs = jsonShape(t, b)
	bt, _ := v.(map[string]any)
	if code != 200 || len(probs) > 0 {
		t.Errorf("backtest: %d %s %v", code, b, probs)
	}
	for _, k := range []string{"hosts", "samples", "suppressed_samples", "warnings"} {
		if l, ok := bt[k].([]any); !ok || len(l) != 0 {
			t.Errorf("backtest %s: %v; want []", k, bt[k])
		}
	}
}
