package export

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/event"
)

// BenchmarkExport exports three organizations of three hours (two parts
// an hour), 400 events an hour: the cost of an hour's statement, per event.
func BenchmarkExport(b *testing.B) {
	ctx := context.Background()
	db, err := datadir.Open(ctx, b.TempDir(), datadir.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close(ctx)
	for _, org := range testOrgs {
		fill(b, db, org, 400)
	}
	if err := db.Lake.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var sum Summary
	for i := 0; i < b.N; i++ {
		sum, err = Run(ctx, db, Options{Dir: filepath.Join(b.TempDir(), "out"), Orgs: testOrgs, To: event.MaxTime,
			Staging: filepath.Join(db.Lake.LakeDir(), "export")})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(sum.Events*int64(b.N))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(sum.Files*int64(b.N)), "ms/file")
}
