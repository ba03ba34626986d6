package lake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/spoor-dev/spoor/internal/event"
)

// A WAL record is one batch of normalised events:
//
//	byte    version (1)
//	uvarint uncompressed length
//	...     zstd frame of: uvarint count, then per event:
//	        uint64 Set, uint64 Lifted, the present fields in FieldID order
//	        (string: uvarint len + bytes; int/time/bool: varint;
//	        list: uvarint n + n strings), uvarint len(raw) + raw,
//	        uvarint len(meta) + meta
const batchVersion = 1

// maxBatchBytes bounds a decoded batch, so a corrupt length cannot make the
// decoder allocate without limit.
const maxBatchBytes = 256 << 20

var (
	encoders = sync.Pool{New: func() any {
		e, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
		return e
	}}
	decoders = sync.Pool{New: func() any {
		d, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxBatchBytes))
		return d
	}}
)

// encodeBatch appends the WAL record of evs to dst.
func encodeBatch(dst []byte, evs []*event.Event) []byte {
	size := 16
	for _, e := range evs {
		size += len(e.Raw) + len(e.Meta) + 512
	}
	plain := make([]byte, 0, size)
	plain = binary.AppendUvarint(plain, uint64(len(evs)))
	for _, e := range evs {
		plain = appendFields(plain, e)
		plain = binary.AppendUvarint(plain, uint64(len(e.Raw)))
		plain = append(plain, e.Raw...)
		plain = binary.AppendUvarint(plain, uint64(len(e.Meta)))
		plain = append(plain, e.Meta...)
	}
	dst = append(dst, batchVersion)
	dst = binary.AppendUvarint(dst, uint64(len(plain)))
	enc := encoders.Get().(*zstd.Encoder)
	dst = enc.EncodeAll(plain, dst)
	encoders.Put(enc)
	return dst
}

// appendFields appends an event's Set, Lifted and present typed fields.
func appendFields(plain []byte, e *event.Event) []byte {
	plain = binary.LittleEndian.AppendUint64(plain, e.Set)
	plain = binary.LittleEndian.AppendUint64(plain, e.Lifted)
	// The present fields only, in FieldID order: most of the catalog is
	// absent from any one event.
	catalog := event.Catalog()
	for set := e.Set; set != 0; set &= set - 1 {
		id := event.FieldID(bits.TrailingZeros64(set))
		switch catalog[id].Kind {
		case event.KindString:
			plain = appendString(plain, e.Str[id])
		case event.KindList:
			l := e.List(id)
			plain = binary.AppendUvarint(plain, uint64(len(l)))
			for _, s := range l {
				plain = appendString(plain, s)
			}
		default:
			plain = binary.AppendVarint(plain, e.Int[id])
		}
	}
	return plain
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errBatch = errors.New("corrupt event batch")

// decodeBatch reads a WAL record back into events.
func decodeBatch(rec []byte) ([]event.Event, error) {
	if len(rec) < 2 || rec[0] != batchVersion {
		return nil, fmt.Errorf("%w: unknown version", errBatch)
	}
	n, k := binary.Uvarint(rec[1:])
	if k <= 0 || n > maxBatchBytes {
		return nil, fmt.Errorf("%w: bad length", errBatch)
	}
	dec := decoders.Get().(*zstd.Decoder)
	plain, err := dec.DecodeAll(rec[1+k:], make([]byte, 0, n))
	decoders.Put(dec)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBatch, err)
	}
	if uint64(len(plain)) != n {
		return nil, fmt.Errorf("%w: length mismatch", errBatch)
	}
	r := reader{b: plain}
	count := r.uvarint()
	if count > uint64(len(plain))/16 {
		return nil, fmt.Errorf("%w: bad count", errBatch)
	}
	evs := make([]event.Event, count)
	for i := range evs {
		e := &evs[i]
		if err := r.fields(e); err != nil {
			return nil, err
		}
		e.Raw = []byte(r.string())
		if m := r.string(); m != "" {
			e.Meta = []byte(m)
		}
		if r.err {
			return nil, fmt.Errorf("%w: truncated", errBatch)
		}
	}
	if e := uint64(event.NumFields); e < 64 {
		for i := range evs {
			if evs[i].Set>>e != 0 || evs[i].Lifted>>e != 0 {
				return nil, fmt.Errorf("%w: unknown fields", errBatch)
			}
		}
	}
	return evs, nil
}

// reader decodes without panicking; err sticks once data runs out.
type reader struct {
	b   []byte
	err bool
	// view: strings point into b instead of being copied (runs.go: b is
	// a record's own buffer, kept while its events are).
	view bool
}

// fields reads what appendFields wrote.
func (r *reader) fields(e *event.Event) error {
	e.Set = r.uint64()
	e.Lifted = r.uint64()
	catalog := event.Catalog()
	if e.Set>>len(catalog) != 0 {
		return fmt.Errorf("%w: unknown fields", errBatch)
	}
	for set := e.Set; set != 0; set &= set - 1 {
		id := event.FieldID(bits.TrailingZeros64(set))
		switch catalog[id].Kind {
		case event.KindString:
			e.Str[id] = r.string()
		case event.KindList:
			m := r.uvarint()
			if m > uint64(r.left()) {
				return fmt.Errorf("%w: bad list length", errBatch)
			}
			l := make([]string, m)
			for j := range l {
				l[j] = r.string()
			}
			e.SetList(id, l)
		default:
			e.Int[id] = r.varint()
		}
	}
	return nil
}

func (r *reader) left() int { return len(r.b) }

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uint64() uint64 {
	if len(r.b) < 8 {
		r.err, r.b = true, nil
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err, r.b = true, nil
		return ""
	}
	var s string
	if r.view {
		s = unsafeString(r.b[:n])
	} else {
		s = string(r.b[:n])
	}
	r.b = r.b[n:]
	return s
}
