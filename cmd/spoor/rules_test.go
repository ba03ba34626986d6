package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/rules"
)

// spoor rules list and lint show the shared rules and an organization's
// own (--org: that one's only), with their origin.
func TestRulesListLintByOrg(t *testing.T) {
	data := t.TempDir()
	if _, err := rules.OpenDir(filepath.Join(data, "rules")); err != nil { // with the defaults
		t.Fatal(err)
	}
	for org, text := range map[string]string{
		"acme":   "name: acme-id\ntype: host\nseverity: 2\nfilter: exe = '/usr/bin/id'\n",
		"globex": "name: globex-id\ntype: host\nseverity: 2\nfilter: exe = '/usr/bin/id'\n",
	} {
		dir := filepath.Join(data, "rules", "org", org)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "r.yml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o := rulesOptions{}
	o.data.Dir, o.data.Org = data, "acme"
	var out strings.Builder
	if err := runRulesList(o, &out); err != nil {
		t.Fatal(err)
	}
	list := out.String()
	if !strings.Contains(list, "acme-id") || strings.Contains(list, "globex-id") || !strings.Contains(list, "builtin") || !strings.Contains(list, "org acme") {
		t.Errorf("rules list --org acme:\n%s", list)
	}
	// Each built-in rule is listed with its ATT&CK technique.
	for _, r := range rules.Defaults() {
		found := false
		for _, l := range strings.Split(list, "\n") {
			if f := strings.Fields(l); len(f) > 5 && f[0] == r.Name && f[5] == r.Technique && r.Technique != "" {
				found = true
			}
		}
		if !found {
			t.Errorf("rules list shows %s without its technique %q:\n%s", r.Name, r.Technique, list)
		}
	}
	out.Reset()
	if err := runRulesLint(o, &out); err != nil {
		t.Errorf("lint of loadable rules: %v\n%s", err, out.String())
	}
	if err := os.WriteFile(filepath.Join(data, "rules", "org", "acme", "bad.yml"), []byte("name: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runRulesLint(o, &out); err == nil || !strings.Contains(out.String(), "org/acme/bad.yml") {
		t.Errorf("lint with a broken file: %v\n%s", err, out.String())
	}
	o.data.Org = "../acme"
	if err := runRulesList(o, &out); err == nil {
		t.Errorf("an organization escaping the rules directory was listed")
	}
}

// rules test takes --format text or json; anything else is bad usage
// (exit 2) before any work, as every other command's --format.
func TestRulesTestRejectsUnknownFormat(t *testing.T) {
	data := t.TempDir()
	rule := filepath.Join(t.TempDir(), "r.yml")
	if err := os.WriteFile(rule, []byte("name: r\ntype: host\nseverity: 2\nfilter: exe = '/usr/bin/id'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for format, want := range map[string]int{"xml": 2, "JSON": 2, "json": 0, "text": 0} {
		if code := run([]string{"rules", "test", "--data", data, "--format", format, rule}); code != want {
			t.Errorf("rules test --format %s: exit %d, want %d", format, code, want)
		}
	}
}
