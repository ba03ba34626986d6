package sigma

// nodes

type node interface{ eval(d *Doc) bool }

type andNode []node

func (n andNode) eval(d *Doc) bool {
	for _, c := range n {
		if !c.eval(d) {
			return false
		}
	}
	return true
}

type orNode []node

func (n orNode) eval(d *Doc) bool {
	for _, c := range n {
		if c.eval(d) {
			return true
		}
	}
	return false
}

type notNode struct{ n node }

func (n notNode) eval(d *Doc) bool { return !n.n.eval(d) }

type constNode bool

func (n constNode) eval(*Doc) bool { return bool(n) }

// matcher tests one value of a field, given as is and lowercased.
type matcher func(d *Doc, s, low string) bool

type fieldMode uint8

const (
	modeAny    fieldMode = iota // some value matches some matcher
	modeAll                     // each matcher matches some value
	modeNone                    // no value matches any matcher (neq)
	modeNull                    // the field is absent, null or empty
	modeExists                  // the field is present
	modeAbsent                  // the field is absent (exists: false)
)

type fieldNode struct {
	f        *field
	mode     fieldMode
	ms       []matcher
	needLow  bool
	eventIDs []int64 // plain EventID equality values, for the Set index
	// lits are contains literals looked up in the field's litSet.
	ls     *litSet
	lits   []int32
	masks  []litMask
	maxLit int32
}

func (n *fieldNode) eval(d *Doc) bool {
	var vals, low []string
	vals = d.values(n.f)
	switch n.mode {
	case modeNull:
		// Sigma's null is "absent or empty": EVTX keeps a field it has no
		// value for as an empty element, stored as "".
		for _, v := range vals {
			if v != "" {
				return false
			}
		}
		return true
	case modeAbsent:
		return len(vals) == 0
	case modeExists:
		return len(vals) > 0
	}
	var hits []uint64
	if len(n.lits) > 0 {
		hits = d.litHits(n.f, n.ls, n.maxLit)
		switch {
		case n.mode == modeAny && anyHit(hits, n.masks):
			return true
		case n.mode == modeAll && !allHit(hits, n.masks):
			return false
		case n.mode == modeNone && anyHit(hits, n.masks):
			return false
		}
		if len(n.ms) == 0 {
			return n.mode != modeAny
		}
	}
	if n.needLow {
		low = d.lower(n.f)
	} else {
		low = vals
	}
	switch n.mode {
	case modeAll:
		for _, m := range n.ms {
			ok := false
			for i, s := range vals {
				if m(d, s, low[i]) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		}
		return true
	case modeNone:
		for i, s := range vals {
			for _, m := range n.ms {
				if m(d, s, low[i]) {
					return false
				}
			}
		}
		return true
	}
	for i, s := range vals {
		for _, m := range n.ms {
			if m(d, s, low[i]) {
				return true
			}
		}
	}
	return false
}

// requiredIDs returns the EventIDs an event must have for n to match, nil
// when n does not say.
func requiredIDs(n node) []int64 {
	switch n := n.(type) {
	case *fieldNode:
		return n.eventIDs
	case andNode:
		var best []int64
		for _, c := range n {
			if ids := requiredIDs(c); ids != nil && (best == nil || len(ids) < len(best)) {
				best = ids
			}
		}
		return best
	case orNode:
		var all []int64
		for _, c := range n {
			ids := requiredIDs(c)
			if ids == nil {
				return nil
			}
			all = append(all, ids...)
		}
		return all
	}
	return nil
}

// cost estimates how long a node takes to evaluate, to order ANDed fields.
func cost(n node) int {
	switch n := n.(type) {
	case *fieldNode:
		c := 1 + len(n.ms)
		if n.f == keywordField {
			c *= 20
		}
		if n.f.slotIsRawPayload() {
			c *= 4
		}
		return c
	case andNode:
		t := 0
		for _, k := range n {
			t += cost(k)
		}
		return t
	case orNode:
		t := 0
		for _, k := range n {
			t += cost(k)
		}
		return t
	case notNode:
		return cost(n.n)
	}
	return 1
}
