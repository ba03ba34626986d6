package web_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// copyRule is an organization's copy of tmp-binary-exec, with a
// suppression for the scanner the red team is allowed to run.
const copyRule = `name: tmp-binary-exec-local
title: Binary executed from /tmp (ours)
type: host
technique: T1105
severity: 1
filter: >-
  event_type = 'audit' AND syscall = 'execve' AND exe starts_with '/tmp/'
suppressions:
  - exe = '/tmp/nmap'
aggregate: [agent_id, exe]
window: 1h
threshold: 1
enabled: true
`

// An admin copies a shared rule, meets a lint error at its line, backtests
// the fixed draft over the demo fleet's history and saves it, then
// disables it; an analyst sees the rule read-only.
func TestBrowserRuleEditBacktestSave(t *testing.T) {
	c := startConsole(t)
	c.genFleet(t, c.AdminA)
	ctx := browser(t)
	c.signIn(t, ctx, c.AdminA)

	c.open(t, ctx, "/rules", "#rules")
	row := text(t, ctx, `#rules tbody tr:has(a[href="/rules/tmp-binary-exec"])`)
	if !strings.Contains(row, "T1105") || !strings.Contains(row, "builtin") {
		t.Errorf("tmp-binary-exec's row says %q, want its ATT&CK id and origin", row)
	}
	if got := text(t, ctx, "#rules-summary"); !strings.Contains(got, "2 Sigma rules") {
		t.Errorf("summary %q", got)
	}
	screenshot(t, ctx, "rules")
	// The Sigma rules are listed, paged and filtered through GET
	// /api/v1/sigma; a filter is shown as text.
	if n := eval[int](t, ctx, `document.querySelectorAll('#sigma-rules tbody tr').length`); n != 2 {
		t.Errorf("%d Sigma rules listed, want the 2 loaded", n)
	}
	hostile := `<img src=x onerror=alert(1)>`
	c.open(t, ctx, "/rules?sq="+url.QueryEscape(hostile)+"#sigma", "#sigma-rules")
	if got := text(t, ctx, "#sigma-summary"); !strings.Contains(got, "0 Sigma rules matching "+hostile) {
		t.Errorf("Sigma filter summary %q, want no match and the filter as text", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#sigma-summary img').length`); n != 0 {
		t.Error("the Sigma filter was rendered as HTML")
	}

	navigate(t, ctx, "open tmp-binary-exec", "#rule-copy", chromedp.Click(chromedp.CSS(`a[href="/rules/tmp-binary-exec"]`)))
	if n := eval[int](t, ctx, `document.querySelectorAll('#rule-save, #rule-disable').length`); n != 0 {
		t.Error("a shared rule offers save or disable to an organization's admin")
	}
	navigate(t, ctx, "edit a copy", "#rule-save", chromedp.Click(chromedp.CSS("#rule-copy")))
	if got := eval[string](t, ctx, `document.querySelector('#yaml').value`); !strings.HasPrefix(got, "name: tmp-binary-exec-local\n") {
		t.Errorf("the copy's YAML starts %q", got[:min(len(got), 40)])
	}

	// A draft whose filter does not parse: the error at its line.
	bad := strings.Replace(copyRule, "exe starts_with '/tmp/'", "exe starts_with", 1)
	navigate(t, ctx, "save a bad draft", "#rule-error",
		chromedp.SetValue(chromedp.CSS("#yaml"), bad), chromedp.Click(chromedp.CSS("#rule-save")))
	if got := text(t, ctx, "#rule-error-line"); !strings.HasSuffix(strings.TrimSpace(got), "AND exe starts_with") {
		t.Errorf("the marked line is %q, want the filter's text", got)
	}
	if got := text(t, ctx, "#rule-error pre"); !strings.HasPrefix(got, "line 7: filter: bad filter") {
		t.Errorf("the error says %q", got)
	}
	if got := eval[string](t, ctx, `document.querySelector('#yaml').value`); got != bad {
		t.Error("the rejected draft is not kept in the editor")
	}
	if code, _ := c.do(t, "GET", "/api/v1/rules/tmp-binary-exec-local", c.AdminA, nil); code != 404 {
		t.Fatalf("a rejected draft was saved: %d", code)
	}

	// The fixed draft, backtested over the fleet's history.
	navigate(t, ctx, "backtest the draft", "#backtest",
		chromedp.SetValue(chromedp.CSS("#yaml"), copyRule),
		chromedp.SetValue(chromedp.CSS("#since"), "2020-01-01"),
		chromedp.Click(chromedp.CSS("#rule-backtest")))
	matched, suppressed, alerts := num(t, text(t, ctx, "#bt-matched")), num(t, text(t, ctx, "#bt-suppressed")), num(t, text(t, ctx, "#bt-alerts"))
	if matched == 0 || suppressed == 0 || alerts == 0 || suppressed >= matched {
		t.Errorf("backtest: %d matched, %d suppressed, %d alerts; want some of each, fewer suppressed than matched", matched, suppressed, alerts)
	}
	if got := text(t, ctx, "#bt-hosts"); !strings.Contains(got, victimHost) {
		t.Errorf("the backtest's hosts %q lack the victim", got)
	}
	samples := eval[[]string](t, ctx, `[...document.querySelectorAll('#backtest table.samples')[0].querySelectorAll('tbody tr')].map(tr => tr.textContent)`)
	if len(samples) == 0 || strings.Contains(strings.Join(samples, "\n"), "/tmp/nmap ") {
		t.Errorf("samples to alert on: %q (none may be the suppressed /tmp/nmap)", samples)
	}
	if code, _ := c.do(t, "GET", "/api/v1/rules/tmp-binary-exec-local", c.AdminA, nil); code != 404 {
		t.Fatalf("a backtest saved the rule: %d", code)
	}
	screenshot(t, ctx, "rule-backtest")

	navigate(t, ctx, "save the draft", "#rule-saved", chromedp.Click(chromedp.CSS("#rule-save")))
	if got := text(t, ctx, "#rule-name"); !strings.HasPrefix(got, "tmp-binary-exec-local") {
		t.Errorf("after saving the page shows %q", got)
	}
	stored := ruleOf(t, c, c.AdminA, "tmp-binary-exec-local")
	if stored["origin"] != "org" || stored["enabled"] != true || len(stored["suppressions"].([]any)) != 1 {
		t.Errorf("stored rule %v", stored)
	}
	screenshot(t, ctx, "rule")

	navigate(t, ctx, "disable it", "#rule-enable", chromedp.Click(chromedp.CSS("#rule-disable")))
	if got := text(t, ctx, "#rule-enabled"); got != "disabled" {
		t.Errorf("after disabling the page says %q", got)
	}
	if r := ruleOf(t, c, c.AdminA, "tmp-binary-exec-local"); r["enabled"] != false || len(r["suppressions"].([]any)) != 1 {
		t.Errorf("after disabling, the stored rule is %v", r)
	}

	// An analyst of the organization reads the rule, and may backtest,
	// but is offered no change.
	actx := browser(t)
	c.signIn(t, actx, c.AnalystA)
	c.open(t, actx, "/rules/tmp-binary-exec-local", "#rule-editor")
	if n := eval[int](t, actx, `document.querySelectorAll('#rule-save, #rule-enable, #rule-disable, #rule-copy').length`); n != 0 {
		t.Errorf("an analyst is offered %d changes", n)
	}
}

// ruleOf reads a rule through the API.
func ruleOf(t testing.TB, c *console, token, name string) map[string]any {
	t.Helper()
	code, body := c.do(t, "GET", "/api/v1/rules/"+name, token, nil)
	if code != 200 {
		t.Fatalf("rule %s: %d %s", name, code, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func num(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}
