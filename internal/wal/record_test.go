package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"
)

// encode frames payloads as a segment.
func encode(payloads ...[]byte) []byte {
	var b []byte
	var hdr [headerSize]byte
	for _, p := range payloads {
		putHeader(&hdr, p)
		b = append(append(b, hdr[:]...), p...)
	}
	return b
}

func TestReaderHugeLengthAllocatesNothing(t *testing.T) {
	data := encode([]byte("ok"))
	hdr := []byte(magic + "\xff\xff\xff\x7f\x00\x00\x00\x00")
	data = append(append(data, hdr...), make([]byte, 100)...)
	sr := &segmentReader{max: 1<<32 - 1}
	sr.reset(bytes.NewReader(data), 0, int64(len(data)))
	if _, p, err := sr.next(); err != nil || string(p) != "ok" {
		t.Fatalf("first record: %q, %v", p, err)
	}
	_, _, err := sr.next()
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.Offset != headerSize+2 {
		t.Fatalf("got %v, want corruption at %d", err, headerSize+2)
	}
	if cap(sr.buf) > 2 {
		t.Fatalf("reader grew its buffer to %d bytes", cap(sr.buf))
	}
}

// FuzzReadSegment feeds arbitrary bytes to the segment reader. Whatever it
// returns must be records with valid checksums that re-encode to exactly the
// prefix it consumed, and it must stop with io.EOF only at the end.
func FuzzReadSegment(f *testing.F) {
	good := encode([]byte("first"), nil, bytes.Repeat([]byte{0xab}, 300))
	f.Add(good)
	f.Add(good[:len(good)-7])                                      // torn payload
	f.Add(good[:headerSize+3])                                     // torn header of the second record
	f.Add(append(good[:len(good):len(good)], make([]byte, 64)...)) // zero-filled tail
	f.Add([]byte(magic + "\xff\xff\xff\xff\x00\x00\x00\x00"))      // huge length
	f.Add([]byte{})
	const maxRecord = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		sr := &segmentReader{max: maxRecord}
		sr.reset(bytes.NewReader(data), 0, int64(len(data)))
		var payloads [][]byte
		var end int64
		for {
			off, p, err := sr.next()
			if err == io.EOF {
				if off != int64(len(data)) {
					t.Fatalf("EOF at %d of %d bytes", off, len(data))
				}
				break
			}
			var ce *CorruptionError
			if errors.As(err, &ce) {
				if ce.Offset != end || ce.Skipped != int64(len(data))-end || ce.Reason == "" {
					t.Fatalf("corruption %+v after a valid prefix of %d bytes", ce, end)
				}
				break
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if off != end || len(p) > maxRecord {
				t.Fatalf("record at %d of %d bytes, previous ended at %d", off, len(p), end)
			}
			hdr := data[off : off+headerSize]
			if string(hdr[:4]) != magic || binary.LittleEndian.Uint32(hdr[8:]) != crc32.Update(crc32.Checksum(hdr[:8], castagnoli), castagnoli, p) {
				t.Fatalf("record at %d has a bad header or checksum", off)
			}
			payloads = append(payloads, bytes.Clone(p))
			end = off + headerSize + int64(len(p))
		}
		if cap(sr.buf) > len(data) {
			t.Fatalf("buffer of %d bytes for %d bytes of input", cap(sr.buf), len(data))
		}
		if got := encode(payloads...); !bytes.Equal(got, data[:end]) {
			t.Fatalf("records re-encode to %d bytes, consumed %d", len(got), end)
		}
	})
}
