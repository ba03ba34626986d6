package gen

import (
	"math/rand/v2"
	"strconv"
)

const hexChars = "0123456789abcdef"

// gregorianOffset is the number of 100 ns ticks between 1582-10-15 (the
// epoch of version-1 UUIDs) and 1970-01-01.
const gregorianOffset = 0x01b21dd213814000

// appendUUIDv1 appends a version-1 (time-based) UUID for the time ms, with
// sub sub-millisecond ticks (0..9999), clock sequence cs and a 12-hex node.
func appendUUIDv1(b []byte, ms int64, sub uint64, cs uint16, node string) []byte {
	ts := uint64(ms)*10000 + gregorianOffset + sub%10000
	low := uint32(ts)
	mid := uint16(ts >> 32)
	hi := uint16(ts>>48)&0x0fff | 0x1000
	cs = cs&0x3fff | 0x8000
	b = appendHex(b, uint64(low), 8)
	b = append(b, '-')
	b = appendHex(b, uint64(mid), 4)
	b = append(b, '-')
	b = appendHex(b, uint64(hi), 4)
	b = append(b, '-')
	b = appendHex(b, uint64(cs), 4)
	b = append(b, '-')
	return append(b, node...)
}

// appendHex appends the n low hex digits of v.
func appendHex(b []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, hexChars[(v>>(uint(i)*4))&0xf])
	}
	return b
}

// appendUpperHex appends the n low hex digits of v in upper case.
func appendUpperHex(b []byte, v uint64, n int) []byte {
	const upper = "0123456789ABCDEF"
	for i := n - 1; i >= 0; i-- {
		b = append(b, upper[(v>>(uint(i)*4))&0xf])
	}
	return b
}

// uuidV1 returns a version-1 UUID at ms with random sub-ms ticks, clock
// sequence and the given node.
func uuidV1(r *rand.Rand, ms int64, node string) string {
	return string(appendUUIDv1(nil, ms, r.Uint64N(10000), uint16(r.Uint32()), node))
}

// randHex returns n random lowercase hex digits.
func randHex(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexChars[r.IntN(16)]
	}
	return string(b)
}

// randUpperAlnum returns n random characters of [A-Z0-9].
func randUpperAlnum(r *rand.Rand, n int) string {
	const set = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

// randDigits returns n random decimal digits, the first not zero.
func randDigits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	if b[0] == '0' {
		b[0] = '1' + byte(r.IntN(9))
	}
	return string(b)
}

// ipString renders a.b.c.d.
func ipString(a, b, c, d int) string {
	s := make([]byte, 0, 15)
	s = strconv.AppendInt(s, int64(a), 10)
	s = append(s, '.')
	s = strconv.AppendInt(s, int64(b), 10)
	s = append(s, '.')
	s = strconv.AppendInt(s, int64(c), 10)
	s = append(s, '.')
	s = strconv.AppendInt(s, int64(d), 10)
	return string(s)
}

// mix is a 64-bit finaliser (splitmix64) for deriving independent seeds.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// newRand returns a PCG-backed generator for the stream (seed, a, b).
func newRand(seed, a, b uint64) *rand.Rand {
	return rand.New(rand.NewPCG(mix(seed^mix(a)), mix(b^0x5851f42d4c957f2d^mix(a+1))))
}
