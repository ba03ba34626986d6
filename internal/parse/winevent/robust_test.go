package winevent

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/spoor-dev/spoor/internal/event"
)

// multiChunk builds one EVTX from the header of the first file and the
// first chunk of each file.
func multiChunk(t testing.TB, files []string) []byte {
	t.Helper()
	var out []byte
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < fileHeaderSize+chunkSize {
			t.Fatalf("%s: %d bytes, no whole chunk", f, len(b))
		}
		if i == 0 {
			out = append(out, b[:fileHeaderSize]...)
		}
		out = append(out, b[fileHeaderSize:fileHeaderSize+chunkSize]...)
	}
	return out
}

func decodeBytes(t testing.TB, b []byte) *collect {
	t.Helper()
	var c collect
	if err := (Decoder{}).Decode(context.Background(), bytes.NewReader(b), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// fixCRCs recomputes a chunk's checksums, so the reader itself meets
// what was changed in it.
func fixCRCs(c []byte) {
	free := binary.LittleEndian.Uint32(c[0x30:])
	if free < chunkHdrSize || free > chunkSize {
		free = chunkSize
	}
	binary.LittleEndian.PutUint32(c[0x34:], crc32.ChecksumIEEE(c[chunkHdrSize:free]))
	h := crc32.NewIEEE()
	h.Write(c[:0x78])
	h.Write(c[0x80:chunkHdrSize])
	binary.LittleEndian.PutUint32(c[0x7C:], h.Sum32())
}

func TestCorruptChunk(t *testing.T) {
	files := evtxFiles(t)[:3]
	whole := decodeBytes(t, multiChunk(t, files))
	counts := make([]int, 3)
	for i, f := range files {
		counts[i] = len(decodeFile(t, f).events)
	}
	if len(whole.events) != counts[0]+counts[1]+counts[2] || len(whole.rejects) != 0 {
		t.Fatalf("3 good chunks: %d events (want %v), rejects %v", len(whole.events), counts, whole.rejects)
	}
	b := multiChunk(t, files)
	c2 := b[fileHeaderSize+chunkSize:]
	for i := chunkHdrSize + 40; i < chunkHdrSize+200; i += 7 {
		c2[i] ^= 0xA5
	}
	c := decodeBytes(t, b)
	if len(c.rejects) != 1 || c.rejects[0].Reason != "corrupt EVTX chunk" || !strings.Contains(c.rejects[0].Detail, "chunk 2") {
		t.Fatalf("rejects %+v, want one corrupt EVTX chunk for chunk 2", c.rejects)
	}
	if len(c.events) != counts[0]+counts[2] {
		t.Fatalf("%d events, want %d from chunks 1 and 3", len(c.events), counts[0]+counts[2])
	}
	for i, e := range c.events {
		want := whole.events[i]
		if i >= counts[0] {
			want = whole.events[i+counts[1]]
		}
		if e.Int[event.RecordNumber] != want.Int[event.RecordNumber] || !bytes.Equal(e.Raw, want.Raw) {
			t.Errorf("event %d differs from the uncorrupted read", i)
		}
	}
	// With the checksums fixed up, the reader walks the garbage: it must
	// neither panic nor lose the other chunks.
	fixCRCs(c2)
	c = decodeBytes(t, b)
	if len(c.events) < counts[0]+counts[2] {
		t.Fatalf("checksums fixed: %d events, want at least %d", len(c.events), counts[0]+counts[2])
	}
	// A truncated last chunk is reported; the whole chunks before it are read.
	c = decodeBytes(t, b[:len(b)-100])
	if len(c.rejects) == 0 || c.rejects[len(c.rejects)-1].Reason != "corrupt EVTX chunk" {
		t.Fatalf("truncated: rejects %+v", c.rejects)
	}
}

func TestNotEVTX(t *testing.T) {
	var c collect
	if err := (Decoder{}).Decode(context.Background(), strings.NewReader("not an evtx file"), &c); err == nil {
		t.Error("no error on a non-EVTX input")
	}
	if DetectEVTX([]byte("ElfChnk\x00")) || !DetectEVTX([]byte("ElfFile\x00xyz")) {
		t.Error("DetectEVTX")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	files := evtxFiles(t)
	if err := (Decoder{}).Decode(ctx, bytes.NewReader(multiChunk(t, files[:2])), &c); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestDeepJSON(t *testing.T) {
	for _, v := range [][]byte{
		bytes.Repeat([]byte("["), 100000),
		append([]byte(`{"Event":{"System":{},"EventData":{"a":`), bytes.Repeat([]byte(`{"a":`), 100000)...),
		[]byte(`{"EventID":4688,"Channel":"Security","Hostname":"h","x":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`),
	} {
		var e event.Event
		err := Convert(v, &e)
		var re *event.RejectError
		if !errors.As(err, &re) {
			t.Fatalf("deep JSON: %v, want a RejectError", err)
		}
		if Looks(v) {
			t.Error("Looks says yes to deep JSON")
		}
	}
}

func TestConvertRejects(t *testing.T) {
	for _, c := range []struct{ in, reason string }{
		{`[1]`, event.ReasonNotObject},
		{`{"a":1}`, event.ReasonMalformed},
		{`{"EventID":1,"Channel":"Security","Hostname":"h"}`, event.ReasonNoTime},
		{`{"EventID":1,"Channel":"Security","Hostname":"h","EventTime":"yesterday"}`, event.ReasonBadTime},
		{`{"EventID":1,"Channel":"Security","Hostname":"h","EventTime":"2020-01-01 00:00:00","x":"` + strings.Repeat("a", event.MaxEventBytes) + `"}`, event.ReasonTooLarge},
		{`{"Event":{"System":{"TimeCreated":{"#attributes":{"SystemTime":"soon"}}}}}`, event.ReasonBadTime},
	} {
		var e event.Event
		if got := event.ReasonOf(Convert([]byte(c.in), &e)); got != c.reason {
			t.Errorf("%.60s: %q, want %q", c.in, got, c.reason)
		}
	}
	// Invalid UTF-8 and control characters in an NXLog line: Raw is re-encoded, valid.
	var e event.Event
	in := []byte("{\"EventID\":1,\"Channel\":\"Security\",\"Hostname\":\"h\",\"EventTime\":\"2020-01-01 00:00:00\",\"x\":\"a\xff\\u0001\\ud800\"}")
	if err := Convert(in, &e); err != nil {
		t.Fatal(err)
	}
	if !jsonValid(e.Raw) {
		t.Errorf("raw not valid UTF-8 JSON: %q", e.Raw)
	}
}

// hostileChunk is a chunk whose checksums are right but whose content
// declares huge sizes: record sizes, string lengths, template lengths and
// argument counts of 0xFFFF.. everywhere after the header.
func hostileChunk(seed byte, base []byte) []byte {
	c := bytes.Clone(base)
	for i := chunkHdrSize + 24; i < chunkSize; i += 2 {
		c[i] = 0xFF
		if (i/2+int(seed))%5 == 0 {
			c[i] = seed
		}
	}
	fixCRCs(c)
	return c
}

func TestHostileEVTXMemory(t *testing.T) {
	files := evtxFiles(t)
	base := multiChunk(t, files[:1])
	in := bytes.Clone(base[:fileHeaderSize])
	for i := 0; i < 64; i++ {
		var c []byte
		switch i % 4 {
		case 0:
			c = hostileChunk(byte(i), base[fileHeaderSize:])
		case 1: // record header says 4 GiB
			c = bytes.Clone(base[fileHeaderSize:])
			binary.LittleEndian.PutUint32(c[chunkHdrSize+4:], 0xFFFFFFF0)
			fixCRCs(c)
		case 2: // records 0..2^64
			c = bytes.Clone(base[fileHeaderSize:])
			binary.LittleEndian.PutUint64(c[16:], ^uint64(0))
			fixCRCs(c)
		case 3: // every length in the record body at its maximum
			c = bytes.Clone(base[fileHeaderSize:])
			for j := chunkHdrSize + 24; j < chunkHdrSize+2000; j += 3 {
				c[j], c[j+1] = 0xFF, 0xFF
			}
			fixCRCs(c)
		}
		in = append(in, c...)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak uint64
	out := &peakOut{peak: &peak}
	if err := (Decoder{}).Decode(context.Background(), bytes.NewReader(in), out); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if peak < after.HeapInuse {
		peak = after.HeapInuse
	}
	if peak > 256<<20 || after.Sys-before.Sys > 256<<20 {
		t.Fatalf("hostile EVTX: peak heap %d MiB, Sys grew %d MiB", peak>>20, (after.Sys-before.Sys)>>20)
	}
	t.Logf("hostile EVTX (%d chunks): %d events, %d rejects, peak heap %d MiB, allocated %d MiB",
		64, out.events, len(out.rejects), peak>>20, (after.TotalAlloc-before.TotalAlloc)>>20)
}

// peakOut samples the heap at each event and rejection.
type peakOut struct {
	collect
	events int
	peak   *uint64
}

func (p *peakOut) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapInuse > *p.peak {
		*p.peak = m.HeapInuse
	}
}
func (p *peakOut) Event(e *event.Event) error { p.events++; p.sample(); return nil }
func (p *peakOut) Reject(r parseRejection)    { p.rejects = append(p.rejects, r); p.sample() }

func TestStrictJSON(t *testing.T) {
	for _, c := range []string{`{}`, `[]`, `{"a":[1,-2.5e+3,true,false,null,"x\u00e9\n"]}`, ` {"a" : { } } `, `0`, `-0.1`} {
		if !strictJSON([]byte(c)) || !jsonValid([]byte(c)) {
			t.Errorf("%s: not valid", c)
		}
	}
	for _, c := range []string{`{"a":00}`, `{"a":1.}`, `{"a":"\x"}`, "{\"a\":\"\x01\"}", `{"a":tru}`, `{"a":1,}`, `[1 2]`, `{"a":1}x`, `{"a":"\u12"}`, `{"a":+1}`, `{"a":.5}`, `"abc`} {
		if strictJSON([]byte(c)) {
			t.Errorf("%s: valid", c)
		}
	}
}

func TestParseLocal(t *testing.T) {
	for _, s := range []string{"2020-09-22 04:37:45", "2020-02-29 23:59:59", "2020-10-18 07:50:06.220", "2021-02-29 00:00:00", "2020-13-01 00:00:00", "2020-09-22T04:37:45", "2020-09-22 4:37:45 "} {
		got, gerr := parseLocal(s)
		want, werr := time.Parse(localLayout, s)
		if (gerr == nil) != (werr == nil) || !got.Equal(want) {
			t.Errorf("%q: %v %v, time.Parse %v %v", s, got, gerr, want, werr)
		}
	}
}

// TestEVTXStreams reads the same file through a gzip stream and one byte
// at a time: the decoder needs nothing but io.Reader.
func TestEVTXStreams(t *testing.T) {
	files := evtxFiles(t)
	in := multiChunk(t, files[:5])
	want := decodeBytes(t, in)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(in)
	w.Close()
	zr, err := gzip.NewReader(&gz)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]io.Reader{"gzip": zr, "one byte at a time": iotest.OneByteReader(bytes.NewReader(in))} {
		var c collect
		if err := (Decoder{}).Decode(context.Background(), r, &c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(c.events) != len(want.events) || len(c.events) == 0 {
			t.Fatalf("%s: %d events, want %d", name, len(c.events), len(want.events))
		}
		for i := range c.events {
			if !bytes.Equal(c.events[i].Raw, want.events[i].Raw) {
				t.Errorf("%s: event %d differs", name, i)
			}
		}
	}
}

// TestHeaderBlockSize: chunks start at the header block size (0x28), not
// at the chunk count (0x2A), which a big file sets high.
func TestHeaderBlockSize(t *testing.T) {
	in := multiChunk(t, evtxFiles(t)[:2])
	want := decodeBytes(t, in)
	binary.LittleEndian.PutUint16(in[0x2A:], 0x2000) // 8192 chunks
	if got := decodeBytes(t, in); len(got.events) != len(want.events) || len(got.rejects) != 0 {
		t.Fatalf("chunk count 8192: %d events, %d rejects; want %d events", len(got.events), len(got.rejects), len(want.events))
	}
}

func TestDumpUnnamedData(t *testing.T) {
	in := `{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":7036},"Channel":"System","Computer":"h","EventRecordID":5,` +
		`"TimeCreated":{"#attributes":{"SystemTime":"2024-01-02T03:04:05.678901Z"}}},"EventData":{"Data":{"#text":["Print Spooler","running"]},"Binary":"00FF"}}}`
	var e event.Event
	if err := Convert([]byte(in), &e); err != nil {
		t.Fatal(err)
	}
	raw := rawMap(t, &e)
	if fmt.Sprint(raw["Data"]) != "[Print Spooler running]" || raw["Binary"] != "00FF" || e.Int[event.WinEventID] != 7036 || e.Str[event.EventType] != "windows" {
		t.Errorf("raw %s, win_event_id %d", e.Raw, e.Int[event.WinEventID])
	}
	if e.Time().Format(time.RFC3339Nano) != "2024-01-02T03:04:05.678Z" {
		t.Errorf("event_time %v", e.Time())
	}
}

// TestTemplateFanOut: a template whose body substitutes the same nested
// binary XML value K times, the value instantiating the template again,
// D deep, is K^D work for a naive reader. The token budget stops it.
func TestTemplateFanOut(t *testing.T) {
	const K, D = 64, 20 // 2 nesting levels a step: within maxDepth
	le := binary.LittleEndian
	c := make([]byte, chunkSize)
	copy(c, chunkMagic)
	le.PutUint64(c[8:], 1)
	le.PutUint64(c[16:], 1)
	le.PutUint64(c[24:], 1)
	le.PutUint64(c[32:], 1)
	le.PutUint32(c[40:], 128)
	R := chunkHdrSize
	B := R + 24
	w := B
	put := func(b ...byte) { w += copy(c[w:], b) }
	u16 := func(v int) { le.PutUint16(c[w:], uint16(v)); w += 2 }
	u32 := func(v int) { le.PutUint32(c[w:], uint32(v)); w += 4 }
	put(0x0F, 1, 1, 0)
	put(0x0C, 1)
	u32(1)
	def := w + 4
	u32(def)
	u32(0)
	w += 16
	u32(4 + 4*K + 1)
	put(0x0F, 1, 1, 0)
	for i := 0; i < K; i++ {
		put(0x0D, 0, 0, 0x21)
	}
	put(0)
	// Value sizes: level L holds 18 bytes of its own and level L+1.
	size := func(level int) int { return 18*(D-level) + 1 }
	u32(1)
	u16(size(0))
	put(0x21, 0)
	for level := 0; level < D; level++ {
		put(0x0C, 1)
		u32(1)
		u32(def)
		u32(1)
		u16(size(level + 1))
		put(0x21, 0)
	}
	put(0) // innermost value: an empty fragment
	put(0) // end of the record's fragment
	rsize := (w - R + 4 + 7) &^ 7
	copy(c[R:], "**\x00\x00")
	le.PutUint32(c[R+4:], uint32(rsize))
	le.PutUint64(c[R+8:], 1)
	le.PutUint32(c[R+rsize-4:], uint32(rsize))
	le.PutUint32(c[0x30:], uint32(R+rsize))
	fixCRCs(c)
	in := append(append(multiChunk(t, evtxFiles(t)[:1])[:fileHeaderSize:fileHeaderSize], c...), multiChunk(t, evtxFiles(t)[:1])[fileHeaderSize:]...)
	start := time.Now()
	got := decodeBytes(t, in)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("fan-out chunk took %v", d)
	}
	if len(got.rejects) != 1 || got.rejects[0].Reason != "corrupt EVTX record" || !strings.Contains(got.rejects[0].Detail, "too many") || len(got.events) == 0 {
		t.Fatalf("rejects %+v, %d events", got.rejects, len(got.events))
	}
}

// TestManyMembers: a record with 80,000 EventData members converts in
// linear time (raw's duplicate check once was quadratic). Not a speed
// target: 8 times the members must cost well under 64 times the time
// (quadratic), whatever the machine's speed or the race detector.
func TestManyMembers(t *testing.T) {
	record := func(n int) []byte {
		var b strings.Builder
		b.WriteString(`{"Event":{"System":{"EventID":1,"Channel":"Security","Computer":"h","EventRecordID":1,` +
			`"TimeCreated":{"#attributes":{"SystemTime":"2024-01-02T03:04:05Z"}}},"EventData":{`)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":1`, i)
		}
		b.WriteString(`,"k5":2}}}`)
		return []byte(b.String())
	}
	var e event.Event
	fastest := func(rec []byte) time.Duration {
		best := time.Duration(1 << 62)
		for range 3 {
			start := time.Now()
			if err := Convert(rec, &e); err != nil {
				t.Fatal(err)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	small, large := fastest(record(10000)), fastest(record(80000))
	if ratio := float64(large) / float64(max(small, time.Microsecond)); ratio > 32 {
		t.Fatalf("80k members took %v, 10k took %v: %.0f times as long for 8 times the members (quadratic)", large, small, ratio)
	}
	if raw := rawMap(t, &e); len(raw) < 80000 || fmt.Sprint(raw["k5"]) != "1" {
		t.Fatalf("raw has %d members, k5 = %v (the first wins)", len(raw), raw["k5"])
	}
}
