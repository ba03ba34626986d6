package event

import (
	"bytes"
	"github.com/cespare/xxhash/v2"
)

type seenValue struct {
	key, text []byte
	filled    []filledField
}

type filledField struct {
	id FieldID
	s  string
}

// maxSeen bounds the cache: a few blocks per agent of a large fleet.
const maxSeen = 1 << 14

// seenHash hashes a key and the first bytes of its value: enough to find a
// known value at the start of the unscanned input without scanning it.
func seenHash(key, v []byte) uint64 {
	const prefix = 64
	if len(v) > prefix {
		v = v[:prefix]
	}
	d := xxhash.New()
	d.Write(key)
	d.Write([]byte{0})
	d.Write(v)
	return d.Sum64()
}

// known returns the length of a remembered value of key that rest starts
// with, 0 if none. A JSON object or array is self-delimiting, so a
// remembered value's text at the start of rest is the whole value.
func (n *Normalizer) known(key, rest []byte) int {
	n.hit = nil
	if len(rest) < minSeen || (rest[0] != '{' && rest[0] != '[') {
		return 0
	}
	for _, sv := range n.seen[seenHash(key, rest)] {
		if bytes.HasPrefix(rest, sv.text) && bytes.Equal(sv.key, key) {
			n.hit = sv
			return len(sv.text)
		}
	}
	return 0
}

// remember keeps a validated object or array value and what it filled.
func (n *Normalizer) remember(e *Event, key, v []byte, filled uint64) {
	if len(v) < minSeen || len(v) > 64<<10 {
		return
	}
	if n.seen == nil || len(n.seen) >= maxSeen {
		n.seen = make(map[uint64][]*seenValue, 256)
	}
	sv := &seenValue{key: append([]byte(nil), key...), text: append([]byte(nil), v...)}
	for id := FieldID(0); int(id) < NumFields; id++ {
		if filled&(1<<id) != 0 {
			sv.filled = append(sv.filled, filledField{id, e.Str[id]})
		}
	}
	h := seenHash(key, v)
	if b := n.seen[h]; len(b) < 4 {
		n.seen[h] = append(b, sv)
	} else {
		n.seen[h] = []*seenValue{sv}
	}
}

// intern returns an earlier identical Meta text, or remembers this one:
// events of one host share one copy.
// meta is scratch; what is kept is a copy.
func (n *Normalizer) intern(meta []byte) []byte {
	h := xxhash.Sum64(meta)
	if old, ok := n.metas[h]; ok && bytes.Equal(old, meta) {
		return old
	}
	if n.metas == nil || len(n.metas) >= maxSeen {
		n.metas = make(map[uint64][]byte, 256)
	}
	kept := append([]byte(nil), meta...)
	n.metas[h] = kept
	return kept
}

// minSeen is the smallest value worth remembering: shorter ones are
// cheaper to scan than to look up.
const minSeen = 64
