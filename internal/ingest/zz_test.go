package ingest

import (
	"os"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
)

func BenchmarkZZOldLines(b *testing.B) {
	data, _ := os.ReadFile("/tmp/oldlines.ndjson")
	n := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		norm := &event.Normalizer{Org: "o"}
		evs := ParseLines(norm, "x", data, func(Rejection) {})
		n = len(evs)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/event")
}
