package winevent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
	"github.com/valyala/fastjson"
	vevtx "www.velocidex.com/golang/evtx"
)

type discard struct{ events, rejects int }

func (d *discard) Event(*event.Event) error   { d.events++; return nil }
func (d *discard) Reject(parse.Rejection)     { d.rejects++ }
func (d *discard) Count(what string, n int64) {}

func evtxInputs(b *testing.B) ([][]byte, int64) {
	var ins [][]byte
	var total int64
	for _, f := range evtxFiles(b) {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		ins = append(ins, data)
		total += int64(len(data))
	}
	return ins, total
}

// BenchmarkEVTX decodes every regression .evtx, each a separate input, into
// spoor events.
func BenchmarkEVTX(b *testing.B) {
	ins, total := evtxInputs(b)
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	var d discard
	for i := 0; i < b.N; i++ {
		for _, in := range ins {
			if err := (Decoder{}).Decode(context.Background(), bytes.NewReader(in), &d); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(d.events)/float64(b.N), "events/op")
}

// BenchmarkEVTXBaselineVelocidex only walks the same files' records with
// velocidex/evtx: no spoor mapping.
func BenchmarkEVTXBaselineVelocidex(b *testing.B) {
	ins, total := evtxInputs(b)
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		for _, in := range ins {
			chunks, err := vevtx.GetChunks(bytes.NewReader(in))
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range chunks {
				recs, _ := c.Parse(0)
				n += len(recs)
			}
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "events/op")
}

func nxlogInputs(b *testing.B) ([][]byte, int64) {
	lines := zipLines(b, filepath.Join(nxlogDir, "rdp_interactive_taskmanager_lsass_dump.zip"))
	var total int64
	for _, l := range lines {
		total += int64(len(l))
	}
	return lines, total
}

// BenchmarkConvertNXLog converts the lines of the taskmgr lsass dump data set.
func BenchmarkConvertNXLog(b *testing.B) {
	nxlogZips(b)
	lines, total := nxlogInputs(b)
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, l := range lines {
			var e event.Event
			if err := Convert(l, &e); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkConvertNXLogBaselineFastjson only parses the same lines with fastjson.
func BenchmarkConvertNXLogBaselineFastjson(b *testing.B) {
	nxlogZips(b)
	lines, total := nxlogInputs(b)
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	var p fastjson.Parser
	for i := 0; i < b.N; i++ {
		for _, l := range lines {
			if _, err := p.ParseBytes(l); err != nil {
				b.Fatal(err)
			}
		}
	}
}
