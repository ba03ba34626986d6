package rules

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/query"
)

// ev normalises a Threat Stack raw event line as ingestion does.
func ev(t testing.TB, line string) *event.Event {
	t.Helper()
	n := event.Normalizer{Org: "org1", Now: func() int64 { return 1700000000000 }}
	e := new(event.Event)
	if err := n.Normalize([]byte(line), e); err != nil {
		t.Fatalf("normalize %s: %v", line, err)
	}
	return e
}

const hostMeta = `"agent_id":"436dd34c-f795-11ea-a752-21e3e3eb7c50","host_metadata":{"hostname":"ip-172-31-30-113","instance_id":"i-08c9216f243e53fd4"}`

func mustParse(t *testing.T, text string) *Rule {
	t.Helper()
	r, err := ParseRule([]byte(text), "t.yml")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return r
}

func mustCompile(t *testing.T, r *Rule) *Compiled {
	t.Helper()
	c, err := Compile(r)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return c
}

func TestParseDefaults(t *testing.T) {
	r := mustParse(t, "name: r1\ntype: host\nseverity: high\nfilter: user = 'root'\n")
	if r.Window != time.Hour || r.Threshold != 1 || !r.Enabled || r.Kind != KindNative || r.Source != "t.yml" || r.Severity != 1 {
		t.Errorf("defaults not applied: %+v", r)
	}
	r = mustParse(t, "name: r1\ntype: file\nseverity: 3\nfilter: user = 'root'\nwindow: 15m\nthreshold: 5\nenabled: false\naggregate: [hostname, user]\n")
	if r.Window != 15*time.Minute || r.Threshold != 5 || r.Enabled || len(r.Aggregate) != 2 {
		t.Errorf("values not read: %+v", r)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, text string
		line       int
		want       string
	}{
		{"unknown key", "name: r1\ntype: host\nseverity: 1\nfiltre: user = 'root'\n", 4, `unknown key "filtre"`},
		{"bad severity", "name: r1\ntype: host\nseverity: 4\nfilter: user = 'root'\n", 3, "severity: want 1 (high), 2 (medium) or 3 (low)"},
		{"severity word", "name: r1\ntype: host\nseverity: critical\nfilter: user = 'root'\n", 3, "severity"},
		{"no name", "type: host\nseverity: 1\nfilter: user = 'root'\n", 1, "name: required"},
		{"bad name", "name: ../etc/passwd\ntype: host\nseverity: 1\nfilter: user = 'root'\n", 1, "not a file-safe id"},
		{"bad type", "name: r1\ntype: linux\nseverity: 1\nfilter: user = 'root'\n", 2, `unknown type "linux"`},
		{"no filter", "name: r1\ntype: host\nseverity: 1\n", 1, "filter: required"},
		{"bad window", "name: r1\ntype: host\nseverity: 1\nfilter: user = 'root'\nwindow: soon\n", 5, "window"},
		{"zero threshold", "name: r1\ntype: host\nseverity: 1\nfilter: user = 'root'\nthreshold: 0\n", 5, "threshold"},
		{"bad aggregate", "name: r1\ntype: host\nseverity: 1\nfilter: user = 'root'\naggregate: [hostname, '1x']\n", 5, "aggregate[1]"},
		{"twice", "name: r1\nname: r2\ntype: host\nseverity: 1\nfilter: user = 'root'\n", 2, "given twice"},
		{"not a mapping", "- a\n- b\n", 1, "a rule is a mapping"},
		{"bad yaml", "name: [r1\n", 1, "invalid YAML"},
		{"sigma kind", "name: r1\ntype: host\nseverity: 1\nfilter: user = 'root'\nkind: sigma\n", 5, "kind"},
		{"bad suppression", "name: r1\ntype: host\nseverity: 1\nfilter: user = 'root'\nsuppressions:\n  - exe = '/bin/ps'\n  - pid = 'abc'\n", 7, "suppressions[1]"},
	}
	for _, c := range cases {
		_, err := ParseRule([]byte(c.text), "t.yml")
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err %v, want a *ParseError", c.name, err)
			continue
		}
		if pe.Line != c.line || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got line %d %q, want line %d containing %q", c.name, pe.Line, err, c.line, c.want)
		}
	}
}

func TestParseBadFilterCaret(t *testing.T) {
	text := "name: r1\ntype: host\nseverity: 1\nfilter: event_type = 'login' AND agent_id =\n"
	_, err := ParseRule([]byte(text), "t.yml")
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Src == "" {
		t.Fatalf("err %v: want a *query.Error with its source", err)
	}
	want := "event_type = 'login' AND agent_id =\n                                   ^ expected a value"
	if !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "t.yml:4: filter: ") {
		t.Errorf("error\n%s\nlacks the caret\n%s", err, want)
	}
	// A block filter: the error's line is the query's line in the file.
	text = "name: r1\ntype: host\nseverity: 1\nfilter: |\n  user = 'root'\n  AND pid = 'x'\n"
	_, err = ParseRule([]byte(text), "t.yml")
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 6 {
		t.Errorf("block filter error %v: want line 6", err)
	}
}

func TestParseRulesSeveralDocuments(t *testing.T) {
	text := "name: a\ntype: host\nseverity: 1\nfilter: user = 'root'\n---\nname: b\ntype: host\nseverity: 9\nfilter: user = 'root'\n---\nname: c\ntype: file\nseverity: 2\nfilter: exe = '/x'\n"
	rules, errs := ParseRules([]byte(text), "m.yml")
	if len(rules) != 2 || rules[0].Name != "a" || rules[1].Name != "c" {
		t.Errorf("rules %v, want a and c", rules)
	}
	if len(errs) != 1 || errs[0].Line != 8 {
		t.Errorf("errs %v, want one on line 8", errs)
	}
	if _, err := ParseRule([]byte(text), "m.yml"); err == nil {
		t.Errorf("ParseRule took a text of three documents")
	}
}

func TestMatchTypeFilterSuppressions(t *testing.T) {
	r := mustParse(t, `name: ps
type: host
severity: 2
filter: command = 'ps'
suppressions:
  - user = 'root' AND tty = null AND cwd = '/usr/bin' AND arguments = 'ps -e -o pid,ppid,state,command' AND exe = '/usr/bin/ps'
`)
	c := mustCompile(t, r)
	base := `{"_id":"1","event_time":1654273630167,"event_type":"audit","syscall":"execve","command":"ps","exe":"/usr/bin/ps",` + hostMeta
	cases := []struct {
		line              string
		matched, suppress bool
	}{
		{base + `,"user":"root","cwd":"/usr/bin","arguments":"ps -e -o pid,ppid,state,command"}`, true, true},
		{base + `,"user":"root","cwd":"/usr/bin","tty":"pts/0","arguments":"ps -e -o pid,ppid,state,command"}`, true, false},
		{base + `,"user":"ubuntu","cwd":"/home/ubuntu","arguments":"ps aux"}`, true, false},
		{strings.Replace(base, `"command":"ps"`, `"command":"ls"`, 1) + `}`, false, false},
		// the filter holds, but a file event is not a host rule's
		{strings.Replace(base, `"audit"`, `"file"`, 1) + `}`, false, false},
	}
	for i, tc := range cases {
		m, s := c.Match(ev(t, tc.line))
		if m != tc.matched || s != tc.suppress {
			t.Errorf("case %d: Match = %v, %v; want %v, %v", i, m, s, tc.matched, tc.suppress)
		}
	}
}

func TestEventTypes(t *testing.T) {
	for _, tc := range []struct {
		typ, filter, want string
	}{
		{"host", "user = 'root'", "audit,host,login,logout,network"},
		{"host", "event_type = 'login' AND user = 'root'", "login"},
		{"host", "event_type in ('login', 'file', 'logout') AND user = 'root'", "login,logout"},
		{"host", "event_type = 'login' OR user = 'root'", "audit,host,login,logout,network"},
		{"winsec", "user = 'x'", "sysmon,windows,winsec"},
		{"sysmon", "user = 'x'", "sysmon"},
		{"host", "event_type = 'file'", ""},
	} {
		c := mustCompile(t, &Rule{Name: "r", Type: tc.typ, Severity: 1, Filter: tc.filter, Window: time.Hour, Threshold: 1})
		if got := strings.Join(c.EventTypes(), ","); got != tc.want {
			t.Errorf("%s %q: EventTypes %q, want %q", tc.typ, tc.filter, got, tc.want)
		}
	}
}

func TestGroupKey(t *testing.T) {
	c := mustCompile(t, mustParse(t, "name: g\ntype: host\nseverity: 1\nfilter: user != null\naggregate: [hostname, user, host_metadata.instance_id, missing]\n"))
	a := ev(t, `{"event_time":1,"event_type":"audit","user":"root","pid":1,`+hostMeta+`}`)
	b := ev(t, `{"event_time":2,"event_type":"audit","user":"root","pid":2,`+hostMeta+`}`)
	d := ev(t, `{"event_time":2,"event_type":"audit","user":"ubuntu","pid":2,`+hostMeta+`}`)
	ka, kb, kd := c.GroupKey(a), c.GroupKey(b), c.GroupKey(d)
	want := `hostname="ip-172-31-30-113",user="root",host_metadata.instance_id="i-08c9216f243e53fd4",missing=null`
	if ka != want {
		t.Errorf("GroupKey = %s, want %s", ka, want)
	}
	if ka != kb || ka == kd {
		t.Errorf("keys %q %q %q: the first two must be equal, the third differ", ka, kb, kd)
	}
	none := mustCompile(t, mustParse(t, "name: g\ntype: host\nseverity: 1\nfilter: user != null\n"))
	if k := none.GroupKey(a); k != "" {
		t.Errorf("no aggregate: key %q, want empty", k)
	}
}

func TestSQL(t *testing.T) {
	r := mustParse(t, "name: s\ntype: winsec\nseverity: 1\nfilter: TargetImage ends_with \"lsass.exe\" AND user != \"it's\"\nsuppressions: [\"SourceImage = 'C:\\\\x.exe'\", \"pid = 4\"]\n")
	c := mustCompile(t, r)
	where, sup := c.SQL()
	if !strings.HasPrefix(where, `("event_type" IN ('sysmon', 'windows', 'winsec')) AND `) {
		t.Errorf("where lacks the type restriction: %s", where)
	}
	fs, err := query.ToSQLString(r.Filter)
	if err != nil {
		t.Fatal(err)
	}
	if want := inline(fs); !strings.Contains(where, want) {
		t.Errorf("where %s\nlacks the filter's SQL %s", where, want)
	}
	if !strings.Contains(where, `'it''s'`) || !strings.Contains(where, `'/TargetImage'`) || strings.Contains(where, "?") {
		t.Errorf("values not inlined as quoted literals: %s", where)
	}
	if len(sup) != 2 || !strings.Contains(sup[0], `'C:\x.exe'`) || !strings.Contains(sup[1], `"pid" = CAST(4 AS BIGINT)`) {
		t.Errorf("suppressions SQL %q", sup)
	}
	q, qs := c.Query()
	if !strings.Contains(q.Where, fs.Where) || len(q.Args) != 3+len(fs.Args) || len(qs) != 2 {
		t.Errorf("Query %+v does not hold the filter's %+v", q, fs)
	}
	// A ? inside quoted SQL text is not a placeholder.
	if got := inline(query.SQL{Where: `x = '?' AND "a?" = ?`, Args: []any{"v"}}); got != `x = '?' AND "a?" = 'v'` {
		t.Errorf("inline = %s", got)
	}
}

func TestFuzzSeedsRoundTrip(t *testing.T) {
	for _, r := range Defaults() {
		text, err := Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseRule(text, "")
		if err != nil {
			t.Fatalf("%s does not read back: %v\n%s", r.Name, err, text)
		}
		if !sameRule(r, back) {
			t.Errorf("%s round trip:\n%+v\n%+v", r.Name, r, back)
		}
	}
}

func sameRule(a, b *Rule) bool {
	return a.Name == b.Name && a.Title == b.Title && a.Type == b.Type && a.Severity == b.Severity &&
		a.Description == b.Description && a.Filter == b.Filter && strings.Join(a.Suppressions, "\x00") == strings.Join(b.Suppressions, "\x00") &&
		strings.Join(a.Aggregate, "\x00") == strings.Join(b.Aggregate, "\x00") && a.Window == b.Window &&
		a.Threshold == b.Threshold && a.Enabled == b.Enabled && (a.After == nil) == (b.After == nil) &&
		(a.After == nil || *a.After == *b.After)
}

func FuzzParseRule(f *testing.F) {
	for _, name := range defaultFiles() {
		b, _ := defaultFS.ReadFile("defaults/" + name)
		f.Add(b)
	}
	f.Add([]byte("name: a\ntype: host\nseverity: 1\nfilter: x = 1\n---\nname: a\n"))
	f.Add([]byte("name: r1\ntype: host\nseverity: 1\nfilter: |\n  user = 'root'\n  AND pid = 'x'\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, text []byte) {
		r, err := ParseRule(text, "f.yml")
		IsSigma(text)
		if err != nil {
			_ = err.Error()
			return
		}
		c, err := Compile(r)
		if err != nil {
			t.Fatalf("parsed but does not compile: %v", err)
		}
		c.SQL()
		Lint(r)
		out, err := Marshal(r)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		back, err := ParseRule(out, "")
		if err != nil {
			t.Fatalf("does not read back: %v\n%s", err, out)
		}
		if !sameRule(r, back) {
			t.Fatalf("round trip changed the rule:\n%+v\n%+v", r, back)
		}
	})
}
