package sigma

import (
	"strings"
	"sync"
	"sync/atomic"
)

// litSet holds every case-insensitive "contains" literal that compiled
// rules test on one field. A Doc scans the field's values once for all of
// them (litScanner) and every rule reads the answer from a bitset: a rule
// set testing thousands of substrings of CommandLine reads it once.
type litSet struct {
	mu    sync.Mutex
	lits  []string
	kinds []litKind
	ids   map[string]int32 // kind byte + literal
	cur   atomic.Pointer[litScanner]
}

// litKind is how a literal is tested.
type litKind byte

const (
	litContains litKind = iota
	litPrefix
	litSuffix
	litEqual
)

var litSets struct {
	sync.Mutex
	m map[int]*litSet // by field slot
}

func litSetFor(f *field) *litSet {
	litSets.Lock()
	defer litSets.Unlock()
	if litSets.m == nil {
		litSets.m = map[int]*litSet{}
	}
	ls := litSets.m[f.slot]
	if ls == nil {
		ls = &litSet{ids: map[string]int32{}}
		litSets.m[f.slot] = ls
	}
	return ls
}

func (ls *litSet) add(kind litKind, lit string) int32 {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	key := string(rune(kind)) + lit
	if id, ok := ls.ids[key]; ok {
		return id
	}
	id := int32(len(ls.lits))
	ls.lits = append(ls.lits, lit)
	ls.kinds = append(ls.kinds, kind)
	ls.ids[key] = id
	ls.cur.Store(nil)
	return id
}

// scanner returns a scanner covering at least literal id max.
func (ls *litSet) scanner(max int32) *litScanner {
	if sc := ls.cur.Load(); sc != nil && int(max) < len(sc.lits) {
		return sc
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if sc := ls.cur.Load(); sc != nil && int(max) < len(sc.lits) {
		return sc
	}
	n := len(ls.lits)
	sc := newLitScanner(ls.lits[:n:n], ls.kinds[:n:n])
	ls.cur.Store(sc)
	return sc
}

type litScanner struct {
	lits []string
	// Literals of 4 bytes or more, by their first four bytes; a bitmap of
	// their first two bytes skips most positions without a map lookup.
	bits4 [1024]uint64
	cand4 map[uint32][]int32
	// Literals of 2 or 3 bytes, by their first two.
	bits2 [1024]uint64
	cand2 map[uint16][]int32
	short [][]int32 // by byte: one-byte literals
	empty []int32
	// prefix, suffix and equality literals: by length, then text.
	prefix, suffix map[int]map[string][]int32
	equal          map[string][]int32
	preLens        []int
	sufLens        []int
}

func addAffix(m map[int]map[string][]int32, lens *[]int, l string, id int32) {
	byText := m[len(l)]
	if byText == nil {
		byText = map[string][]int32{}
		m[len(l)] = byText
		*lens = append(*lens, len(l))
	}
	byText[l] = append(byText[l], id)
}

func newLitScanner(lits []string, kinds []litKind) *litScanner {
	sc := &litScanner{lits: lits, cand4: map[uint32][]int32{}, cand2: map[uint16][]int32{},
		prefix: map[int]map[string][]int32{}, suffix: map[int]map[string][]int32{}, equal: map[string][]int32{}}
	for i, l := range lits {
		id := int32(i)
		switch kinds[i] {
		case litPrefix:
			addAffix(sc.prefix, &sc.preLens, l, id)
			continue
		case litSuffix:
			addAffix(sc.suffix, &sc.sufLens, l, id)
			continue
		case litEqual:
			sc.equal[l] = append(sc.equal[l], id)
			continue
		}
		switch len(l) {
		case 0:
			sc.empty = append(sc.empty, id)
		case 1:
			if sc.short == nil {
				sc.short = make([][]int32, 256)
			}
			sc.short[l[0]] = append(sc.short[l[0]], id)
		case 2, 3:
			k := uint16(l[0])<<8 | uint16(l[1])
			sc.bits2[k>>6] |= 1 << (k & 63)
			sc.cand2[k] = append(sc.cand2[k], id)
		default:
			k := uint16(l[0])<<8 | uint16(l[1])
			sc.bits4[k>>6] |= 1 << (k & 63)
			k4 := uint32(l[0])<<24 | uint32(l[1])<<16 | uint32(l[2])<<8 | uint32(l[3])
			sc.cand4[k4] = append(sc.cand4[k4], id)
		}
	}
	return sc
}

func setAll(hits []uint64, ids []int32) {
	for _, id := range ids {
		hits[id>>6] |= 1 << (id & 63)
	}
}

// scan sets in hits the bit of every literal found in s.
func (sc *litScanner) scan(s string, hits []uint64) {
	setAll(hits, sc.equal[s])
	for _, n := range sc.preLens {
		if n <= len(s) {
			setAll(hits, sc.prefix[n][s[:n]])
		}
	}
	for _, n := range sc.sufLens {
		if n <= len(s) {
			setAll(hits, sc.suffix[n][s[len(s)-n:]])
		}
	}
	for _, id := range sc.empty {
		hits[id>>6] |= 1 << (id & 63)
	}
	if sc.short != nil {
		for i := 0; i < len(s); i++ {
			for _, id := range sc.short[s[i]] {
				hits[id>>6] |= 1 << (id & 63)
			}
		}
	}
	for i := 0; i+1 < len(s); i++ {
		k := uint16(s[i])<<8 | uint16(s[i+1])
		if sc.bits2[k>>6]&(1<<(k&63)) != 0 {
			for _, id := range sc.cand2[k] {
				if strings.HasPrefix(s[i:], sc.lits[id]) {
					hits[id>>6] |= 1 << (id & 63)
				}
			}
		}
		if i+3 < len(s) && sc.bits4[k>>6]&(1<<(k&63)) != 0 {
			k4 := uint32(s[i])<<24 | uint32(s[i+1])<<16 | uint32(s[i+2])<<8 | uint32(s[i+3])
			for _, id := range sc.cand4[k4] {
				if strings.HasPrefix(s[i:], sc.lits[id]) {
					hits[id>>6] |= 1 << (id & 63)
				}
			}
		}
	}
}

// litHits returns the bitset of ls's literals found in field f's
// lowercased values, computed once per event.
func (d *Doc) litHits(f *field, ls *litSet, max int32) []uint64 {
	if f.slot < len(d.cache) {
		if c := &d.cache[f.slot]; c.hitGen == d.gen && int(max) < c.hitN {
			return c.hits
		}
	}
	low := d.lower(f)
	c := &d.cache[f.slot]
	sc := ls.scanner(max)
	words := (len(sc.lits) + 63) / 64
	if cap(c.hits) < words {
		c.hits = make([]uint64, words)
	}
	c.hits = c.hits[:words]
	clear(c.hits)
	for _, s := range low {
		sc.scan(s, c.hits)
	}
	c.hitGen, c.hitN = d.gen, len(sc.lits)
	return c.hits
}


// litMask is a node's literals as bit masks over the words of a bitset.
type litMask struct {
	w int32
	m uint64
}

func masksOf(ids []int32) []litMask {
	var out []litMask
	for _, id := range ids {
		w, b := id>>6, uint64(1)<<(id&63)
		found := false
		for i := range out {
			if out[i].w == w {
				out[i].m |= b
				found = true
			}
		}
		if !found {
			out = append(out, litMask{w, b})
		}
	}
	return out
}

func anyHit(hits []uint64, ms []litMask) bool {
	for _, m := range ms {
		if hits[m.w]&m.m != 0 {
			return true
		}
	}
	return false
}

func allHit(hits []uint64, ms []litMask) bool {
	for _, m := range ms {
		if hits[m.w]&m.m != m.m {
			return false
		}
	}
	return true
}
