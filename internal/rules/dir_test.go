package rules

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/rules/rulestest"
)

func TestOpenDirWritesDefaultsOnce(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rules")
	d, err := OpenDir(p)
	if err != nil {
		t.Fatal(err)
	}
	rules, problems := d.Load()
	if len(problems) > 0 || len(rules) != len(Defaults()) {
		t.Fatalf("fresh dir: %d rules, problems %v; want the %d defaults", len(rules), problems, len(Defaults()))
	}
	if err := d.Delete("sudo-exec"); err != nil {
		t.Fatal(err)
	}
	d2, err := OpenDir(p) // existing: defaults are not written again
	if err != nil {
		t.Fatal(err)
	}
	if rules, _ := d2.Load(); len(rules) != len(Defaults())-1 {
		t.Errorf("reopen brought back a deleted default: %d rules", len(rules))
	}
}

func TestDirRoundTrip(t *testing.T) {
	p := t.TempDir() // exists: no defaults
	d, err := OpenDir(p)
	if err != nil {
		t.Fatal(err)
	}
	r := &Rule{Name: "ps-root", Title: "ps as root", Type: "host", Severity: 2, Filter: "user = 'root' AND command = 'ps'",
		Suppressions: []string{"arguments = 'ps -e' AND exe = '/usr/bin/ps'"}, Aggregate: []string{"hostname"},
		Window: 90 * time.Minute, Threshold: 3, Enabled: true}
	if err := d.Put(r); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(p, "ps-root.yml")); err != nil {
		t.Fatalf("Put did not write ps-root.yml: %v", err)
	}
	got, err := d.Get("ps-root")
	if err != nil || !sameRule(r, got) || got.Source != "ps-root.yml" {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, r)
	}
	r.Severity = 1
	if err := d.Put(r); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Get("ps-root"); got == nil || got.Severity != 1 {
		t.Errorf("Put did not replace the rule: %+v", got)
	}
	if err := d.Put(&Rule{Name: "bad", Type: "host", Severity: 1, Filter: "user =", Window: time.Hour, Threshold: 1}); err == nil {
		t.Errorf("Put accepted a bad filter")
	}
	if err := d.Delete("ps-root"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get("ps-root"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := d.Delete("ps-root"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete twice: %v, want ErrNotFound", err)
	}
	entries, _ := os.ReadDir(p)
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadProblemsDuplicatesSigma(t *testing.T) {
	p := t.TempDir()
	d, _ := OpenDir(p)
	write(t, filepath.Join(p, "a.yml"), "name: one\ntype: host\nseverity: 1\nfilter: user = 'root'\n---\nname: two\ntype: host\nseverity: 1\nfilter: user = 'x'\n")
	write(t, filepath.Join(p, "b.yaml"), "# same name as in a.yml\nname: one\ntype: file\nseverity: 1\nfilter: user = 'root'\n")
	write(t, filepath.Join(p, "c.yml"), "name: broken\ntype: host\nseverity: 1\nbogus: 1\nfilter: user = 'root'\n")
	write(t, filepath.Join(p, "sub", "d.yml"), "name: three\ntype: cloudtrail\nseverity: 3\nfilter: event_name = 'ListBuckets'\n")
	write(t, filepath.Join(p, "sub", "sigma.yml"), "title: LSASS\nlogsource:\n  product: windows\ndetection:\n  sel:\n    TargetImage|endswith: lsass.exe\n  condition: sel\n")
	write(t, filepath.Join(p, "notes.txt"), "not a rule")
	write(t, filepath.Join(p, ".hidden.yml"), "garbage: [")
	l := d.LoadAll()
	var names []string
	for _, r := range l.Rules {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "one,two,three" {
		t.Errorf("rules %v, want one,two,three", names)
	}
	if len(l.Problems) != 2 {
		t.Fatalf("problems %v, want 2", l.Problems)
	}
	dup, bad := l.Problems[0], l.Problems[1]
	if dup.File != "b.yaml" || dup.Line != 2 || !strings.Contains(dup.Err.Error(), "duplicate rule name \"one\"") {
		t.Errorf("duplicate problem %v", dup)
	}
	if bad.File != "c.yml" || bad.Line != 4 || !strings.Contains(bad.Error(), `unknown key "bogus"`) {
		t.Errorf("unknown key problem %v", bad)
	}
	if len(l.SigmaFiles) != 1 || l.SigmaFiles[0] != filepath.Join(p, "sub", "sigma.yml") {
		t.Errorf("sigma files %v", l.SigmaFiles)
	}
	// Put may not split a shared file; Delete neither.
	if err := d.Put(&Rule{Name: "two", Type: "host", Severity: 2, Filter: "user = 'y'", Window: time.Hour, Threshold: 1}); err == nil {
		t.Errorf("Put of a rule sharing a.yml succeeded")
	}
	if err := d.Delete("two"); err == nil {
		t.Errorf("Delete of a rule sharing a.yml succeeded")
	}
	// A rule alone in another file moves to <name>.yml.
	r, _ := d.Get("three")
	r.Severity = 1
	if err := d.Put(r); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(p, "sub", "d.yml")); !os.IsNotExist(err) {
		t.Errorf("old file of a moved rule stays: %v", err)
	}
	if got, err := d.Get("three"); err != nil || got.Source != "three.yml" {
		t.Errorf("moved rule: %+v %v", got, err)
	}
}

func TestIsSigma(t *testing.T) {
	if !IsSigma([]byte("title: x\nlogsource:\n  product: linux\ndetection:\n  condition: sel\n")) {
		t.Errorf("a Sigma rule not recognised")
	}
	if IsSigma([]byte("name: x\ntype: host\nseverity: 1\nfilter: user = 'root'\ndescription: |\n  detection:\n  logsource:\n")) {
		t.Errorf("a native rule mentioning the words taken for Sigma")
	}
}

// Each look of a watch reports the changes made since the last, and only
// those: the test steps the watch one look at a time.
func TestWatchSeesChanges(t *testing.T) {
	p := t.TempDir()
	d, err := OpenDir(p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	polls := rulestest.New(t)
	changes := 0 // written on the watch's goroutine, read between steps
	done := make(chan error, 1)
	go func() { done <- d.Watch(ctx, polls.Next, func() { changes++ }) }()
	polls.Ready()
	look := func(what string, want int) {
		t.Helper()
		changes = 0
		polls.Step()
		if changes != want {
			t.Fatalf("after %s the watch reported %d changes, want %d", what, changes, want)
		}
	}
	look("nothing", 0)
	f := filepath.Join(p, "w.yml")
	// A modification time a minute ahead stays "recent" however slow the
	// machine: both writes below keep it, and only their contents differ.
	mtime := time.Now().Add(time.Minute)
	rewrite := func(text string) {
		t.Helper()
		write(t, f, text)
		if err := os.Chtimes(f, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	rewrite("name: w\ntype: host\nseverity: 1\nfilter: user = 'a'\n")
	look("a new file", 1)
	look("nothing", 0)
	rewrite("name: w\ntype: host\nseverity: 1\nfilter: user = 'b'\n")
	look("a rewrite of the same size and modification time", 1)
	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	look("a removal", 1)
	write(t, filepath.Join(p, "ignored.txt"), "x")
	look("a file that is not a rule file", 0)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Watch returned %v", err)
	}
}

// Every paces looks no faster than its interval and stops when the context
// ends.
func TestEveryPacesLooks(t *testing.T) {
	const interval = 20 * time.Millisecond
	polls := Every(interval)
	start := time.Now()
	for i := range 3 {
		if !polls(context.Background()) {
			t.Fatalf("look %d refused with a live context", i)
		}
	}
	// Timers never fire early: the lower bound holds on any machine; the
	// upper one only catches a pace that ignores its interval altogether.
	if d := time.Since(start); d < 3*interval || d > 3*interval+time.Minute {
		t.Errorf("3 looks took %v at an interval of %v", d, interval)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Every(time.Hour)(ctx) {
		t.Errorf("a look granted after the context ended")
	}
}
