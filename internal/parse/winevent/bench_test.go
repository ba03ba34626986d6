package winevent

import (
	"bytes"
	"context"
	"encoding/binary"
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

// usedBytes sums the used part (header and records) of every chunk: the
// regression files hold a few records each in a 64 KiB chunk, so MB/s over
// the file size flatters; MB/s over the used bytes is what a full chunk
// of a real log costs.
func usedBytes(ins [][]byte) int64 {
	var n int64
	for _, in := range ins {
		for off := fileHeaderSize; off+chunkSize <= len(in); off += chunkSize {
			n += int64(binary.LittleEndian.Uint32(in[off+0x30:]))
		}
	}
	return n
}

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
	b.ReportMetric(float64(usedBytes(ins))*float64(b.N)/b.Elapsed().Seconds()/1e6, "usedMB/s")
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
	b.ReportMetric(float64(usedBytes(ins))*float64(b.N)/b.Elapsed().Seconds()/1e6, "usedMB/s")
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

// BenchmarkEVTXRecords times the record work alone (binary XML to a spoor
// event), without reading and checking the 64 KiB chunks: the cost per
// record that dominates on full chunks of real logs.
func BenchmarkEVTXRecords(b *testing.B) {
	ins, _ := evtxInputs(b)
	var chunks [][]byte
	var recs [][]int
	for _, in := range ins {
		c := in[fileHeaderSize : fileHeaderSize+chunkSize]
		r, detail := readChunk(c)
		if detail != "" {
			b.Fatal(detail)
		}
		chunks, recs = append(chunks, c), append(recs, r)
	}
	used := usedBytes(ins)
	b.SetBytes(used)
	b.ReportAllocs()
	b.ResetTimer()
	var p chunkParser
	n := 0
	for i := 0; i < b.N; i++ {
		for j, c := range chunks {
			p.reset(c)
			for _, off := range recs[j] {
				var e event.Event
				if err := evtxRecord(&p, off, &e); err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(n), "ns/event")
}

// BenchmarkEVTXLaterRecords times, in the regression chunks that hold five
// records or more, the records after the first: those that reuse the
// template and names the first one defined, as most records of a full
// chunk do. MB/s is over those records' bytes.
func BenchmarkEVTXLaterRecords(b *testing.B) {
	ins, _ := evtxInputs(b)
	type job struct {
		c    []byte
		recs []int
	}
	var jobs []job
	var size int64
	for _, in := range ins {
		c := in[fileHeaderSize : fileHeaderSize+chunkSize]
		recs, detail := readChunk(c)
		if detail != "" || len(recs) < 5 {
			continue
		}
		for _, off := range recs[1:] {
			size += int64(binary.LittleEndian.Uint32(c[off+4:]))
		}
		jobs = append(jobs, job{c, recs})
	}
	if len(jobs) == 0 {
		b.Skip("no chunk with five records")
	}
	b.SetBytes(size)
	b.ReportAllocs()
	var p chunkParser
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		for _, j := range jobs {
			b.StopTimer()
			p.reset(j.c)
			var e event.Event
			if err := evtxRecord(&p, j.recs[0], &e); err != nil { // defines the template and names
				b.Fatal(err)
			}
			b.StartTimer()
			for _, off := range j.recs[1:] {
				var e event.Event
				if err := evtxRecord(&p, off, &e); err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(n), "ns/event")
}
