package winevent

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"
)

// value formats a substitution value as evtx_dump does: numbers as JSON
// numbers, HexInt as "0x..", FILETIME and SYSTEMTIME as RFC 3339 UTC,
// binary as upper-case hex; GUIDs, unlike evtx_dump, lowercase in braces.
func (p *chunkParser) value(s sub) (xval, error) {
	b := p.b[s.off : s.off+s.size]
	le := binary.LittleEndian
	num := func(u uint64) xval { return xval{s: strconv.FormatUint(u, 10), lit: true} }
	inum := func(i int64) xval { return xval{s: strconv.FormatInt(i, 10), lit: true} }
	need := func(n int) bool { return len(b) >= n }
	switch s.typ {
	case 0x01: // UTF-16 string
		str, err := p.utf16At(s.off, s.size/2)
		if err != nil {
			return xval{}, err
		}
		return xval{s: trimNUL(str)}, nil
	case 0x02: // ANSI string
		p.text += len(b)
		return xval{s: trimNUL(string(b))}, nil
	case 0x03:
		if need(1) {
			return inum(int64(int8(b[0]))), nil
		}
	case 0x04:
		if need(1) {
			return num(uint64(b[0])), nil
		}
	case 0x05:
		if need(2) {
			return inum(int64(int16(le.Uint16(b)))), nil
		}
	case 0x06:
		if need(2) {
			return num(uint64(le.Uint16(b))), nil
		}
	case 0x07:
		if need(4) {
			return inum(int64(int32(le.Uint32(b)))), nil
		}
	case 0x08:
		if need(4) {
			return num(uint64(le.Uint32(b))), nil
		}
	case 0x09:
		if need(8) {
			return inum(int64(le.Uint64(b))), nil
		}
	case 0x0A:
		if need(8) {
			return num(le.Uint64(b)), nil
		}
	case 0x0B:
		if need(4) {
			return float(float64(math.Float32frombits(le.Uint32(b)))), nil
		}
	case 0x0C:
		if need(8) {
			return float(math.Float64frombits(le.Uint64(b))), nil
		}
	case 0x0D:
		if need(4) {
			return xval{s: strconv.FormatBool(le.Uint32(b) != 0), lit: true}, nil
		}
	case 0x0E:
		return xval{s: upperHex(b)}, nil
	case 0x0F:
		if need(16) {
			return xval{s: guid(b)}, nil
		}
	case 0x10: // size_t, shown in hex
		if len(b) == 4 {
			return xval{s: "0x" + strconv.FormatUint(uint64(le.Uint32(b)), 16)}, nil
		}
		if need(8) {
			return xval{s: "0x" + strconv.FormatUint(le.Uint64(b), 16)}, nil
		}
	case 0x11:
		if need(8) {
			return xval{s: filetime(le.Uint64(b)).Format(timeLayout)}, nil
		}
	case 0x12:
		if need(16) {
			t := time.Date(int(le.Uint16(b)), time.Month(le.Uint16(b[2:])), int(le.Uint16(b[6:])),
				int(le.Uint16(b[8:])), int(le.Uint16(b[10:])), int(le.Uint16(b[12:])), int(le.Uint16(b[14:]))*1e6, time.UTC)
			return xval{s: t.Format(timeLayout)}, nil
		}
	case 0x13:
		if sid, ok := sidString(b); ok {
			return xval{s: sid}, nil
		}
	case 0x14:
		if need(4) {
			return xval{s: "0x" + strconv.FormatUint(uint64(le.Uint32(b)), 16)}, nil
		}
	case 0x15:
		if need(8) {
			return xval{s: "0x" + strconv.FormatUint(le.Uint64(b), 16)}, nil
		}
	case 0x81: // array of UTF-16 strings: shown one per line
		str, err := p.utf16At(s.off, s.size/2)
		if err != nil {
			return xval{}, err
		}
		str = trimNUL(str)
		out := []byte(str)
		for i, c := range out {
			if c == 0 {
				out[i] = '\n'
			}
		}
		return xval{s: string(out)}, nil
	default:
		// Other arrays and unknown types: their bytes in hex.
		return xval{s: upperHex(b)}, nil
	}
	return xval{}, errBinXML
}

const timeLayout = "2006-01-02T15:04:05.000000Z"

func float(f float64) xval {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return xval{s: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	return xval{s: strconv.FormatFloat(f, 'g', -1, 64), lit: true}
}

func trimNUL(s string) string {
	for len(s) > 0 && s[len(s)-1] == 0 {
		s = s[:len(s)-1]
	}
	return s
}

// filetime converts 100 ns intervals since 1601 to a time, exactly for
// every value: whole seconds first (at most 1.8e12 of them), so times
// before 1970 do not overflow a time.Duration.
func filetime(ft uint64) time.Time {
	return time.Unix(int64(ft/1e7)-filetimeEpoch, int64(ft%1e7)*100).UTC()
}

// filetimeEpoch is 1601-01-01 (FILETIME's zero) in Unix seconds, negated.
const filetimeEpoch = 11644473600

func sidString(b []byte) (string, bool) {
	if len(b) < 8 {
		return "", false
	}
	n := int(b[1])
	if len(b) < 8+4*n {
		return "", false
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	out := []byte("S-")
	out = strconv.AppendUint(out, uint64(b[0]), 10)
	out = append(out, '-')
	out = strconv.AppendUint(out, auth, 10)
	for i := 0; i < n; i++ {
		out = append(out, '-')
		out = strconv.AppendUint(out, uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10)
	}
	return string(out), true
}
