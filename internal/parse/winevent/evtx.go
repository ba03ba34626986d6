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
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
	vevtx "www.velocidex.com/golang/evtx"
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
	if hbs := int64(binary.LittleEndian.Uint16(hdr[0x2A:])); hbs > fileHeaderSize && hbs <= chunkSize {
		if _, err := io.CopyN(io.Discard, r, hbs-fileHeaderSize); err != nil {
			return fmt.Errorf("evtx: truncated file header")
		}
	}
	buf := make([]byte, chunkSize)
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
		for _, rc := range recs {
			n++
			e := new(event.Event)
			if err := fromEVTX(rc, e); err != nil {
				out.Reject(parse.Rejection{Record: n, Reason: "corrupt EVTX record", Detail: fmt.Sprintf("chunk %d record %d: %v", c, rc.Header.RecordID, err)})
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

// readChunk checks one chunk and walks its records. detail is "" for a
// good chunk, "empty" for an unused one, what is wrong otherwise.
func readChunk(b []byte) (recs []*vevtx.EventRecord, detail string) {
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
	// Walk the record headers first: the reader trusts their sizes (a size
	// of 0 would have it read the same record again and again).
	good := validRecords(b[:free], want)
	if good == 0 {
		return nil, "no readable record"
	}
	ch := &vevtx.Chunk{Fd: bytes.NewReader(b)}
	ch.Header.FirstEventRecNumber = binary.LittleEndian.Uint64(b[8:])
	ch.Header.LastEventRecNumber = ch.Header.FirstEventRecNumber + uint64(good) - 1
	ch.Header.FirstEventRecID = binary.LittleEndian.Uint64(b[24:])
	ch.Header.LastEventRecID = binary.LittleEndian.Uint64(b[32:])
	ch.Header.HeaderSize = binary.LittleEndian.Uint32(b[40:])
	defer func() {
		if p := recover(); p != nil {
			recs, detail = nil, fmt.Sprintf("unreadable: %v", p)
		}
	}()
	recs, err := ch.Parse(0)
	if err != nil {
		return nil, err.Error()
	}
	return recs, ""
}

// validRecords counts the records from the chunk's start whose header is
// sound: magic, a size that stays in the chunk's used part, and the copy
// of the size at the record's end.
func validRecords(b []byte, want int64) int64 {
	off, n := chunkHdrSize, int64(0)
	for n < want && off+28 <= len(b) {
		if string(b[off:off+4]) != "**\x00\x00" {
			break
		}
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		if size < 28 || size > len(b)-off || int(binary.LittleEndian.Uint32(b[off+size-4:])) != size {
			break
		}
		off += size
		n++
	}
	return n
}

func dictOf(v any) *ordereddict.Dict {
	d, _ := v.(*ordereddict.Dict)
	return d
}

func dget(d *ordereddict.Dict, keys ...string) any {
	var v any = d
	for _, k := range keys {
		dd := dictOf(v)
		if dd == nil {
			return nil
		}
		v, _ = dd.Get(k)
	}
	return v
}

// hexNames are the EventData members Windows types as HexInt32/HexInt64.
// The EVTX reader returns those as plain numbers; they are written back as
// "0x.." text, as evtx_dump, NXLog and Winlogbeat show them.
var hexNames = map[string]bool{
	"LogonId": true, "SubjectLogonId": true, "TargetLogonId": true, "TargetLinkedLogonId": true,
	"GrantedAccess": true, "AccessMask": true, "NewProcessId": true, "Error Code": true,
	"ResultCode": true, "Status": true, "SubStatus": true, "HandleId": true, "Keywords": true,
}

// goText is a value's text for the mapping, as Convert would see it in
// evtx_dump JSON.
func goText(name string, v any, security bool) (string, any) {
	switch x := v.(type) {
	case string:
		return x, x
	case uint8, uint16, uint32, uint64:
		var u uint64
		switch y := x.(type) {
		case uint8:
			u = uint64(y)
		case uint16:
			u = uint64(y)
		case uint32:
			u = uint64(y)
		case uint64:
			u = y
		}
		if hexNames[name] || (security && name == "ProcessId") {
			s := "0x" + strconv.FormatUint(u, 16)
			return s, s
		}
		return strconv.FormatUint(u, 10), v
	case bool:
		return strconv.FormatBool(x), v
	case float64:
		if t, ok := filetimeFloat(x); ok {
			s := t.Format("2006-01-02T15:04:05.999999Z07:00")
			return s, s
		}
	case []byte:
		s := upperHex(x)
		return s, s
	}
	return "", v
}

func fromEVTX(rc *vevtx.EventRecord, e *event.Event) error {
	root := dictOf(rc.Event)
	ev := dictOf(dget(root, "Event"))
	sys := dictOf(dget(ev, "System"))
	if sys == nil {
		return errors.New("no System element")
	}
	var r rec
	r.channel, _ = dget(sys, "Channel").(string)
	security := strings.EqualFold(r.channel, "Security")
	var o rawObj
	data := dictOf(dget(ev, "EventData"))
	if data == nil {
		if ud := dictOf(dget(ev, "UserData")); ud != nil && ud.Len() == 1 {
			inner, _ := ud.Get(ud.Keys()[0])
			data = dictOf(inner)
		}
	}
	if data != nil {
		for _, k := range data.Keys() {
			v, _ := data.Get(k)
			if k == "xmlns" {
				continue
			}
			t, out := goText(k, v, security)
			if o.key(k) {
				o.b = appendGo(o.b, out, 0)
			}
			r.data = append(r.data, kv{k, t})
		}
	} else if v := dget(ev, "EventData"); v != nil {
		// <EventData>text</EventData> or a list of unnamed <Data>.
		if o.key("Data") {
			o.b = appendGo(o.b, v, 0)
		}
	}
	idv := dget(sys, "EventID")
	if d := dictOf(idv); d != nil {
		idv, _ = d.Get("Value")
	}
	if s, _ := goText("", idv, false); s != "" {
		r.id, r.hasID = parseNum(s)
	}
	r.computer, _ = dget(sys, "Computer").(string)
	r.provider, _ = dget(sys, "Provider", "Name").(string)
	r.recNum, r.hasRec = int64(rc.Header.RecordID), true
	if s, _ := goText("", dget(sys, "EventRecordID"), false); s != "" {
		r.recNum, r.hasRec = parseNum(s)
	}
	tc := ""
	if f, ok := dget(sys, "TimeCreated", "SystemTime").(float64); ok {
		if t, ok := filetimeFloat(f); ok {
			r.ms, r.hasTime = t.UnixMilli(), true
			tc = t.Format("2006-01-02T15:04:05.000000Z")
		}
	}
	kw := ""
	if u, ok := dget(sys, "Keywords").(uint64); ok {
		r.keywords, r.hasKW = u, true
		kw = "0x" + strconv.FormatUint(u, 16)
	}
	o.key("EventID")
	o.b = appendGo(o.b, idv, 0)
	o.str("Channel", r.channel)
	o.str("Computer", r.computer)
	o.str("Provider", r.provider)
	if g, _ := dget(sys, "Provider", "Guid").(string); g != "" {
		o.str("ProviderGuid", g)
	}
	if o.key("EventRecordID") {
		o.b = strconv.AppendInt(o.b, r.recNum, 10)
	}
	o.str("TimeCreated", tc)
	for _, k := range [...]string{"Level", "Task", "Opcode"} {
		if v := dget(sys, k); v != nil && o.key(k) {
			o.b = appendGo(o.b, v, 0)
		}
	}
	o.str("Keywords", kw)
	if v := dget(sys, "Version"); v != nil && o.key("Version") {
		o.b = appendGo(o.b, v, 0)
	}
	if v := dget(sys, "Execution", "ProcessID"); v != nil && o.key("ExecutionProcessID") {
		o.b = appendGo(o.b, v, 0)
	}
	if v := dget(sys, "Execution", "ThreadID"); v != nil && o.key("ExecutionThreadID") {
		o.b = appendGo(o.b, v, 0)
	}
	if s, _ := dget(sys, "Security", "UserID").(string); s != "" {
		o.str("UserID", s)
	}
	if s, _ := dget(sys, "Correlation", "ActivityID").(string); s != "" {
		o.str("ActivityID", s)
	}
	return fill(e, &r, o.bytes())
}
