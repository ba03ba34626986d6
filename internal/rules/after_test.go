package rules

import (
	"strings"
	"testing"
)

// A rule's after reads, validates, compiles (widening the event types the
// rule sees by its After's) and writes back.
func TestAfter(t *testing.T) {
	text := `name: s
type: logon
severity: 1
filter: event_type = 'winsec' AND win_event_id = 4624
after:
  filter: event_type = 'login' AND success = false
  threshold: 3
aggregate: [src_ip]
`
	r := mustParse(t, text)
	if r.After == nil || r.After.Threshold != 3 || !strings.Contains(r.After.Filter, "success = false") {
		t.Fatalf("after %+v", r.After)
	}
	c := mustCompile(t, r)
	if got := strings.Join(c.EventTypes(), ","); got != "login,winsec" {
		t.Errorf("event types %s, want login,winsec", got)
	}
	fail := ev(t, `{"_id":"a","event_time":1,"event_type":"login","success":false,"src_ip":"1.2.3.4"}`)
	ok := ev(t, `{"_id":"b","event_time":2,"event_type":"winsec","win_event_id":4624,"src_ip":"1.2.3.4"}`)
	if !c.MatchAfter(fail) || c.MatchAfter(ok) {
		t.Errorf("MatchAfter: failure %v, success %v", c.MatchAfter(fail), c.MatchAfter(ok))
	}
	if m, _ := c.Match(ok); !m {
		t.Errorf("the success does not match the filter")
	}
	out, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if back := mustParse(t, string(out)); !sameRule(r, back) {
		t.Errorf("round trip:\n%s", out)
	}
	for bad, want := range map[string]string{
		"after:\n  threshold: 2\n":                  "filter: required",
		"after:\n  filter: x = 1\n  threshold: 0\n": "threshold: want 1",
		"after:\n  filter: x = 1\n  count: 2\n":     `unknown key "count"`,
		"after: x = 1\n":                            "want a mapping",
		"after:\n  filter: 'x = '\n":                "after",
	} {
		_, err := ParseRule([]byte("name: s\ntype: logon\nseverity: 1\nfilter: x = 1\n"+bad), "s.yml")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", bad, err, want)
		}
	}
}
