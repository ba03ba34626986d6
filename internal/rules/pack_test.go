package rules

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
	"github.com/spoor-dev/spoor/internal/parse/auditd"
	"github.com/spoor-dev/spoor/internal/parse/cloudtrail"
	"github.com/spoor-dev/spoor/internal/parse/winevent"
)

// packCase is testdata/pack/<rule>.yml: records in their source format
// that the default rule of that name must fire on (fires) and near
// misses it must stay silent on (quiet). Each record goes through the
// format's own decoder, so the rule is tested on events as spoor stores
// them.
type packCase struct {
	// Format is auditd (raw audit.log lines, one event's records per
	// item), windows (an evtx-dump or NXLog JSON record), cloudtrail (one
	// record) or threatstack (one Threat Stack event).
	Format string   `yaml:"format"`
	Fires  []string `yaml:"fires"`
	Quiet  []string `yaml:"quiet"`
}

func packCases(t *testing.T) map[string]packCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "pack", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]packCase{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var pc packCase
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&pc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(pc.Fires) == 0 || len(pc.Quiet) == 0 {
			t.Errorf("%s: want at least one event in fires and one in quiet", f)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".yml")] = pc
	}
	return out
}

// collect is a parse.Output keeping the events.
type collect struct {
	t   *testing.T
	evs []*event.Event
}

func (c *collect) Event(e *event.Event) error { c.evs = append(c.evs, e); return nil }
func (c *collect) Reject(r parse.Rejection) {
	c.t.Errorf("record rejected: %s: %s", r.Reason, r.Detail)
}
func (c *collect) Count(string, int64) {}

// decodeRecord turns one test record into the events spoor would store.
func decodeRecord(t *testing.T, format, rec string) []*event.Event {
	t.Helper()
	one := func(conv parse.Converter) []*event.Event {
		e := new(event.Event)
		if err := conv([]byte(rec), e); err != nil {
			t.Fatalf("%s record %s: %v", format, rec, err)
		}
		return []*event.Event{e}
	}
	switch format {
	case "auditd":
		c := &collect{t: t}
		if err := auditd.New().Decode(context.Background(), strings.NewReader(rec), c); err != nil {
			t.Fatalf("auditd record %s: %v", rec, err)
		}
		if len(c.evs) == 0 {
			t.Fatalf("auditd record %s: no event", rec)
		}
		return c.evs
	case "windows":
		return one(winevent.Convert)
	case "cloudtrail":
		return one(cloudtrail.Convert)
	case "threatstack":
		return []*event.Event{ev(t, rec)}
	}
	t.Fatalf("unknown format %q", format)
	return nil
}

// The built-in pack: every default rule with a case file fires on each of
// its records and on none of its near misses; every default rule names
// its ATT&CK technique.
func TestPackFires(t *testing.T) {
	cases := packCases(t)
	defs := Defaults()
	var names []string
	for _, r := range defs {
		names = append(names, r.Name)
		if r.Technique == "" {
			t.Errorf("default %s names no ATT&CK technique", r.Name)
		}
	}
	for name := range cases {
		if !slices.Contains(names, name) {
			t.Errorf("testdata/pack/%s.yml: no default rule of that name", name)
		}
	}
	for _, r := range defs {
		pc, ok := cases[r.Name]
		if !ok {
			continue // tested by TestDefaultsFire
		}
		c := mustCompile(t, r)
		if ws := Lint(r); len(ws) > 0 {
			t.Errorf("%s lints: %v", r.Name, ws)
		}
		for i, rec := range pc.Fires {
			hit := false
			for _, e := range decodeRecord(t, pc.Format, rec) {
				if m, s := c.Match(e); m && !s {
					hit = true
				}
			}
			if !hit {
				t.Errorf("%s does not fire on fires[%d]", r.Name, i)
			}
		}
		for i, rec := range pc.Quiet {
			for _, e := range decodeRecord(t, pc.Format, rec) {
				if m, _ := c.Match(e); m {
					t.Errorf("%s fires on its near miss quiet[%d]", r.Name, i)
				}
			}
		}
	}
}

// technique: an ATT&CK id, checked, kept by Marshal.
func TestTechniqueKey(t *testing.T) {
	base := "name: r\ntype: host\nseverity: 2\nfilter: command = 'ps'\n"
	r, err := ParseRule([]byte(base+"technique: T1059.004\n"), "r.yml")
	if err != nil || r.Technique != "T1059.004" {
		t.Fatalf("technique T1059.004: %v, %+v", err, r)
	}
	b, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := ParseRule(b, "r.yml"); err != nil || back.Technique != "T1059.004" {
		t.Errorf("Marshal lost the technique: %v\n%s", err, b)
	}
	for _, bad := range []string{"1059", "T105", "T1059.4", "t1059", "T1059.004,T1003"} {
		_, err := ParseRule([]byte(base+"technique: "+bad+"\n"), "r.yml")
		if err == nil || !strings.Contains(err.Error(), "technique") {
			t.Errorf("technique %q: got %v, want an error on technique", bad, err)
		}
	}
}
