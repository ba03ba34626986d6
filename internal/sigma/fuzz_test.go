package sigma

import (
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
)

var fuzzSeeds = []string{
	"title: t\nlogsource: {product: windows, category: process_creation}\ndetection: {sel: {Image|endswith: x.exe, CommandLine|contains|all: [a, b]}, condition: sel and not 1 of filter*}",
	"title: t\nlogsource: {product: windows, service: security}\ndetection: {keywords: [a, 'b*c'], condition: keywords}",
	"title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {eventName|re|i: '^Get.*', x|cidr: 10.0.0.0/8, y|gte: 3}, condition: all of them}",
	"title: t\nlogsource: {product: linux, service: auditd}\ndetection: {sel: {a0|base64offset|contains: abc, a1|wide|base64: x, a2|windash: -x}, condition: (sel)}",
	"correlation: {type: temporal_ordered, rules: [a, b], group-by: [x], timespan: 1h}\n---\ntitle: a\nname: a\nlogsource: {product: windows, service: system}\ndetection: {s: {EventID: 1}, condition: s}",
	"title: t\nlogsource: {product: windows, category: process_creation}\ndetection: {s: {A: null, B|exists: true, C|fieldref: D, E|neq: [1, 2]}, condition: s}",
	"title: t\nlogsource: {product: windows, category: process_creation}\ndetection: {s: {EventID: 1, Image|endswith: x.exe}, condition: s}",
	"title: t\nlogsource: {product: windows, service: security}\ndetection: {s: {EventID: 4688}, f: {a0: x}, condition: s and not f}",
}

// FuzzParse: no rule text makes Parse panic.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		Parse([]byte(text))
	})
}

// FuzzCompile: whatever parses compiles or fails without panicking, and
// the indexed set matches an event exactly when the rule's own Match does,
// once per rule.
func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, `{"Image":"C:\\x.exe","a0":"abc","records":["type=EXECVE msg=audit(1:2): a0=\"x\""]}`)
	}
	m := DefaultMapping()
	f.Fuzz(func(t *testing.T, text, raw string) {
		rules, err := Parse([]byte(text))
		if err != nil {
			return
		}
		var cs []*Compiled
		for _, r := range rules {
			if c, err := Compile(r, m); err == nil {
				cs = append(cs, c)
			}
		}
		s := NewSet(cs)
		for _, et := range []string{"sysmon", "winsec", "windows", "audit", "cloudtrail"} {
			for _, id := range []int64{-1, 1, 4688} {
				e := &event.Event{}
				e.SetString(event.EventType, et)
				if id >= 0 {
					e.SetInt(event.WinEventID, id)
				}
				e.Raw = []byte(raw)
				fired := map[*Compiled]int{}
				s.Match(NewDoc(e), func(c *Compiled) { fired[c]++ })
				for _, c := range cs {
					if want := c.Match(NewDoc(e)); fired[c] != map[bool]int{false: 0, true: 1}[want] {
						t.Fatalf("%s event (id %d): the set fired %q %d times, its own Match says %v\nrule: %s\nraw: %s", et, id, c.Rule.Title, fired[c], want, text, raw)
					}
				}
			}
		}
	})
}
