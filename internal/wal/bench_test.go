package wal

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkAppend measures durable appends from 8 goroutines per CPU, which
// queue the next group commit while the previous fsync is in flight.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			w, _, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			b.SetBytes(int64(size))
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				p := make([]byte, size)
				for pb.Next() {
					if _, err := w.Append(context.Background(), p); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			st := w.Stats()
			b.ReportMetric(float64(st.Records)/float64(st.Syncs), "records/fsync")
		})
	}
}
