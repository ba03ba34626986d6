package web

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// The tree analysis's depth-first rows nest as their depths say; a gap in
// depths hangs the process under the deepest one.
func TestProcTree(t *testing.T) {
	var rows []map[string]any
	for _, r := range []string{
		`{"depth":0,"pid":1,"exe":"/usr/sbin/sshd"}`, `{"depth":1,"pid":2,"exe":"/bin/bash"}`,
		`{"depth":2,"pid":3,"exe":"/usr/bin/scp"}`, `{"depth":1,"pid":4,"exe":"/bin/bash"}`,
		`{"depth":3,"pid":5,"exe":"/tmp/sliver"}`, `{"depth":0,"pid":6}`,
	} {
		var m map[string]any
		if err := json.Unmarshal([]byte(r), &m); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, m)
	}
	var draw func(ns []*procNode) string
	draw = func(ns []*procNode) string {
		var parts []string
		for _, n := range ns {
			s := n.PID
			if len(n.Children) > 0 {
				s += "(" + draw(n.Children) + ")"
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, " ")
	}
	roots := procTree(rows, hostQuery{Key: "h"})
	if got := draw(roots); got != "1(2(3) 4(5)) 6" {
		t.Errorf("tree %s", got)
	}
	if roots[1].Exe != "? (exec not seen)" {
		t.Errorf("a root without an exec shows %q", roots[1].Exe)
	}
}

// A timeline's bars link to their own range, inclusive, and carry the
// rules of the alerts that started in them.
func TestDrawHostChart(t *testing.T) {
	at := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339, s); return tm }
	rows := []timelinePoint{
		{Bucket: at("2020-02-14T00:00:00Z"), BucketEnd: at("2020-02-14T03:00:00Z"), EventType: "audit", Count: 8},
		{Bucket: at("2020-02-14T00:00:00Z"), BucketEnd: at("2020-02-14T03:00:00Z"), EventType: "network", Count: 2},
		{Bucket: at("2020-02-14T06:00:00Z"), BucketEnd: at("2020-02-14T09:00:00Z"), EventType: "audit", Count: 5,
			Alerts: 2, AlertRules: []string{"tmp-binary-exec", "tmp-binary-exec"}},
	}
	ch := drawHostChart(rows, hostQuery{Key: "b0f6", Tab: "changes"})
	if len(ch.Bars) != 2 || ch.Total != 15 || ch.Alerts != 2 {
		t.Fatalf("%d bars, %d events, %d alerts", len(ch.Bars), ch.Total, ch.Alerts)
	}
	b := ch.Bars[1]
	if b.Since != "2020-02-14T06:00:00.000Z" || b.Until != "2020-02-14T08:59:59.999Z" ||
		b.Href != "/hosts/b0f6?since=2020-02-14T06%3A00%3A00.000Z&until=2020-02-14T08%3A59%3A59.999Z" {
		t.Errorf("bar range %s..%s, link %s", b.Since, b.Until, b.Href)
	}
	if len(b.Rules) != 1 || b.Rules[0] != "tmp-binary-exec" || int(b.X) != 666 { // the third of three slots
		t.Errorf("bar rules %q at x %v", b.Rules, b.X)
	}
	if want := "2020-02-14 00:00:00 to 2020-02-14 03:00:00: 10 events (audit 8, network 2)"; ch.Bars[0].Title != want {
		t.Errorf("title %q", ch.Bars[0].Title)
	}
}

// A rejected rule's error names its line; the page marks that line.
func TestRuleErrorOf(t *testing.T) {
	draft := "name: x\ntype: host\nfilter: >-\n  exe starts_with\n"
	e := ruleErrorOf(errors.New("PUT /api/v1/rules/x:4: filter: bad filter\n  exe starts_with\n  ^ expected a value"), draft)
	if e.Line != 4 || !strings.HasPrefix(e.Message, "line 4: filter: bad filter") || len(e.Lines) != 4 || !e.AtLine(3) {
		t.Errorf("%+v", e)
	}
	if e := ruleErrorOf(errors.New("the rule's name must be the one in the path"), draft); e.Line != 0 || e.Lines != nil {
		t.Errorf("an error without a line: %+v", e)
	}
}
