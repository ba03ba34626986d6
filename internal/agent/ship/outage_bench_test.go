package ship

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/agent/spool"
)

// outageEvent is one audit-sized event line (about 600 bytes, the size of a
// decoded execve event with its records).
func outageEvent(i int) []byte {
	return fmt.Appendf(nil, `{"event_type":"audit","_id":"%032x","event_time":%d,"syscall":"execve","exe":"/usr/bin/curl",`+
		`"command":"curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/","pid":%d,"ppid":1,`+
		`"uid":0,"auid":1000,"session":"3","tty":"pts0","cwd":"/root","args":["curl","-s","http://169.254.169.254/latest/meta-data/iam/security-credentials/"],`+
		`"records":[{"type":"SYSCALL","success":"yes","exit":"0"},{"type":"EXECVE","argc":"3"},{"type":"CWD"},{"type":"PATH","name":"/usr/bin/curl"}]}`,
		i, 1700000000000+int64(i), 1000+i%30000)
}

// BenchmarkSpoolWhileServerDown is the spool's sustained write rate while
// the server is away: batches of 500 events appended and fsynced, nothing
// read. Reports events/s and MB/s of event bytes.
func BenchmarkSpoolWhileServerDown(b *testing.B) {
	sp, err := spool.Open(b.TempDir(), spool.Options{MaxBytes: 8 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	batch := make([][]byte, 500)
	var bytes int64
	for i := range batch {
		batch[i] = outageEvent(i)
		bytes += int64(len(batch[i]))
	}
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := sp.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N*len(batch))/el, "events/s")
	b.ReportMetric(float64(int64(b.N)*bytes)/el/1e6, "MB/s")
}

// BenchmarkFileAppendFsync is the spool's baseline: the same batches
// appended to one plain file, fsynced after each, with no framing, no
// checksums and no segments.
func BenchmarkFileAppendFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "plain"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var buf []byte
	for i := 0; i < 500; i++ {
		buf = append(append(buf, outageEvent(i)...), '\n')
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N*500)/el, "events/s")
	b.ReportMetric(float64(int64(b.N)*int64(len(buf)-500))/el/1e6, "MB/s")
}

// BenchmarkDrainAfterOutage is the time to empty a spool holding what
// 100,000 events of an outage left, once the server is back: the shipper's
// batches (gzip, 1,000 events) posted over loopback HTTP to a sink that
// reads and counts every line, as a server would before answering.
func BenchmarkDrainAfterOutage(b *testing.B) {
	const n = 100_000
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		lines := 0
		for sc.Scan() {
			lines++
		}
		io.Copy(io.Discard, zr)
		got.Add(int64(lines))
		fmt.Fprintf(w, `{"accepted":%d,"duplicates":0,"rejected":0}`, lines)
	}))
	defer srv.Close()
	ctx := context.Background()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sp, err := spool.Open(b.TempDir(), spool.Options{MaxBytes: 8 << 30})
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < n; j += 500 {
			batch := make([][]byte, 500)
			for k := range batch {
				batch[k] = outageEvent(j + k)
			}
			if _, err := sp.Append(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		sink, err := NewHTTPSink(HTTPOptions{Server: srv.URL, Token: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		got.Store(0)
		sh := New(sp, sink, Options{BatchEvents: 1000, BatchAge: time.Millisecond})
		b.StartTimer()
		start := time.Now()
		if err := sh.Drain(ctx); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		if got.Load() != n {
			b.Fatalf("the sink counted %d events, want %d", got.Load(), n)
		}
		sink.Close()
		sp.Close()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/drain")
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "events/s")
}
