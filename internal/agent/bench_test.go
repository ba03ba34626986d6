package agent

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	libaudit "github.com/elastic/go-libaudit/v2"
	"github.com/elastic/go-libaudit/v2/auparse"
	"github.com/klauspost/compress/gzip"

	"github.com/spoor-dev/spoor/internal/agent/audit"
	"github.com/spoor-dev/spoor/internal/agent/audit/audittest"
	"github.com/spoor-dev/spoor/internal/agent/hostmeta"
	"github.com/spoor-dev/spoor/internal/agent/ship"
	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/ingest"
	"github.com/spoor-dev/spoor/internal/parse"
	"github.com/spoor-dev/spoor/internal/parse/auditd"
)

const datasets = "../../../shared/datasets/linux"

// benchLog writes a log of n real audit events (about 6 records each).
func benchLog(b *testing.B, n int) (path string, records int) {
	evs := audittest.Events(b, datasets)
	path = filepath.Join(b.TempDir(), "audit.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for done := 0; done < n; {
		k := min(10000, n-done)
		text := audittest.Log(evs, int64(1+done), 1700000000+int64(done/1000), k)
		records += strings.Count(text, "\n")
		w.WriteString(text)
		done += k
	}
	w.Flush()
	f.Close()
	return path, records
}

// cpu is the process's user and system CPU time.
func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeak frees what the set-up held and restarts the high-water mark
// of the resident set, so peakRSS measures the run alone.
func resetPeak() {
	runtime.GC()
	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS is the process's high-water resident set, in bytes.
func peakRSS() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkAgentPipeline replays b.N audit events (about 6 records each)
// through the whole agent: the log follower and decoder, the disk spool
// (fsynced batches) and the shipper, gzip over loopback HTTP to a sink that
// counts lines. CPU is the process's (sink included); RSS its peak.
func BenchmarkAgentPipeline(b *testing.B) {
	path, records := benchLog(b, b.N)
	var got atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		n, _ := io.Copy(io.Discard, &lineCounter{r: zr, n: &got})
		_ = n
		w.Write([]byte(`{"accepted":0}`))
	}))
	defer sink.Close()
	hs, err := ship.NewHTTPSink(ship.HTTPOptions{Server: sink.URL, Token: "t"})
	if err != nil {
		b.Fatal(err)
	}
	state := b.TempDir()
	a, err := New(Options{StateDir: state, Identity: hostmeta.Identity{AgentID: "0b5c3f5e-1111-4222-8333-444455556666", Hostname: "bench"},
		Sink: hs, Ship: ship.Options{BatchAge: 50 * time.Millisecond}})
	if err != nil {
		b.Fatal(err)
	}
	a.AddSources(audit.NewFollower(audit.FollowConfig{Path: path, Host: "bench", Flushed: a.Flush, Poll: 20 * time.Millisecond,
		PositionFile: filepath.Join(state, "pos.json")}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(64 << 20)) // the agent's default
	resetPeak()
	b.ResetTimer()
	c0 := cpu()
	go func() { done <- a.Run(ctx) }()
	for got.Load() < int64(b.N) {
		time.Sleep(5 * time.Millisecond)
	}
	used := cpu() - c0
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(used.Microseconds())/float64(b.N), "cpu-µs/event")
	b.ReportMetric(float64(used.Microseconds())/float64(records), "cpu-µs/record")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MB")
}

// lineCounter counts the newlines read through it.
type lineCounter struct {
	r io.Reader
	n *atomic.Int64
}

func (l *lineCounter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n.Add(int64(bytes.Count(p[:n], []byte{'\n'})))
	return n, err
}

// BenchmarkReassemblerOnly is the baseline: go-libaudit alone on the same
// records (auparse.ParseLogLine and its Reassembler), events only counted.
func BenchmarkReassemblerOnly(b *testing.B) {
	path, records := benchLog(b, b.N)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var events int
	st := streamCounter{n: &events}
	re, _ := libaudit.NewReassembler(128, 10*time.Second, st)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	resetPeak()
	b.ResetTimer()
	c0 := cpu()
	for sc.Scan() {
		msg, err := auparse.ParseLogLine(sc.Text())
		if err != nil {
			continue
		}
		re.PushMessage(msg)
	}
	re.Close()
	used := cpu() - c0
	b.StopTimer()
	if events < b.N*9/10 {
		b.Fatalf("%d events of %d", events, b.N)
	}
	b.ReportMetric(float64(used.Microseconds())/float64(b.N), "cpu-µs/event")
	b.ReportMetric(float64(used.Microseconds())/float64(records), "cpu-µs/record")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MB")
}

// BenchmarkDecoderOnly is spoor's auditd decoder (the one `spoor ingest`
// uses: go-libaudit's parser, reassembler and coalescer, then the mapping
// to spoor's fields) on the same records, events only counted.
func BenchmarkDecoderOnly(b *testing.B) {
	out := &countOut{}
	used, records := decodeLog(b, out)
	if out.n < b.N*9/10 {
		b.Fatalf("%d events of %d", out.n, b.N)
	}
	b.ReportMetric(float64(used.Microseconds())/float64(b.N), "cpu-µs/event")
	b.ReportMetric(float64(used.Microseconds())/float64(records), "cpu-µs/record")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MB")
}

type countOut struct{ n int }

func (c *countOut) Event(*event.Event) error { c.n++; return nil }
func (c *countOut) Reject(parse.Rejection)   {}
func (c *countOut) Count(string, int64)      {}

type streamCounter struct{ n *int }

func (s streamCounter) ReassemblyComplete(msgs []*auparse.AuditMessage) { *s.n++ }
func (s streamCounter) EventsLost(int)                                  {}

var _ source.Source = (*audit.Follower)(nil)

// envelopeLines are the lines the agent ships for the events of the audit
// log at path (one audit envelope each, as Agent.Emit writes them).
func envelopeLines(b *testing.B, path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	d := auditd.New()
	d.Host = "bench"
	out := &envelopeWriter{}
	if err := d.Group(context.Background(), f, out); err != nil {
		b.Fatal(err)
	}
	return out.buf
}

type envelopeWriter struct{ buf []byte }

func (w *envelopeWriter) Event(r auditd.Records) {
	ev := source.Event{"_id": r.ID, "agent_id": "0b5c3f5e-1111-4222-8333-444455556666", "hostname": r.Host,
		auditd.EnvelopeKey: r.Lines}
	w.buf, _ = source.AppendJSON(w.buf, ev)
	w.buf = append(w.buf, '\n')
}
func (w *envelopeWriter) Reject(parse.Rejection) {}

// BenchmarkServerEnvelopes is the server's side of the agent's events:
// the envelopes of b.N events read as a request body is (ingest.ParseLines:
// the records decoded, the event completed), CPU per event.
func BenchmarkServerEnvelopes(b *testing.B) {
	path, _ := benchLog(b, b.N)
	body := envelopeLines(b, path)
	resetPeak()
	b.ResetTimer()
	c0 := cpu()
	var rejected int
	evs := ingest.ParseLines(&event.Normalizer{Org: "o"}, "body", body, func(ingest.Rejection) { rejected++ })
	used := cpu() - c0
	b.StopTimer()
	if len(evs) < b.N*9/10 || rejected > 0 {
		b.Fatalf("%d events of %d, %d rejected", len(evs), b.N, rejected)
	}
	b.ReportMetric(float64(used.Microseconds())/float64(b.N), "cpu-µs/event")
	b.ReportMetric(float64(len(body))/float64(b.N), "bytes/event")
}

// BenchmarkServerAuditLog is the baseline for it: `spoor ingest` of the same
// events as an audit.log file (the decoder, then the event completed).
func BenchmarkServerAuditLog(b *testing.B) {
	out := &completeOut{norm: &event.Normalizer{Org: "o"}}
	used, _ := decodeLog(b, out)
	if len(out.evs) < b.N*9/10 {
		b.Fatalf("%d events of %d", len(out.evs), b.N)
	}
	b.ReportMetric(float64(used.Microseconds())/float64(b.N), "cpu-µs/event")
}

// decodeLog decodes a log of b.N events with spoor's auditd decoder into
// out, timed: the CPU it took and the records it read.
func decodeLog(b *testing.B, out parse.Output) (used time.Duration, records int) {
	path, records := benchLog(b, b.N)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	resetPeak()
	b.ResetTimer()
	c0 := cpu()
	if err := auditd.New().Decode(context.Background(), f, out); err != nil {
		b.Fatal(err)
	}
	used = cpu() - c0
	b.StopTimer()
	return used, records
}

// completeOut completes and keeps a decoder's events, as the ingest does.
type completeOut struct {
	norm *event.Normalizer
	evs  []*event.Event
}

func (c *completeOut) Event(e *event.Event) error {
	if c.norm.Complete(e) == nil {
		c.evs = append(c.evs, e)
	}
	return nil
}
func (c *completeOut) Reject(parse.Rejection) {}
func (c *completeOut) Count(string, int64)    {}
