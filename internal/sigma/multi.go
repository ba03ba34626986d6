package sigma

import "strings"

// multiContains tests many "contains" literals in one pass over the text:
// a bitmap of the literals' first two bytes skips most positions.
type multiContains struct {
	bits  [1024]uint64 // 65536 bits, one per byte pair
	cand  map[uint16][]string
	short []string // one-byte literals
	empty bool     // "" is among the literals: anything matches
}

// minMulti is how many contains literals of one field make a multiContains.
const minMulti = 6

func newMultiContains(lits []string) *multiContains {
	m := &multiContains{cand: map[uint16][]string{}}
	for _, l := range lits {
		switch len(l) {
		case 0:
			m.empty = true
		case 1:
			m.short = append(m.short, l)
		default:
			k := uint16(l[0])<<8 | uint16(l[1])
			m.bits[k>>6] |= 1 << (k & 63)
			m.cand[k] = append(m.cand[k], l)
		}
	}
	return m
}

func (m *multiContains) match(s string) bool {
	if m.empty {
		return true
	}
	for _, p := range m.short {
		if strings.Contains(s, p) {
			return true
		}
	}
	for i := 0; i+1 < len(s); i++ {
		k := uint16(s[i])<<8 | uint16(s[i+1])
		if m.bits[k>>6]&(1<<(k&63)) == 0 {
			continue
		}
		for _, p := range m.cand[k] {
			if strings.HasPrefix(s[i:], p) {
				return true
			}
		}
	}
	return false
}
