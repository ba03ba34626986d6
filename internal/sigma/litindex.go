package sigma

import (
	"regexp/syntax"
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
	ac   *acDFA // the contains literals
	// prefix, suffix and equality literals: by length, then text.
	prefix, suffix map[int]map[string][]int32
	equal          map[string][]int32
	preLens        []int
	sufLens        []int
	empty          []int32 // contains "": always found
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
	sc := &litScanner{lits: lits, prefix: map[int]map[string][]int32{}, suffix: map[int]map[string][]int32{}, equal: map[string][]int32{}}
	var contains []int32
	for i, l := range lits {
		id := int32(i)
		switch kinds[i] {
		case litPrefix:
			addAffix(sc.prefix, &sc.preLens, l, id)
		case litSuffix:
			addAffix(sc.suffix, &sc.sufLens, l, id)
		case litEqual:
			sc.equal[l] = append(sc.equal[l], id)
		default:
			if l == "" {
				sc.empty = append(sc.empty, id)
			} else {
				contains = append(contains, id)
			}
		}
	}
	if len(contains) > 0 {
		sc.ac = newAC(lits, contains)
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
	setAll(hits, sc.empty)
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
	if sc.ac != nil {
		sc.ac.scan(s, hits)
	}
}

// acDFA is an Aho-Corasick automaton over the byte classes of its
// literals. The states near the root (where text spends most of its time)
// have complete transition rows: one table lookup per byte; deeper states,
// mostly single-child chains, keep only their trie edges and fall back
// through their failure links, which keeps the tables small.
type acDFA struct {
	class [256]uint16 // byte → class; 0 for bytes in no literal
	nc    int
	row   []int32 // state → its row in dense, -1 for sparse states
	dense []int32
	edges [][]acEdge // trie edges, while building
	// sparse states' trie edges, flat: state st's are
	// flat[start[st]:start[st+1]]
	start []int32
	flat  []acEdge
	fail  []int32
	out   [][]int32 // the literals ending at a state (its own, not its suffixes')
	dict  []int32   // nearest state down the failure links with literals, -1 if none
	has   []bool    // the state or one down its failure links has literals
}

type acEdge struct {
	c uint16
	t int32
}

// acDenseDepth is the depth down to which states get complete rows.
const acDenseDepth = 4

func newAC(lits []string, ids []int32) *acDFA {
	a := &acDFA{}
	n := 1
	for _, id := range ids {
		for i := 0; i < len(lits[id]); i++ {
			if c := lits[id][i]; a.class[c] == 0 {
				a.class[c] = uint16(n)
				n++
			}
		}
	}
	a.nc = n
	var depth []int
	a.edges = append(a.edges, nil)
	a.out = append(a.out, nil)
	depth = append(depth, 0)
	for _, id := range ids {
		st := int32(0)
		l := lits[id]
		for i := 0; i < len(l); i++ {
			c := a.class[l[i]]
			next := int32(-1)
			for _, e := range a.edges[st] {
				if e.c == c {
					next = e.t
					break
				}
			}
			if next < 0 {
				next = int32(len(a.out))
				a.edges = append(a.edges, nil)
				a.out = append(a.out, nil)
				depth = append(depth, depth[st]+1)
				a.edges[st] = append(a.edges[st], acEdge{c, next})
			}
			st = next
		}
		a.out[st] = append(a.out[st], id)
	}
	a.fail = make([]int32, len(a.out))
	a.row = make([]int32, len(a.out))
	a.dict = make([]int32, len(a.out))
	a.dict[0] = -1
	queue := []int32{0}
	for len(queue) > 0 {
		st := queue[0]
		queue = queue[1:]
		if st != 0 {
			if f := a.fail[st]; len(a.out[f]) > 0 {
				a.dict[st] = f
			} else {
				a.dict[st] = a.dict[f]
			}
		}
		for _, e := range a.edges[st] {
			if st == 0 {
				a.fail[e.t] = 0
			} else {
				a.fail[e.t] = a.delta(a.fail[st], e.c)
			}
			queue = append(queue, e.t)
		}
		a.row[st] = -1
		if depth[st] <= acDenseDepth {
			r := int32(len(a.dense) / a.nc)
			for c := 0; c < a.nc; c++ {
				t := int32(-1)
				for _, e := range a.edges[st] {
					if int(e.c) == c {
						t = e.t
					}
				}
				if t < 0 {
					if st == 0 {
						t = 0
					} else {
						t = a.delta(a.fail[st], uint16(c))
					}
				}
				a.dense = append(a.dense, t)
			}
			a.row[st] = r
			a.edges[st] = nil
		}
	}
	a.start = make([]int32, len(a.out)+1)
	for st, es := range a.edges {
		a.start[st] = int32(len(a.flat))
		a.flat = append(a.flat, es...)
	}
	a.start[len(a.out)] = int32(len(a.flat))
	a.edges = nil
	a.has = make([]bool, len(a.out))
	for st, o := range a.out {
		a.has[st] = len(o) > 0 || a.dict[st] >= 0
	}
	return a
}

// emit sets the literals ending at st and at the states down its
// dictionary links, stopping at a state whose literals are already set:
// the ones down its links were set with them.
func (a *acDFA) emit(st int32, hits []uint64) {
	for x := st; x >= 0; x = a.dict[x] {
		o := a.out[x]
		if len(o) == 0 {
			continue
		}
		if id := o[0]; hits[id>>6]&(1<<(id&63)) != 0 {
			return
		}
		setAll(hits, o)
	}
}

// delta is the transition from st on byte class c.
func (a *acDFA) delta(st int32, c uint16) int32 {
	for {
		if r := a.row[st]; r >= 0 {
			return a.dense[int(r)*a.nc+int(c)]
		}
		if a.edges != nil { // building
			for _, e := range a.edges[st] {
				if e.c == c {
					return e.t
				}
			}
		} else {
			for _, e := range a.flat[a.start[st]:a.start[st+1]] {
				if e.c == c {
					return e.t
				}
			}
		}
		st = a.fail[st]
	}
}

func (a *acDFA) scan(s string, hits []uint64) {
	st := int32(0)
	row, dense, has, nc := a.row, a.dense, a.has, a.nc
	for i := 0; i < len(s); i++ {
		c := a.class[s[i]]
		if r := row[st]; r >= 0 {
			st = dense[int(r)*nc+int(c)]
		} else {
			st = a.delta(st, c)
		}
		if has[st] {
			a.emit(st, hits)
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

// requiredLiteral returns, lowercased, the longest literal that every match
// of the regular expression contains ("" when it finds none).
func requiredLiteral(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	best := ""
	consider := func(r *syntax.Regexp) {
		if r.Op == syntax.OpLiteral {
			if l := string(r.Rune); len(l) > len(best) {
				best = l
			}
		}
	}
	switch re.Op {
	case syntax.OpLiteral:
		consider(re)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			consider(sub)
		}
	case syntax.OpCapture:
		if len(re.Sub) == 1 && re.Sub[0].Op == syntax.OpConcat {
			for _, sub := range re.Sub[0].Sub {
				consider(sub)
			}
		}
	}
	return toLower(best)
}
