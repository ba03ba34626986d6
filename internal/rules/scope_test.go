package rules

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/rules/rulestest"
)

func TestValidOrg(t *testing.T) {
	for _, org := range []string{"orgA", "5a8c4a54e11909bd290021ed", "acme-prod_1", "Ünïcode org"} {
		if err := ValidOrg(org); err != nil {
			t.Errorf("ValidOrg(%q) = %v", org, err)
		}
	}
	for _, org := range []string{"", ".", "..", "../x", "a/b", `a\b`, "a\x00b", ".hidden", "a\nb", "\xff", string(make([]byte, 201))} {
		if err := ValidOrg(org); !errors.Is(err, ErrBadOrg) {
			t.Errorf("ValidOrg(%q) = %v, want ErrBadOrg", org, err)
		}
	}
}

// An organization's rules live under org/<org>/: the shared directory
// does not read them, each organization reads only its own, and origins
// say whose each rule is.
func TestOrgDirsAreApart(t *testing.T) {
	root := filepath.Join(t.TempDir(), "rules")
	shared, err := OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := shared.Org("orgA")
	b, _ := shared.Org("orgB")
	if _, err := shared.Org("../orgA"); err == nil {
		t.Errorf("an organization name escaping the directory was taken")
	}
	rule := func(name string) *Rule {
		return &Rule{Name: name, Type: "host", Severity: 2, Filter: "user = 'root'", Window: time.Hour, Threshold: 1, Enabled: true}
	}
	if err := b.Put(rule("b-only")); err != nil {
		t.Fatal(err)
	}
	if err := shared.Put(rule("everyone")); err != nil {
		t.Fatal(err)
	}
	names := func(d *Dir) (out []string) {
		rs, probs := d.Load()
		if len(probs) > 0 {
			t.Errorf("problems %v", probs)
		}
		for _, r := range rs {
			out = append(out, r.Name+":"+r.Origin)
		}
		return out
	}
	if got := names(b); !slices.Equal(got, []string{"b-only:org"}) {
		t.Errorf("B's rules %v", got)
	}
	if got := names(a); len(got) != 0 {
		t.Errorf("A's rules %v, want none", got)
	}
	got := names(shared)
	if slices.Contains(got, "b-only:org") || !slices.Contains(got, "everyone:shared") || !slices.Contains(got, "tmp-binary-exec:builtin") {
		t.Errorf("shared rules %v", got)
	}
	if r, err := b.Get("b-only"); err != nil || r.Source != "b-only.yml" {
		t.Errorf("B's rule: %+v %v", r, err)
	}
	if err := a.Delete("b-only"); !errors.Is(err, ErrNotFound) {
		t.Errorf("A deleting B's rule: %v, want ErrNotFound", err)
	}
	if got := shared.Orgs(); !slices.Equal(got, []string{"orgB"}) {
		t.Errorf("Orgs() = %v", got)
	}
}

func TestWatchScopesNamesTheOrg(t *testing.T) {
	shared, err := OpenDir(filepath.Join(t.TempDir(), "rules"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	polls := rulestest.New(t)
	var changes []Change // appended on the watch's goroutine, read between steps
	go shared.WatchScopes(ctx, polls.Next, func(c Change) { changes = append(changes, c) })
	polls.Ready()
	expect := func(want ...Change) {
		t.Helper()
		changes = nil
		polls.Step()
		if len(changes) != len(want) {
			t.Fatalf("changes %+v, want %+v", changes, want)
		}
		for i, c := range changes {
			if c.Shared != want[i].Shared || !slices.Equal(c.Orgs, want[i].Orgs) {
				t.Fatalf("change %+v, want %+v", c, want[i])
			}
		}
	}
	b, err := shared.Org("orgB")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(b.Path(), "x.yml"), "name: x\ntype: host\nseverity: 1\nfilter: user = 'a'\n")
	expect(Change{Orgs: []string{"orgB"}})
	write(t, filepath.Join(shared.Path(), "y.yml"), "name: y\ntype: host\nseverity: 1\nfilter: user = 'a'\n")
	expect(Change{Shared: true})
	expect()
}
