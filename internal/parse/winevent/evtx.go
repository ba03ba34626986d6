package winevent

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
)

const (
	evtxMagic      = "ElfFile\x00"
	chunkMagic     = "ElfChnk\x00"
	fileHeaderSize = 4096
	chunkSize      = 0x10000
	chunkHdrSize   = 0x200
	// maxChunkRecords bounds the records one chunk can hold (a record is
	// at least 24 bytes of header).
	maxChunkRecords = (chunkSize - chunkHdrSize) / 24
)

// DetectEVTX reports whether an input starts like an EVTX file.
func DetectEVTX(head []byte) bool { return bytes.HasPrefix(head, []byte(evtxMagic)) }

// Decoder reads an EVTX file as a stream: the 4 KiB file header, then one
// 64 KiB chunk at a time, so memory stays bounded whatever the file's size
// and it reads from a zip entry or a gzip stream as well as from a file.
// A chunk whose header or record checksums do not match, or that the
// reader cannot walk, is rejected as "corrupt EVTX chunk" and reading goes
// on with the next one.
type Decoder struct{}

var _ parse.Decoder = Decoder{}

// Decode implements parse.Decoder.
func (Decoder) Decode(ctx context.Context, r io.Reader, out parse.Output) error {
	var hdr [fileHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("evtx: truncated file header")
		}
		return err
	}
	if !DetectEVTX(hdr[:]) {
		return fmt.Errorf("evtx: not an EVTX file (no ElfFile magic)")
	}
	// Chunks start at the header block size, 4096 in every file Windows writes.
	if hbs := int64(binary.LittleEndian.Uint16(hdr[0x28:])); hbs > fileHeaderSize && hbs <= chunkSize {
		if _, err := io.CopyN(io.Discard, r, hbs-fileHeaderSize); err != nil {
			return fmt.Errorf("evtx: truncated file header")
		}
	}
	st := states.Get().(*decodeState)
	defer states.Put(st)
	buf, p := st.buf[:], &st.p
	var n int64 // records read so far
	for c := 1; ; c++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, err := io.ReadFull(r, buf)
		if err == io.EOF {
			return nil
		}
		if err == io.ErrUnexpectedEOF {
			if !allZero(buf[:k]) {
				out.Reject(parse.Rejection{Record: n + 1, Reason: "corrupt EVTX chunk", Detail: fmt.Sprintf("chunk %d truncated at %d bytes", c, k)})
			}
			return nil
		}
		if err != nil {
			return err
		}
		recs, detail := readChunk(buf)
		if detail != "" {
			if detail != "empty" {
				out.Reject(parse.Rejection{Record: n + 1, Reason: "corrupt EVTX chunk", Detail: fmt.Sprintf("chunk %d: %s", c, detail)})
			}
			continue
		}
		p.reset(buf)
		for _, off := range recs {
			n++
			e := new(event.Event)
			if err := evtxRecord(p, off, e); err != nil {
				out.Reject(parse.Rejection{Record: n, Reason: "corrupt EVTX record", Detail: fmt.Sprintf("chunk %d record %d: %v", c, binary.LittleEndian.Uint64(buf[off+8:]), err)})
				continue
			}
			if err := out.Event(e); err != nil {
				return err
			}
		}
		if want := chunkRecordCount(buf); want > 0 && int64(len(recs)) < want {
			out.Reject(parse.Rejection{Record: n + 1, Reason: "corrupt EVTX record", Detail: fmt.Sprintf("chunk %d: read %d of its %d records", c, len(recs), want)})
		}
	}
}

// decodeState is what one Decode reuses: the chunk buffer and the parser.
type decodeState struct {
	buf [chunkSize]byte
	p   chunkParser
}

var states = sync.Pool{New: func() any { return new(decodeState) }}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func chunkRecordCount(b []byte) int64 {
	first := binary.LittleEndian.Uint64(b[8:])
	last := binary.LittleEndian.Uint64(b[16:])
	if last < first || last-first >= maxChunkRecords {
		return 0
	}
	return int64(last-first) + 1
}

// readChunk checks one chunk and returns the offsets of its records.
// detail is "" for a good chunk, "empty" for an unused one, what is wrong
// otherwise.
func readChunk(b []byte) (recs []int, detail string) {
	if string(b[:8]) != chunkMagic {
		if allZero(b) {
			return nil, "empty"
		}
		return nil, "no ElfChnk magic"
	}
	h := crc32.NewIEEE()
	h.Write(b[:0x78])
	h.Write(b[0x80:chunkHdrSize])
	if h.Sum32() != binary.LittleEndian.Uint32(b[0x7C:]) {
		return nil, "header checksum mismatch"
	}
	free := binary.LittleEndian.Uint32(b[0x30:])
	if free < chunkHdrSize || free > chunkSize {
		return nil, "free space offset " + strconv.FormatUint(uint64(free), 10) + " out of the chunk"
	}
	if crc32.ChecksumIEEE(b[chunkHdrSize:free]) != binary.LittleEndian.Uint32(b[0x34:]) {
		return nil, "records checksum mismatch"
	}
	want := chunkRecordCount(b)
	if want == 0 {
		return nil, "bad record number range"
	}
	recs = validRecords(b[:free], want)
	if len(recs) == 0 {
		return nil, "no readable record"
	}
	return recs, ""
}

// validRecords returns the offsets of the records from the chunk's start
// whose header is sound: magic, a size that stays in the chunk's used
// part, and the copy of the size at the record's end.
func validRecords(b []byte, want int64) []int {
	off := chunkHdrSize
	var out []int
	for int64(len(out)) < want && off+28 <= len(b) {
		if string(b[off:off+4]) != "**\x00\x00" {
			break
		}
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		if size < 28 || size > len(b)-off || int(binary.LittleEndian.Uint32(b[off+size-4:])) != size {
			break
		}
		out = append(out, off)
		off += size
	}
	return out
}

// evtxRecord converts the record at off of the chunk p reads.
func evtxRecord(p *chunkParser, off int, e *event.Event) error {
	size := int(binary.LittleEndian.Uint32(p.b[off+4:]))
	ev, err := p.record(off+24, off+size-4)
	if err != nil {
		return err
	}
	sys := ev.kid("System")
	if sys == nil {
		return errors.New("no System element")
	}
	r := rec{data: p.kvs[:0]}
	o := rawObj{b: p.scratch[:0], names: p.rawNames[:0]}
	defer func() {
		// Raw is a copy (bytes.Clone in the return below); keep the buffers.
		p.scratch, p.rawNames, p.kvs = o.b[:0], o.names[:0], r.data[:0]
	}()
	if d := ev.kid("EventData"); d != nil {
		dataXML(&o, &r, d)
	} else if d := ev.kid("UserData"); d != nil && len(d.kids) > 0 {
		dataXML(&o, &r, d.kids[0])
	}
	if id := sys.kid("EventID"); id != nil {
		r.id, r.hasID = parseNum(joinVals(id.vals))
	}
	r.channel = text1(sys.kid("Channel"))
	r.computer = text1(sys.kid("Computer"))
	prov := sys.kid("Provider")
	if prov != nil {
		r.provider = prov.attr("Name")
	}
	r.recNum, r.hasRec = int64(binary.LittleEndian.Uint64(p.b[off+8:])), true
	if n, ok := parseNum(text1(sys.kid("EventRecordID"))); ok {
		r.recNum = n
	}
	tc := ""
	if t := sys.kid("TimeCreated"); t != nil {
		tc = t.attr("SystemTime")
		if tc == "" {
			// A FILETIME of 0 (no time): event_time is required, so it is
			// FILETIME's own zero, 1601-01-01; raw has no TimeCreated.
			r.ms, r.hasTime = -filetimeEpoch*1000, true
		} else {
			tm, err := time.Parse(time.RFC3339Nano, tc)
			if err != nil {
				return &event.RejectError{Reason: event.ReasonBadTime, Detail: strconv.Quote(truncate(tc, 64))}
			}
			r.ms, r.hasTime = tm.UnixMilli(), true
		}
	}
	r.task, r.hasTask = parseNum(text1(sys.kid("Task")))
	if n, ok := parseNum(text1(sys.kid("Keywords"))); ok {
		r.keywords, r.hasKW = uint64(n), true
	}
	o.elem("EventID", sys.kid("EventID"))
	o.str("Channel", r.channel)
	o.str("Computer", r.computer)
	o.str("Provider", r.provider)
	if prov != nil {
		o.str("ProviderGuid", guidValue("ProviderGuid", prov.attr("Guid")))
	}
	if o.key("EventRecordID") {
		o.b = strconv.AppendInt(o.b, r.recNum, 10)
	}
	o.str("TimeCreated", tc)
	for _, k := range [...]string{"Level", "Task", "Opcode", "Keywords", "Version"} {
		o.elem(k, sys.kid(k))
	}
	if x := sys.kid("Execution"); x != nil {
		o.attr("ExecutionProcessID", x, "ProcessID")
		o.attr("ExecutionThreadID", x, "ThreadID")
	}
	if x := sys.kid("Security"); x != nil {
		o.str("UserID", x.attr("UserID"))
	}
	if x := sys.kid("Correlation"); x != nil {
		o.str("ActivityID", guidValue("ActivityID", x.attr("ActivityID")))
	}
	if ri := ev.kid("RenderingInfo"); ri != nil {
		r.message = text1(ri.kid("Message"))
		r.category = text1(ri.kid("Task"))
		o.str("Message", r.message)
	}
	return fill(e, &r, bytes.Clone(o.bytes()))
}

func text1(e *xelem) string {
	if e == nil {
		return ""
	}
	return joinVals(e.vals)
}

// dataXML adds the members of EventData (or of UserData's element) to raw
// and r.data: <Data Name="X">v</Data> as X, unnamed <Data> as "Data" (a
// list when several), other elements under their own name, the
// element's own attributes (but xmlns) as members too.
func dataXML(o *rawObj, r *rec, d *xelem) {
	for _, a := range d.attrs {
		if a.name != "xmlns" {
			v := joinVals(a.val)
			o.str(a.name, v)
			r.data = append(r.data, kv{a.name, v})
		}
	}
	var unnamed []*xelem
	for _, k := range d.kids {
		name := k.name
		if name == "Data" {
			if n := k.attr("Name"); n != "" {
				name = n
			} else {
				unnamed = append(unnamed, k)
				continue
			}
		}
		v := joinVals(k.vals)
		if g := guidValue(name, v); g != v && len(k.kids) == 0 {
			// A GUID written as text (not typed): the one form too.
			o.str(name, g)
			r.data = append(r.data, kv{name, g})
			continue
		}
		if o.key(name) {
			o.b = appendElem(o.b, k, 0)
		}
		r.data = append(r.data, kv{name, v})
	}
	switch {
	case len(unnamed) == 1:
		if o.key("Data") {
			o.b = appendElem(o.b, unnamed[0], 0)
		}
		r.data = append(r.data, kv{"Data", joinVals(unnamed[0].vals)})
	case len(unnamed) > 1:
		if o.key("Data") {
			o.b = append(o.b, '[')
			for i, k := range unnamed {
				if i > 0 {
					o.b = append(o.b, ',')
				}
				o.b = appendElem(o.b, k, 0)
			}
			o.b = append(o.b, ']')
		}
	}
	if len(d.kids) == 0 && len(d.vals) > 0 {
		v := joinVals(d.vals)
		o.str("Data", v)
		r.data = append(r.data, kv{"Data", v})
	}
}

// appendElem writes an element's value: a JSON number or boolean for one
// such value, a string for text, null for nothing, an object of its
// children (and attributes) for an element with children; "" for no
// value, as evtx_dump.
func appendElem(b []byte, e *xelem, depth int) []byte {
	if len(e.kids) > 0 && depth < 16 {
		b = append(b, '{')
		n := 0
		for _, a := range e.attrs {
			if a.name == "xmlns" {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = event.AppendJSONString(b, a.name)
			b = append(b, ':')
			b = event.AppendJSONString(b, joinVals(a.val))
		}
		for _, k := range e.kids {
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = event.AppendJSONString(b, k.name)
			b = append(b, ':')
			b = appendElem(b, k, depth+1)
		}
		return append(b, '}')
	}
	switch {
	case len(e.vals) == 0:
		return append(b, `""`...)
	case len(e.vals) == 1 && e.vals[0].lit:
		return append(b, e.vals[0].s...)
	}
	return event.AppendJSONString(b, joinVals(e.vals))
}

func (o *rawObj) elem(k string, e *xelem) {
	if e != nil && len(e.vals) > 0 && o.key(k) {
		o.b = appendElem(o.b, e, 0)
	}
}

func (o *rawObj) attr(k string, e *xelem, name string) {
	for _, a := range e.attrs {
		if a.name == name && len(a.val) > 0 && o.key(k) {
			if len(a.val) == 1 && a.val[0].lit {
				o.b = append(o.b, a.val[0].s...)
			} else {
				o.b = event.AppendJSONString(o.b, joinVals(a.val))
			}
			return
		}
	}
}
