package fim

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/agent/source"
)

// BenchmarkInitialScan builds the baseline of a real tree ($SPOOR_FIM_BENCH,
// default /usr/bin): every file stat'ed and hashed, written to bbolt. The
// peer is `find DIR -type f | xargs sha256sum` on the same tree.
func BenchmarkInitialScan(b *testing.B) {
	dir := os.Getenv("SPOOR_FIM_BENCH")
	if dir == "" {
		dir = "/usr/bin"
	}
	if _, err := os.Stat(dir); err != nil {
		b.Skipf("no %s", dir)
	}
	files := 0
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files++
		}
		return nil
	})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src := New(Config{Paths: []string{dir}, StateDir: b.TempDir(), Rescan: -1})
		src.scanned = make(chan *run, 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- src.Run(ctx, func(source.Event) {}) }()
		<-src.scanned
		elapsed := time.Since(start)
		cancel()
		<-done
		b.ReportMetric(float64(files)/elapsed.Seconds(), "files/s")
	}
}
