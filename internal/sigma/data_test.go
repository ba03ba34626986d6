package sigma

import (
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse/jsonrec"
	"github.com/spoor-dev/spoor/internal/parse/winevent"
	"github.com/spoor-dev/spoor/internal/testenv"
	"gopkg.in/yaml.v3"
)

// datasets is the shared test data, relative to the project root.
var datasets = filepath.Join("..", "..", "..", "shared", "datasets")

func needDir(tb testing.TB, dir string) {
	tb.Helper()
	if _, err := os.Stat(dir); err != nil {
		testenv.Missing(tb, "test data %s is absent (the shared datasets live next to the project): %v", dir, err)
	}
}

type loadedRule struct {
	path string
	rule *Rule
	c    *Compiled
	err  error
}

// loadRules parses and compiles every rule under the dataset's rules folder.
func loadRules(tb testing.TB, m *Mapping) []loadedRule {
	tb.Helper()
	dir := filepath.Join(datasets, "sigma", "rules")
	needDir(tb, dir)
	var out []loadedRule
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || !strings.HasSuffix(p, ".yml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rules, err := Parse(b)
		if err != nil {
			out = append(out, loadedRule{path: p, err: err})
			return nil
		}
		for _, r := range rules {
			c, err := Compile(r, m)
			out = append(out, loadedRule{path: p, rule: r, c: c, err: err})
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

var reasonCleanup = []*regexp.Regexp{
	regexp.MustCompile(`"[^"]*"`),
	regexp.MustCompile(`search [^:]+: `),
	regexp.MustCompile(`field [^:]+: `),
	regexp.MustCompile(`line \d+`),
	regexp.MustCompile(`at position \d+`),
}

// reasonOf shortens a compile error to a countable reason.
func reasonOf(err error) string {
	s := err.Error()
	if errors.Is(err, ErrUnsupportedLogsource) {
		return s
	}
	if i := strings.Index(s, "no data for it in logsource"); i >= 0 {
		if j := strings.LastIndex(s[:i], "field "); j >= 0 {
			return s[j:]
		}
		return s
	}
	for _, re := range reasonCleanup {
		s = re.ReplaceAllString(s, "…")
	}
	if i := strings.Index(s, "not supported by RE2"); i >= 0 {
		return "regular expression not supported by RE2 (" + s[strings.LastIndex(s, ":")+1:] + ")"
	}
	return s
}

func TestRulesLoad(t *testing.T) {
	rules := loadRules(t, DefaultMapping())
	reasons := map[string]int{}
	mapped, ok, unmapped := 0, 0, 0
	for _, lr := range rules {
		switch {
		case lr.err == nil:
			ok++
			mapped++
		case errors.Is(lr.err, ErrUnsupportedLogsource):
			unmapped++
			reasons[reasonOf(lr.err)]++
		default:
			mapped++
			reasons[reasonOf(lr.err)]++
			t.Logf("%s: %v", filepath.Base(lr.path), lr.err)
		}
	}
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return reasons[keys[i]] > reasons[keys[j]] || reasons[keys[i]] == reasons[keys[j]] && keys[i] < keys[j]
	})
	t.Logf("%d rules: %d compile, %d with a mapped logsource fail, %d have a logsource spoor has no data for", len(rules), ok, mapped-ok, unmapped)
	for _, k := range keys {
		t.Logf("%5d  %s", reasons[k], k)
	}
	if len(rules) < 2000 {
		t.Errorf("read %d rules, want the 2674 of the dataset", len(rules))
	}
	if share := float64(ok) / float64(mapped); share < 0.97 {
		t.Errorf("%.1f%% of the rules with a mapped logsource compile, want at least 97%%", 100*share)
	}
	// Every rule that does not load is listed, with its reason, in
	// testdata/unloaded.txt (docs/detection.md explains them): a rule that
	// stops loading, or starts, shows as a difference.
	var unloaded []string
	for _, lr := range rules {
		if lr.err != nil {
			rel, _ := filepath.Rel(filepath.Join(datasets, "sigma", "rules"), lr.path)
			unloaded = append(unloaded, filepath.ToSlash(rel)+": "+reasonOf(lr.err))
		}
	}
	sort.Strings(unloaded)
	got := strings.Join(unloaded, "\n") + "\n"
	golden := filepath.Join("testdata", "unloaded.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the rules that do not load differ from %s (go test -run TestRulesLoad -update rewrites it):\n%s", golden, got)
	}
	if len(unloaded) != wantUnloaded {
		t.Errorf("%d rules do not load, want %d", len(unloaded), wantUnloaded)
	}
}

// wantUnloaded is how many SigmaHQ rules of the dataset do not load: Linux
// syslog, sshd, cron, vsftpd, clamav and guacamole logs spoor does not
// store, Kernel-File renames, and fields auditd has no data for
// (ParentCommandLine, DestinationHostname) or 4663 lacks (ParentImage).
const wantUnloaded = 18

var update = flag.Bool("update", false, "rewrite testdata golden files")

// regression is one rule's regression test: its rule and its events.
type regression struct {
	dir    string
	ruleID string
	title  string
	events []*event.Event
}

func loadRegressions(tb testing.TB) []regression {
	tb.Helper()
	dir := filepath.Join(datasets, "sigma", "regression_data")
	needDir(tb, dir)
	var out []regression
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || de.Name() != "info.yml" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var info struct {
			RuleMetadata []struct {
				ID    string `yaml:"id"`
				Title string `yaml:"title"`
			} `yaml:"rule_metadata"`
		}
		if err := yaml.Unmarshal(b, &info); err != nil || len(info.RuleMetadata) == 0 {
			tb.Errorf("%s: no rule_metadata (%v)", p, err)
			return nil
		}
		rg := regression{dir: filepath.Dir(p), ruleID: info.RuleMetadata[0].ID, title: info.RuleMetadata[0].Title}
		jsons, _ := filepath.Glob(filepath.Join(rg.dir, "*.json"))
		for _, j := range jsons {
			rg.events = append(rg.events, readWinJSON(tb, j)...)
		}
		out = append(out, rg)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// readWinJSON converts every JSON value of an evtx-dump file.
func readWinJSON(tb testing.TB, p string) []*event.Event {
	f, err := os.Open(p)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rd := jsonrec.NewReader(f, 1<<20)
	var out []*event.Event
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if _, ok := jsonrec.IsError(err); ok {
				tb.Logf("%s: %v", p, err)
				continue
			}
			tb.Fatalf("%s: %v", p, err)
		}
		e := &event.Event{}
		if err := winevent.Convert(rec.Data, e); err != nil {
			tb.Logf("%s: record %d: %v", p, rec.Index, err)
			continue
		}
		out = append(out, e)
	}
	return out
}

func TestRegression(t *testing.T) {
	rules := loadRules(t, DefaultMapping())
	regs := loadRegressions(t)
	byID := map[string]loadedRule{}
	for _, lr := range rules {
		if lr.rule != nil {
			byID[lr.rule.ID] = lr
		}
	}
	fired, tested, missing := 0, 0, 0
	var set []*Compiled
	var failures []string
	for _, rg := range regs {
		lr, ok := byID[rg.ruleID]
		if !ok {
			missing++
			t.Logf("rule not in the dataset: %s %s (%s)", rg.ruleID, rg.title, rg.dir)
			continue
		}
		tested++
		if lr.err != nil {
			failures = append(failures, rg.title+": does not compile: "+lr.err.Error())
			continue
		}
		if len(rg.events) == 0 {
			failures = append(failures, rg.title+": no events in "+rg.dir)
			continue
		}
		set = append(set, lr.c)
		hit := false
		for _, e := range rg.events {
			if lr.c.Match(NewDoc(e)) {
				hit = true
			}
		}
		if hit {
			fired++
		} else {
			failures = append(failures, rg.title+" ("+rg.ruleID+"): silent on its own events")
		}
	}
	t.Logf("%d regression tests: %d rules not in the dataset, %d tested", len(regs), missing, tested)
	t.Logf("%d of %d rules fire on their own events (%.1f%%)", fired, tested, 100*float64(fired)/float64(tested))
	for _, f := range failures {
		t.Errorf("%s", f)
	}

	// Cross-fires: rules matching other rules' events, through a Set.
	s := NewSet(set)
	cross := 0
	for _, rg := range regs {
		for _, e := range rg.events {
			s.Match(NewDoc(e), func(c *Compiled) {
				if c.Rule.ID != rg.ruleID {
					cross++
					t.Logf("cross-fire: %q fires on the event of %q", c.Rule.Title, rg.title)
				}
			})
		}
	}
	t.Logf("%d cross-fires among %d rules", cross, len(set))
	if cross > maxCrossFires {
		t.Errorf("%d cross-fires, want at most %d", cross, maxCrossFires)
	}
}

// maxCrossFires bounds the genuine overlaps between the regression rules
// (one event legitimately meeting two rules): 51 at the time of writing, all
// between rules on the same tool (bitsadmin, certutil, curl, wmic, AdFind,
// Sysinternals), a generic rule firing with its specific sibling.
const maxCrossFires = 60

// TestSetConcurrent: one Set, several goroutines with a Doc each, the same
// matches as one goroutine (run with -race).
func TestSetConcurrent(t *testing.T) {
	var cs []*Compiled
	for _, lr := range loadRules(t, DefaultMapping()) {
		if lr.c != nil {
			cs = append(cs, lr.c)
		}
	}
	var evs []*event.Event
	for _, rg := range loadRegressions(t) {
		evs = append(evs, rg.events...)
	}
	s := NewSet(cs)
	count := func() int {
		n := 0
		d := NewDoc(nil)
		for _, e := range evs {
			d.Reset(e)
			s.Match(d, func(*Compiled) { n++ })
		}
		return n
	}
	res := make(chan int, 4)
	for i := 0; i < 4; i++ {
		go func() { res <- count() }()
	}
	want := -1
	for i := 0; i < 4; i++ {
		n := <-res
		if want >= 0 && n != want {
			t.Errorf("goroutines disagree: %d and %d matches", want, n)
		}
		want = n
	}
	if want != count() || want == 0 {
		t.Errorf("%d matches concurrently, %d alone", want, count())
	}
}
