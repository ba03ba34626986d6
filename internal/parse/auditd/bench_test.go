package auditd

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	libaudit "github.com/elastic/go-libaudit/v2"
	"github.com/elastic/go-libaudit/v2/aucoalesce"
	"github.com/elastic/go-libaudit/v2/auparse"
)

// benchLog repeats the real OTRF records (or, without the datasets, the
// test's own) with increasing sequence numbers and timestamps until it
// holds about n records. It returns the text and its record count.
func benchLog(b *testing.B, n int) (string, int) {
	b.Helper()
	src := stripTails(readTestdata(b, "enriched.log")) + seqLines
	if _, err := os.Stat(filepath.Join(datasets, "sh_arp_cache.zip")); err == nil {
		src = readZip(b, "sh_arp_cache.zip") + readZip(b, "sh_binary_padding_dd.zip")
	}
	type rec struct{ typ, rest string }
	var recs []rec
	var seqs []string
	for _, l := range strings.Split(strings.TrimSpace(src), "\n") {
		m := auditIDRe.FindStringSubmatchIndex(l)
		if m == nil {
			continue
		}
		id := l[m[2]:m[3]]
		recs = append(recs, rec{l[:m[0]], l[m[1]:]})
		seqs = append(seqs, id)
	}
	var sb strings.Builder
	seq, ts := int64(1000), int64(1700000000000)
	count := 0
	for count < n {
		prev := ""
		for i, r := range recs {
			if seqs[i] != prev {
				seq++
				ts += 7
				prev = seqs[i]
			}
			sb.WriteString(r.typ)
			sb.WriteString("msg=audit(")
			sb.WriteString(strconv.FormatInt(ts/1000, 10))
			sb.WriteByte('.')
			ms := strconv.FormatInt(ts%1000, 10)
			sb.WriteString(strings.Repeat("0", 3-len(ms)) + ms)
			sb.WriteByte(':')
			sb.WriteString(strconv.FormatInt(seq, 10))
			sb.WriteByte(')')
			sb.WriteString(r.rest)
			sb.WriteByte('\n')
			count++
		}
	}
	return sb.String(), count
}

func BenchmarkDecode(b *testing.B) {
	text, n := benchLog(b, 100_000)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	var events int
	for i := 0; i < b.N; i++ {
		c := &countOutput{}
		if err := New().Decode(context.Background(), strings.NewReader(text), c); err != nil {
			b.Fatal(err)
		}
		if c.rejects != 0 {
			b.Fatalf("%d rejects", c.rejects)
		}
		events = c.events
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(events), "events")
}

// BenchmarkLibauditOnly is the baseline: the same lines through go-libaudit
// alone (parse, reassemble, coalesce), without spoor's line reading,
// mapping and Raw.
func BenchmarkLibauditOnly(b *testing.B) {
	text, n := benchLog(b, 100_000)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := &coalesceStream{}
		re, err := libaudit.NewReassembler(maxInFlight, reassemblyTimeout, s)
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range lines {
			msg, err := auparse.ParseLogLine(l)
			if err != nil {
				b.Fatal(err)
			}
			re.PushMessage(msg)
		}
		_ = re.Close()
		if s.err != nil {
			b.Fatal(s.err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

type coalesceStream struct {
	events int
	err    error
}

func (s *coalesceStream) ReassemblyComplete(msgs []*auparse.AuditMessage) {
	if _, err := aucoalesce.CoalesceMessages(msgs); err != nil {
		s.err = err
	}
	s.events++
}
func (s *coalesceStream) EventsLost(int) {}
