package sigma

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/event"
)

func sysmonEvent(id int64, raw string) *event.Event {
	e := &event.Event{}
	e.SetString(event.EventType, "sysmon")
	e.SetInt(event.WinEventID, id)
	e.SetString(event.Channel, chanSysmon)
	e.Raw = []byte(raw)
	return e
}

func compileDetection(t *testing.T, logsource, detection string) (*Compiled, error) {
	t.Helper()
	text := "title: test\nid: test-rule\nlogsource:\n" + indent(logsource) + "detection:\n" + indent(detection)
	rules, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	return Compile(rules[0], DefaultMapping())
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

const procCreation = "product: windows\ncategory: process_creation"

func TestModifiersAndConditions(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	wide := func(s string) string {
		var b []byte
		for _, c := range s {
			b = append(b, byte(c), 0)
		}
		return string(b)
	}
	raw := `{"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c whoami /all","ParentImage":"C:\\Windows\\explorer.exe",` +
		`"User":"CORP\\alice","DestinationIp":"10.1.2.3","LogonId":"0x3e7","IntegrityLevel":"High","Empty":"","Null":null,` +
		`"TerminalSessionId":2,"Hashes":"SHA1=AB,MD5=CD","Enc":"` + b64("hello powershell world") + `",` +
		`"EncW":"` + b64("xx"+wide("IEX (New-Object")) + `","Same1":"abc","Same2":"ABC","Star":"a*b?c\\d"}`
	cases := []struct {
		name, det string
		want      bool
	}{
		{"equal is case-insensitive", "sel:\n  Image: 'c:\\windows\\system32\\CMD.EXE'\ncondition: sel", true},
		{"equal mismatch", "sel:\n  Image: 'cmd.exe'\ncondition: sel", false},
		{"contains", "sel:\n  CommandLine|contains: 'WHOAMI'\ncondition: sel", true},
		{"startswith", "sel:\n  CommandLine|startswith: 'cmd.exe /c'\ncondition: sel", true},
		{"startswith mismatch", "sel:\n  CommandLine|startswith: '/c'\ncondition: sel", false},
		{"endswith", "sel:\n  Image|endswith: '\\cmd.exe'\ncondition: sel", true},
		{"list is OR", "sel:\n  Image|endswith:\n    - '\\powershell.exe'\n    - '\\cmd.exe'\ncondition: sel", true},
		{"contains all", "sel:\n  CommandLine|contains|all:\n    - whoami\n    - /all\ncondition: sel", true},
		{"contains all fails on one", "sel:\n  CommandLine|contains|all:\n    - whoami\n    - /priv\ncondition: sel", false},
		{"map is AND", "sel:\n  Image|endswith: cmd.exe\n  ParentImage|endswith: explorer.exe\ncondition: sel", true},
		{"map is AND, one fails", "sel:\n  Image|endswith: cmd.exe\n  ParentImage|endswith: services.exe\ncondition: sel", false},
		{"list of maps is OR", "sel:\n  - Image|endswith: x.exe\n  - ParentImage|endswith: explorer.exe\ncondition: sel", true},
		{"wildcard *", "sel:\n  Image: 'C:\\Windows\\\\*\\cmd.exe'\ncondition: sel", true},
		{"wildcard ?", "sel:\n  Image: '*\\cm?.exe'\ncondition: sel", true},
		{"wildcard ? is one char", "sel:\n  Image: '*\\c?.exe'\ncondition: sel", false},
		{"escaped star is literal", "sel:\n  Star: 'a\\*b\\?c\\d'\ncondition: sel", true},
		{"escaped star does not glob", "sel:\n  Image: 'C:\\Windows\\*'\ncondition: sel", false},
		{"escaped backslash then wildcard", "sel:\n  Image: 'C:\\Windows\\\\*'\ncondition: sel", true},
		{"cased", "sel:\n  Same2|cased: ABC\ncondition: sel", true},
		{"cased mismatch", "sel:\n  Same1|cased: ABC\ncondition: sel", false},
		{"exists true", "sel:\n  LogonId|exists: true\ncondition: sel", true},
		{"exists false", "sel:\n  Nope|exists: false\ncondition: sel", true},
		{"exists true on absent", "sel:\n  Nope|exists: true\ncondition: sel", false},
		{"null matches absent", "sel:\n  Nope: null\ncondition: sel", true},
		{"null matches JSON null", "sel:\n  Null: null\ncondition: sel", true},
		{"null does not match a value", "sel:\n  Image: null\ncondition: sel", false},
		{"empty string", "sel:\n  Empty: ''\ncondition: sel", true},
		{"neq", "sel:\n  IntegrityLevel|neq: Low\ncondition: sel", true},
		{"neq equal", "sel:\n  IntegrityLevel|neq: high\ncondition: sel", false},
		{"windash", "sel:\n  CommandLine|windash|contains: '-all'\ncondition: sel", true},
		{"windash slash", "sel:\n  CommandLine|windash|contains: '-c whoami'\ncondition: sel", true},
		{"no windash no match", "sel:\n  CommandLine|contains: '-all'\ncondition: sel", false},
		{"re", "sel:\n  CommandLine|re: 'whoami\\s+/a..$'\ncondition: sel", true},
		{"re is case-sensitive", "sel:\n  CommandLine|re: 'WHOAMI'\ncondition: sel", false},
		{"re i", "sel:\n  CommandLine|re|i: 'WHOAMI'\ncondition: sel", true},
		{"re m", "sel:\n  CommandLine|re|m: '^cmd'\ncondition: sel", true},
		{"re s", "sel:\n  CommandLine|re|s: 'cmd.*all'\ncondition: sel", true},
		{"base64", "sel:\n  Enc|base64: 'hello powershell world'\ncondition: sel", true},
		{"base64offset contains", "sel:\n  Enc|base64offset|contains: 'powershell'\ncondition: sel", true},
		{"base64offset contains absent", "sel:\n  Enc|base64offset|contains: 'cmd.exe'\ncondition: sel", false},
		{"utf16le base64offset", "sel:\n  EncW|wide|base64offset|contains: 'IEX (New-Object'\ncondition: sel", true},
		{"utf16le base64offset absent", "sel:\n  EncW|utf16le|base64offset|contains: 'Invoke-Mimikatz'\ncondition: sel", false},
		{"gt", "sel:\n  TerminalSessionId|gt: 1\ncondition: sel", true},
		{"gte", "sel:\n  TerminalSessionId|gte: 2\ncondition: sel", true},
		{"lt", "sel:\n  TerminalSessionId|lt: 2\ncondition: sel", false},
		{"lte hex", "sel:\n  LogonId|lte: 1000\ncondition: sel", true},
		{"cidr", "sel:\n  DestinationIp|cidr: 10.0.0.0/8\ncondition: sel", true},
		{"cidr out", "sel:\n  DestinationIp|cidr:\n    - 192.168.0.0/16\n    - 172.16.0.0/12\ncondition: sel", false},
		{"fieldref", "sel:\n  Same1|fieldref: Same2\ncondition: sel", true},
		{"fieldref differs", "sel:\n  Image|fieldref: ParentImage\ncondition: sel", false},
		{"keywords", "keywords:\n  - 'WHOAMI /ALL'\n  - nothing\ncondition: keywords", true},
		{"keywords absent", "keywords:\n  - mimikatz\ncondition: keywords", false},
		{"not", "sel:\n  Image|endswith: cmd.exe\nfilter:\n  User|startswith: 'CORP\\'\ncondition: sel and not filter", false},
		{"or", "a:\n  Image: x\nb:\n  User: 'corp\\alice'\ncondition: a or b", true},
		{"parentheses", "a:\n  Image: x\nb:\n  User: 'corp\\alice'\nc:\n  Image|endswith: cmd.exe\ncondition: (a or b) and c", true},
		{"precedence: and before or", "a:\n  Image: x\nb:\n  User: 'corp\\alice'\nc:\n  Image: y\ncondition: b or a and c", true},
		{"not binds tighter than and", "a:\n  Image: x\nb:\n  User: 'corp\\alice'\ncondition: not a and b", true},
		{"1 of pattern", "sel_a:\n  Image: x\nsel_b:\n  Image|endswith: cmd.exe\ncondition: 1 of sel_*", true},
		{"all of pattern", "sel_a:\n  Image: x\nsel_b:\n  Image|endswith: cmd.exe\ncondition: all of sel_*", false},
		{"all of pattern true", "sel_a:\n  User|contains: alice\nsel_b:\n  Image|endswith: cmd.exe\ncondition: all of sel_*", true},
		{"1 of them", "a:\n  Image: x\nb:\n  Image|endswith: cmd.exe\ncondition: 1 of them", true},
		{"all of them", "a:\n  Image: x\nb:\n  Image|endswith: cmd.exe\ncondition: all of them", false},
		{"them skips _ identifiers", "a:\n  Image|endswith: cmd.exe\n_b:\n  Image: x\ncondition: all of them", true},
		{"numbers match as text", "sel:\n  TerminalSessionId: 2\ncondition: sel", true},
		{"EventID typed", "sel:\n  EventID: 1\ncondition: sel", true},
		{"several conditions are ORed", "a:\n  Image: x\nb:\n  Image|endswith: cmd.exe\ncondition:\n  - a\n  - b", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := compileDetection(t, procCreation, tc.det)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			d := NewDoc(sysmonEvent(1, raw))
			if got := c.Match(d); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
			// Through a Set too, and on an event of another logsource.
			s := NewSet([]*Compiled{c})
			n := 0
			s.Match(d, func(*Compiled) { n++ })
			if (n == 1) != tc.want || n > 1 {
				t.Errorf("Set.Match fired %d times, want match=%v", n, tc.want)
			}
			n = 0
			s.Match(NewDoc(sysmonEvent(3, raw)), func(*Compiled) { n++ })
			if n != 0 {
				t.Errorf("fired on a Sysmon 3 event")
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct{ name, logsource, det, want string }{
		{"unknown modifier", procCreation, "sel:\n  Image|sometimes: x\ncondition: sel", "unknown modifier"},
		{"unsupported logsource", "product: macos\ncategory: process_creation", "sel:\n  Image: x\ncondition: sel", "unsupported logsource"},
		{"undefined search", procCreation, "sel:\n  Image: x\ncondition: sel and other", "does not define"},
		{"bad condition", procCreation, "sel:\n  Image: x\ncondition: sel and", "unexpected end"},
		{"aggregation", procCreation, "sel:\n  Image: x\ncondition: sel | count() > 5", "aggregation"},
		{"bad regex", procCreation, "sel:\n  Image|re: '(?<=x)y'\ncondition: sel", "RE2"},
		{"bad cidr", procCreation, "sel:\n  DestinationIp|cidr: 10.0.0.0/99\ncondition: sel", "cidr"},
		{"re with contains", procCreation, "sel:\n  Image|re|contains: x\ncondition: sel", "together"},
		{"unmapped linux field", "product: linux\ncategory: process_creation", "sel:\n  ParentCommandLine: x\ncondition: sel", "no data"},
		{"expand", procCreation, "sel:\n  Image|expand: '%x%'\ncondition: sel", "expand"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compileDetection(t, tc.logsource, tc.det)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestRegexCannotBlowUp(t *testing.T) {
	huge := strings.Repeat("(a|b)*c", 3000)
	if _, err := compileDetection(t, procCreation, "sel:\n  Image|re: '"+huge+"'\ncondition: sel"); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("a %d-byte regex compiled (err %v), want it refused", len(huge), err)
	}
	nested := "((((a{1,1000}){1,1000}){1,1000}){1,1000})"
	if _, err := compileDetection(t, procCreation, "sel:\n  Image|re: '"+nested+"'\ncondition: sel"); err == nil {
		t.Errorf("nested counted repetition compiled, want it refused")
	}
	// A classic catastrophic-backtracking pattern runs in linear time in RE2.
	c, err := compileDetection(t, procCreation, "sel:\n  Image|re: '(a+)+$'\ncondition: sel")
	if err != nil {
		t.Fatal(err)
	}
	in := strings.Repeat("a", 100000) + "!"
	st := time.Now()
	if c.Match(NewDoc(sysmonEvent(1, `{"Image":"`+in+`"}`))) {
		t.Error("(a+)+$ matched a string ending in !")
	}
	if el := time.Since(st); el > time.Second {
		t.Errorf("(a+)+$ on 100k characters took %v", el)
	}
}

func auditEvent(records ...string) *event.Event {
	e := &event.Event{}
	e.SetString(event.EventType, "audit")
	e.SetString(event.Syscall, "execve")
	e.SetString(event.Exe, "/usr/bin/chmod")
	e.SetString(event.Arguments, "chmod +x /tmp/x")
	raw := `{"records":[`
	for i, r := range records {
		if i > 0 {
			raw += ","
		}
		raw += string(event.AppendJSONString(nil, r))
	}
	e.Raw = []byte(raw + "]}")
	return e
}

func TestAuditd(t *testing.T) {
	e := auditEvent(
		`type=SYSCALL msg=audit(1.2:3): arch=c000003e syscall=59 success=yes exit=0 a0=55 ppid=1 exe="/usr/bin/chmod" key="perm"`,
		`type=EXECVE msg=audit(1.2:3): argc=3 a0="chmod" a1="+x" a2=2F746D702F612062`,
	)
	cases := []struct {
		ls, det string
		want    bool
	}{
		{"product: linux\nservice: auditd", "sel:\n  type: EXECVE\n  a0: chmod\n  a1: '+x'\ncondition: sel", true},
		{"product: linux\nservice: auditd", "sel:\n  type: EXECVE\n  a2: '/tmp/a b'\ncondition: sel", true},
		{"product: linux\nservice: auditd", "sel:\n  type: SYSCALL\n  key: perm\n  syscall: execve\ncondition: sel", true},
		{"product: linux\nservice: auditd", "sel:\n  type: SYSCALL\n  syscall: 59\n  exe|endswith: /chmod\ncondition: sel", true},
		{"product: linux\nservice: auditd", "sel:\n  type: PATH\ncondition: sel", false},
		{"product: linux\ncategory: process_creation", "sel:\n  Image|endswith: /chmod\n  CommandLine|contains: '+x'\ncondition: sel", true},
		{"product: linux\ncategory: process_creation", "sel:\n  Image|endswith: /rm\ncondition: sel", false},
	}
	for _, tc := range cases {
		c, err := compileDetection(t, tc.ls, tc.det)
		if err != nil {
			t.Fatalf("%s: %v", tc.det, err)
		}
		if got := c.Match(NewDoc(e)); got != tc.want {
			t.Errorf("%s / %s: Match = %v, want %v", tc.ls, tc.det, got, tc.want)
		}
	}
}

func TestCloudTrailNested(t *testing.T) {
	e := &event.Event{}
	e.SetString(event.EventType, "cloudtrail")
	e.Raw = []byte(`{"eventSource":"iam.amazonaws.com","eventName":"CreateUser","userIdentity":{"type":"Root","sessionContext":{"x":1}},` +
		`"requestParameters":{"items":[{"cidrIp":"0.0.0.0/0"},{"cidrIp":"10.0.0.0/8"}]}}`)
	ls := "product: aws\nservice: cloudtrail"
	for det, want := range map[string]bool{
		"sel:\n  eventSource: iam.amazonaws.com\n  userIdentity.type: Root\ncondition: sel": true,
		"sel:\n  requestParameters.items.cidrIp: '10.0.0.0/8'\ncondition: sel":              true,
		"sel:\n  userIdentity.type: IAMUser\ncondition: sel":                                false,
	} {
		c, err := compileDetection(t, ls, det)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Match(NewDoc(e)); got != want {
			t.Errorf("%s: Match = %v, want %v", det, got, want)
		}
	}
}

func TestSecurity4688(t *testing.T) {
	e := &event.Event{}
	e.SetString(event.EventType, "winsec")
	e.SetInt(event.WinEventID, 4688)
	e.SetString(event.Channel, "Security")
	e.Raw = []byte(`{"NewProcessName":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /priv","ParentProcessName":"C:\\Windows\\System32\\cmd.exe"}`)
	c, err := compileDetection(t, procCreation, "sel:\n  Image|endswith: '\\whoami.exe'\n  ParentImage|endswith: '\\cmd.exe'\ncondition: sel")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Match(NewDoc(e)) {
		t.Error("process_creation rule silent on a Security 4688 event")
	}
}

func TestMappingOverride(t *testing.T) {
	m, err := LoadMapping([]byte(`
logsources:
  - name: sysmon-process_creation
    product: windows
    category: process_creation
    event_type: [edr]
    fields:
      Image: exe
  - name: linux-process_creation
    disabled: true
  - name: macos-process
    product: macos
    category: process_creation
    event_type: [audit]
    default: raw
`))
	if err != nil {
		t.Fatal(err)
	}
	rules, _ := Parse([]byte("title: t\nlogsource: {product: windows, category: process_creation}\ndetection: {sel: {Image|endswith: evil.exe}, condition: sel}"))
	c, err := Compile(rules[0], m)
	if err != nil {
		t.Fatal(err)
	}
	e := &event.Event{}
	e.SetString(event.EventType, "edr")
	e.SetString(event.Exe, `C:\evil.exe`)
	if !c.Match(NewDoc(e)) {
		t.Error("overridden source does not read Image from exe")
	}
	if c.Match(NewDoc(sysmonEvent(1, `{"Image":"C:\\evil.exe"}`))) {
		t.Error("the replaced Sysmon source still applies")
	}
	rules, _ = Parse([]byte("title: t\nlogsource: {product: linux, category: process_creation}\ndetection: {sel: {Image: x}, condition: sel}"))
	if _, err := Compile(rules[0], m); err == nil {
		t.Error("a disabled source still compiles")
	}
	rules, _ = Parse([]byte("title: t\nlogsource: {product: macos, category: process_creation}\ndetection: {sel: {Image: x}, condition: sel}"))
	if _, err := Compile(rules[0], m); err != nil {
		t.Errorf("added source: %v", err)
	}
	for _, bad := range []string{"logsources: [{name: x, fields: {Image: nosuchcolumn}}]", "logsources: [{name: x, default: magic}]", "logsources: [{name: x, win_event_id: [abc]}]", "{"} {
		if _, err := LoadMapping([]byte(bad)); err == nil {
			t.Errorf("LoadMapping(%q) accepted", bad)
		}
	}
}

func TestParseMultiDocAndCorrelation(t *testing.T) {
	rules, err := Parse([]byte(corrYAML("event_count", "gte: 3", "")))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 3 || rules[0].Correlation == nil || rules[1].Name != "failed_logon" {
		t.Fatalf("got %d rules", len(rules))
	}
	c := rules[0].Correlation
	if c.Type != "event_count" || c.Timespan != 5*time.Minute || c.GroupBy[0] != "TargetUserName" || c.Condition.Op != "gte" || c.Condition.Value != 3 {
		t.Errorf("correlation %+v", c)
	}
	for _, bad := range []string{"title: x", "detection: {sel: {a: b}}", "correlation: {type: nope, rules: [a], timespan: 1m}",
		"correlation: {type: event_count, rules: [a], timespan: 1q, condition: {gte: 1}}", "correlation: {type: event_count, rules: [a], timespan: 1m}", ": : :"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func corrYAML(typ, cond, extraRule string) string {
	return `title: Many failed logons
id: corr-1
correlation:
  type: ` + typ + `
  rules:
    - failed_logon` + extraRule + `
  group-by:
    - TargetUserName
  timespan: 5m
  condition:
    ` + strings.ReplaceAll(cond, "\n", "\n    ") + `
---
title: Failed logon
id: base-1
name: failed_logon
logsource:
  product: windows
  service: security
detection:
  sel:
    EventID: 4625
  condition: sel
---
title: Successful logon
id: base-2
name: logon
logsource:
  product: windows
  service: security
detection:
  sel:
    EventID: 4624
  condition: sel
`
}

func logon(id int64, user, host string, n int) *event.Event {
	e := &event.Event{}
	e.SetString(event.EventType, "winsec")
	e.SetInt(event.WinEventID, id)
	e.SetString(event.Channel, "Security")
	e.SetString(event.ID, user+"-"+host+"-"+string(rune('a'+n)))
	e.Raw = []byte(`{"TargetUserName":"` + user + `","WorkstationName":"` + host + `"}`)
	return e
}

func correlator(t testing.TB, text string) (*Correlator, *Set) {
	t.Helper()
	rules, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var base []*Compiled
	for _, r := range rules[1:] {
		c, err := Compile(r, DefaultMapping())
		if err != nil {
			t.Fatal(err)
		}
		base = append(base, c)
	}
	co, err := NewCorrelator(rules[0], base)
	if err != nil {
		t.Fatal(err)
	}
	return co, NewSet(base)
}

// feed runs events through the set and the correlator, one second apart
// unless gaps say otherwise.
func feed(co *Correlator, s *Set, t0 time.Time, evs []*event.Event, at []time.Duration) []Firing {
	var out []Firing
	for i, e := range evs {
		d := NewDoc(e)
		s.Match(d, func(c *Compiled) {
			out = append(out, co.Feed(c.Rule.Name, d, t0.Add(at[i]))...)
		})
	}
	return out
}

func secs(n ...int) []time.Duration {
	var out []time.Duration
	for _, x := range n {
		out = append(out, time.Duration(x)*time.Second)
	}
	return out
}

func TestCorrelations(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t.Run("event_count fires at the threshold, per group", func(t *testing.T) {
		co, s := correlator(t, corrYAML("event_count", "gte: 3", ""))
		f := feed(co, s, t0, []*event.Event{logon(4625, "bob", "h", 0), logon(4625, "eve", "h", 1), logon(4625, "bob", "h", 2), logon(4624, "bob", "h", 3), logon(4625, "bob", "h", 4)}, secs(0, 1, 2, 3, 4))
		if len(f) != 1 || f[0].GroupValues[0] != "bob" || f[0].Count != 3 || len(f[0].Events) != 3 {
			t.Fatalf("firings %+v", f)
		}
	})
	t.Run("event_count outside the timespan does not fire", func(t *testing.T) {
		co, s := correlator(t, corrYAML("event_count", "gte: 3", ""))
		f := feed(co, s, t0, []*event.Event{logon(4625, "bob", "h", 0), logon(4625, "bob", "h", 1), logon(4625, "bob", "h", 2)}, secs(0, 200, 400))
		if len(f) != 0 {
			t.Fatalf("fired across 400s with a 5m timespan: %+v", f)
		}
	})
	t.Run("value_count", func(t *testing.T) {
		co, s := correlator(t, corrYAML("value_count", "gt: 2\nfield: WorkstationName", ""))
		f := feed(co, s, t0, []*event.Event{logon(4625, "bob", "h1", 0), logon(4625, "bob", "h1", 1), logon(4625, "bob", "h2", 2), logon(4625, "bob", "H2", 3), logon(4625, "bob", "h3", 4)}, secs(0, 1, 2, 3, 4))
		if len(f) != 1 || f[0].Count != 3 {
			t.Fatalf("firings %+v", f)
		}
	})
	t.Run("temporal", func(t *testing.T) {
		co, s := correlator(t, corrYAML("temporal", "", "\n    - logon"))
		f := feed(co, s, t0, []*event.Event{logon(4624, "bob", "h", 0), logon(4625, "eve", "h", 1), logon(4625, "bob", "h", 2)}, secs(0, 1, 2))
		if len(f) != 1 || f[0].GroupValues[0] != "bob" {
			t.Fatalf("firings %+v", f)
		}
	})
	t.Run("temporal_ordered needs the order", func(t *testing.T) {
		co, s := correlator(t, corrYAML("temporal_ordered", "", "\n    - logon"))
		f := feed(co, s, t0, []*event.Event{logon(4624, "bob", "h", 0), logon(4625, "bob", "h", 1)}, secs(0, 1))
		if len(f) != 0 {
			t.Fatalf("fired out of order: %+v", f)
		}
		f = feed(co, s, t0, []*event.Event{logon(4624, "bob", "h", 2)}, secs(2))
		if len(f) != 1 {
			t.Fatalf("failed logon then logon: firings %+v", f)
		}
	})
	t.Run("lt fires when the window closes", func(t *testing.T) {
		co, s := correlator(t, corrYAML("event_count", "lt: 2", ""))
		f := feed(co, s, t0, []*event.Event{logon(4625, "bob", "h", 0)}, secs(0))
		if len(f) != 0 {
			t.Fatalf("lt fired before the window closed: %+v", f)
		}
		f = co.Flush(t0.Add(10 * time.Minute))
		if len(f) != 1 || f[0].Count != 1 {
			t.Fatalf("flush firings %+v", f)
		}
	})
}
