// Package sigmagobench is the baseline for internal/sigma's BenchmarkSet:
// github.com/bradleyjkemp/sigma-go v0.6.6 evaluating the same rules on the
// same events. It is a module of its own because sigma-go's evaluator
// needs a dependency (aho-corasick) that spoor's go.sum does not list; run
// it from this directory: go test -run XXX -bench . -cpu 1
package sigmagobench

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sigmago "github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/sigma"
)

var datasets = filepath.Join("..", "..", "..", "..", "shared", "datasets")

// flatten turns nested JSON objects into dotted keys, the shape sigma-go
// reads CloudTrail fields in.
func flatten(prefix string, v any, out map[string]any) {
	if m, ok := v.(map[string]any); ok {
		for k, x := range m {
			if prefix != "" {
				k = prefix + "." + k
			}
			flatten(k, x, out)
		}
		return
	}
	out[prefix] = v
}

func BenchmarkSigmaGo(b *testing.B) {
	rulesDir := filepath.Join(datasets, "sigma", "rules")
	if _, err := os.Stat(rulesDir); err != nil {
		b.Skipf("test data %s is absent: %v", rulesDir, err)
	}
	// The rules spoor compiles, grouped by product so that sigma-go, which
	// does not index by logsource, only meets the rules of the event's
	// product (a head start spoor's Set does not get).
	byProduct := map[string][]sigmago.Rule{}
	m := sigma.DefaultMapping()
	loaded, failed := 0, 0
	filepath.WalkDir(rulesDir, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || !strings.HasSuffix(p, ".yml") {
			return err
		}
		text, _ := os.ReadFile(p)
		rs, err := sigma.Parse(text)
		if err != nil || len(rs) != 1 {
			return nil
		}
		if _, err := sigma.Compile(rs[0], m); err != nil {
			return nil
		}
		r, err := sigmago.ParseRule(text)
		if err != nil {
			failed++
			return nil
		}
		loaded++
		byProduct[rs[0].Logsource.Product] = append(byProduct[rs[0].Logsource.Product], r)
		return nil
	})
	bundles := map[string]evaluator.RuleEvaluatorBundle{}
	for p, rs := range byProduct {
		bundles[p] = evaluator.ForRules(rs)
	}
	type ev struct {
		product string
		m       map[string]any
	}
	var evs []ev
	for _, e := range benchEvents(b) {
		var obj map[string]any
		if json.Unmarshal(e.RawObject(), &obj) != nil {
			continue
		}
		flat := map[string]any{}
		flatten("", obj, flat)
		product := "windows"
		if e.Str[event.EventType] == "cloudtrail" {
			product = "aws"
		}
		evs = append(evs, ev{product, flat})
	}
	ctx := context.Background()
	hits := 0
	n := 0
	b.ResetTimer()
	for b.Loop() {
		for _, e := range evs {
			res, _ := bundles[e.product].Matches(ctx, e.m)
			for _, r := range res {
				if r.Match {
					hits++
				}
			}
		}
		n += len(evs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(hits)/float64(n), "hits/event")
	b.ReportMetric(float64(loaded), "rules")
	b.ReportMetric(0, "ns/op")
}
