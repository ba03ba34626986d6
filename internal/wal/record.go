package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

const (
	headerSize = 12
	magic      = "spw\x01" // the last byte is the format version
)

// castagnoli is read-only after init.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CorruptionError describes invalid data found in a segment. Records from
// Offset to the end of the segment are not replayed: in the last segment
// they have been truncated, in an earlier one they are skipped.
type CorruptionError struct {
	Segment int
	Offset  int64  // offset of the first invalid record
	Reason  string // e.g. "crc mismatch", "zero-filled tail", "missing segments 3-4"
	Skipped int64  // bytes from Offset to the end of the segment
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("wal segment %d offset %d: %s (%d bytes skipped)", e.Segment, e.Offset, e.Reason, e.Skipped)
}

// recordCRC returns the checksum of a record with header hdr and payload p.
func recordCRC(hdr []byte, p []byte) uint32 {
	return crc32.Update(crc32.Checksum(hdr[:8], castagnoli), castagnoli, p)
}

// putHeader fills hdr with the header of a record holding p.
func putHeader(hdr *[headerSize]byte, p []byte) {
	copy(hdr[:4], magic)
	binary.LittleEndian.PutUint32(hdr[4:8], uint32(len(p)))
	binary.LittleEndian.PutUint32(hdr[8:12], recordCRC(hdr[:], p))
}

// segmentReader reads the records of one segment from off up to limit (the
// segment size, or the durable size of the active segment). It allocates at
// most one buffer, never larger than the bytes left before limit.
type segmentReader struct {
	r     *bufio.Reader
	off   int64 // offset of the next record
	limit int64
	max   int // largest accepted payload
	hdr   [headerSize]byte
	buf   []byte
}

func (sr *segmentReader) reset(r io.Reader, off, limit int64) {
	if sr.r == nil {
		sr.r = bufio.NewReaderSize(r, 256<<10)
	} else {
		sr.r.Reset(r)
	}
	sr.off, sr.limit = off, limit
}

// next returns the next record's offset and payload; the payload is valid
// until the following call. It returns io.EOF at limit and a
// *CorruptionError (Segment unset) at the first invalid record, after which
// the reader must not be used.
func (sr *segmentReader) next() (int64, []byte, error) {
	off := sr.off
	left := sr.limit - off
	if left <= 0 {
		return off, nil, io.EOF
	}
	hdr := sr.hdr[:min(left, headerSize)]
	if _, err := io.ReadFull(sr.r, hdr); err != nil {
		return off, nil, sr.readErr(off, err)
	}
	if allZero(hdr) {
		return off, nil, sr.corrupt(off, "zero-filled tail")
	}
	if len(hdr) < headerSize {
		return off, nil, sr.corrupt(off, fmt.Sprintf("torn header: %d of %d bytes", len(hdr), headerSize))
	}
	if string(hdr[:4]) != magic {
		return off, nil, sr.corrupt(off, fmt.Sprintf("bad magic %q", hdr[:4]))
	}
	n := binary.LittleEndian.Uint32(hdr[4:8])
	if uint64(n) > uint64(sr.max) {
		return off, nil, sr.corrupt(off, fmt.Sprintf("record length %d exceeds limit %d", n, sr.max))
	}
	if int64(n) > left-headerSize {
		return off, nil, sr.corrupt(off, fmt.Sprintf("torn record: length %d, %d bytes left", n, left-headerSize))
	}
	if cap(sr.buf) < int(n) {
		sr.buf = make([]byte, n)
	}
	p := sr.buf[:n]
	if _, err := io.ReadFull(sr.r, p); err != nil {
		return off, nil, sr.readErr(off, err)
	}
	if got, want := recordCRC(hdr, p), binary.LittleEndian.Uint32(hdr[8:12]); got != want {
		return off, nil, sr.corrupt(off, fmt.Sprintf("crc mismatch: stored %08x, computed %08x", want, got))
	}
	sr.off += headerSize + int64(n)
	return off, p, nil
}

func (sr *segmentReader) corrupt(off int64, reason string) error {
	return &CorruptionError{Offset: off, Reason: reason, Skipped: sr.limit - off}
}

// readErr treats a file that ends before limit as corrupt (it was cut
// under us) and passes other read errors through.
func (sr *segmentReader) readErr(off int64, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return sr.corrupt(off, "unexpected end of file")
	}
	return err
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
