package sigma

import (
	"archive/zip"
	"bufio"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse/cloudtrail"
	"github.com/spoor-dev/spoor/internal/parse/jsonrec"
	"github.com/spoor-dev/spoor/internal/parse/winevent"
)

// benchEvents is the benchmark's event mix: the OTRF NXLog lines, the
// regression events and the Stratus CloudTrail records.
func benchEvents(tb testing.TB) []*event.Event {
	tb.Helper()
	var out []*event.Event
	zips, _ := filepath.Glob(filepath.Join(datasets, "windows", "*.zip"))
	if len(zips) == 0 {
		tb.Skipf("no Windows datasets under %s", filepath.Join(datasets, "windows"))
	}
	for _, z := range zips {
		zr, err := zip.OpenReader(z)
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				tb.Fatal(err)
			}
			sc := bufio.NewScanner(rc)
			sc.Buffer(make([]byte, 1<<20), 4<<20)
			for sc.Scan() {
				e := &event.Event{}
				if winevent.Convert(sc.Bytes(), e) == nil {
					out = append(out, e)
				}
			}
			rc.Close()
		}
		zr.Close()
	}
	for _, rg := range loadRegressions(tb) {
		out = append(out, rg.events...)
	}
	cts, _ := filepath.Glob(filepath.Join(datasets, "cloudtrail", "stratus", "CloudTrail", "*.json"))
	for _, p := range cts {
		f, err := os.Open(p)
		if err != nil {
			tb.Fatal(err)
		}
		rd := jsonrec.NewReader(f, 1<<20)
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				continue
			}
			e := &event.Event{}
			if cloudtrail.Convert(rec.Data, e) == nil {
				out = append(out, e)
			}
		}
		f.Close()
	}
	return out
}

func benchSet(tb testing.TB) *Set {
	var cs []*Compiled
	for _, lr := range loadRules(tb, DefaultMapping()) {
		if lr.c != nil {
			cs = append(cs, lr.c)
		}
	}
	return NewSet(cs)
}

// BenchmarkSet evaluates every compiled rule, in one Set, on the event mix;
// run with -cpu 1 for the per-core rate.
func BenchmarkSet(b *testing.B) {
	s := benchSet(b)
	evs := benchEvents(b)
	d := NewDoc(nil)
	for _, e := range evs { // warm up: literal indexes are built on first use
		d.Reset(e)
		s.Match(d, func(*Compiled) {})
	}
	hits := 0
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		for _, e := range evs {
			d.Reset(e)
			s.Match(d, func(*Compiled) { hits++ })
		}
		n += len(evs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(hits)/float64(n), "hits/event")
	b.ReportMetric(float64(len(s.Rules())), "rules")
	b.ReportMetric(0, "ns/op")
}

func TestBenchMix(t *testing.T) {
	evs := benchEvents(t)
	s := benchSet(t)
	types := map[string]int{}
	hits := map[string]int{}
	d := NewDoc(nil)
	for _, e := range evs {
		types[e.Str[event.EventType]]++
		d.Reset(e)
		s.Match(d, func(c *Compiled) { hits[c.Rule.Title]++ })
	}
	t.Logf("%d events %v, %d rules in the set", len(evs), types, len(s.Rules()))
	for k, v := range hits {
		t.Logf("%6d %s", v, k)
	}
	if types["cloudtrail"] == 0 || types["sysmon"] == 0 || types["winsec"] == 0 {
		t.Errorf("event mix lacks a source: %v", types)
	}
}
