package sigma

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

type mods struct {
	match                    string // "", contains, startswith, endswith, re, cidr, lt, lte, gt, gte, fieldref
	all, cased, neq, windash bool
	exists                   bool
	b64, b64off              bool
	enc                      string // utf16le, utf16be, utf16
	reI, reM, reS            bool
}

func parseMods(list []string) (mods, error) {
	var m mods
	setMatch := func(s string) error {
		if m.match != "" && m.match != s {
			return fmt.Errorf("modifiers %s and %s together", m.match, s)
		}
		m.match = s
		return nil
	}
	for _, x := range list {
		var err error
		switch x {
		case "contains", "startswith", "endswith", "re", "cidr", "lt", "lte", "gt", "gte":
			if m.match == "fieldref" && (x == "contains" || x == "startswith" || x == "endswith") {
				err = errors.New("fieldref with " + x + " is not supported")
				break
			}
			err = setMatch(x)
		case "fieldref":
			err = setMatch(x)
		case "all":
			m.all = true
		case "cased":
			m.cased = true
		case "neq":
			m.neq = true
		case "windash":
			m.windash = true
		case "exists":
			m.exists = true
		case "base64":
			m.b64 = true
		case "base64offset":
			m.b64off = true
		case "utf16le", "wide":
			m.enc = "utf16le"
		case "utf16be":
			m.enc = "utf16be"
		case "utf16":
			m.enc = "utf16"
		case "i", "ignorecase":
			m.reI = true
		case "m", "multiline":
			m.reM = true
		case "s", "dotall":
			m.reS = true
		case "expand":
			err = errors.New("modifier expand (placeholders) is not supported")
		default:
			err = fmt.Errorf("unknown modifier %q", x)
		}
		if err != nil {
			return m, err
		}
	}
	if (m.reI || m.reM || m.reS) && m.match != "re" {
		return m, errors.New("modifiers i, m and s only go with re")
	}
	return m, nil
}

func (cp *compiler) fieldValues(name string, f *field, modList []string, vals []*yaml.Node) (node, error) {
	m, err := parseMods(modList)
	if err != nil {
		return nil, err
	}
	cp.field = f
	if f == keywordField && m.match == "" {
		m.match = "contains" // a keyword is found anywhere in a value
	}
	n := &fieldNode{f: f}
	if m.exists {
		if len(vals) != 1 {
			return nil, errors.New("exists takes one value, true or false")
		}
		switch strings.ToLower(vals[0].Value) {
		case "true", "yes":
			n.mode = modeExists
		case "false", "no":
			n.mode = modeAbsent
		default:
			return nil, fmt.Errorf("exists takes true or false, not %q", vals[0].Value)
		}
		return n, nil
	}
	if len(vals) == 0 {
		return constNode(false), nil
	}
	switch {
	case m.neq:
		n.mode = modeNone
	case m.all:
		n.mode = modeAll
	}
	var nullNode *fieldNode
	plainIDs := name == "EventID" && len(modList) == 0
	var lits []litMatcher
	for _, y := range vals {
		cp.lits = cp.lits[:0]
		if isNull(y) {
			nullNode = &fieldNode{f: f, mode: modeNull}
			continue
		}
		ms, needLow, err := cp.valueMatchers(m, y.Value)
		if err != nil {
			return nil, err
		}
		if len(ms) > 1 && n.mode == modeAll {
			// several encodings of one value: any of them
			or := ms
			ms = []matcher{func(d *Doc, s, low string) bool {
				for _, x := range or {
					if x(d, s, low) {
						return true
					}
				}
				return false
			}}
		}
		if n.mode != modeAll || len(ms) == 1 {
			for _, l := range cp.lits {
				lits = append(lits, litMatcher{kind: l.kind, lit: l.lit, i: len(n.ms) + l.i})
			}
		}
		n.ms = append(n.ms, ms...)
		n.needLow = n.needLow || needLow
		if plainIDs {
			if id, err := strconv.ParseInt(y.Value, 10, 64); err == nil {
				n.eventIDs = append(n.eventIDs, id)
			} else {
				plainIDs = false
			}
		}
	}
	if len(lits) > 0 && !m.cased {
		// Case-insensitive contains literals go to the field's shared
		// index, scanned once per event for every rule.
		n.ls = litSetFor(f)
		drop := map[int]bool{}
		for _, l := range lits {
			id := n.ls.add(l.kind, l.lit)
			n.lits = append(n.lits, id)
			n.maxLit = max(n.maxLit, id)
			drop[l.i] = true
		}
		var keep []matcher
		for i, x := range n.ms {
			if !drop[i] {
				keep = append(keep, x)
			}
		}
		n.ms = keep
		n.masks = masksOf(n.lits)
	} else if len(lits) >= minMulti {
		// One pass for all the contains literals.
		var ls []string
		drop := map[int]bool{}
		for _, l := range lits {
			if l.kind != litContains {
				continue
			}
			ls = append(ls, l.lit)
			drop[l.i] = true
		}
		var keep []matcher
		for i, x := range n.ms {
			if !drop[i] {
				keep = append(keep, x)
			}
		}
		n.ms = keep
		mc := newMultiContains(ls)
		n.ms = append(n.ms, func(_ *Doc, s, _ string) bool { return mc.match(s) })
	}
	if !plainIDs || n.mode != modeAny || nullNode != nil {
		n.eventIDs = nil
	}
	if nullNode != nil {
		if len(n.ms) == 0 {
			if m.neq {
				return notNode{nullNode}, nil
			}
			return nullNode, nil
		}
		switch n.mode {
		case modeAll:
			return andNode{n, nullNode}, nil
		case modeNone:
			return andNode{n, notNode{nullNode}}, nil
		}
		return orNode{n, nullNode}, nil
	}
	return n, nil
}

// Limits on what one value may compile to.
const (
	maxRegexLen   = 8 << 10
	maxRegexInsts = 20000
	maxWindash    = 5
)

func (cp *compiler) valueMatchers(m mods, v string) ([]matcher, bool, error) {
	switch m.match {
	case "re":
		re, err := compileRegex(v, m.reI, m.reM, m.reS)
		if err != nil {
			return nil, false, err
		}
		if lit := requiredLiteral(re.String()); len(lit) >= 3 && cp.field != nil && cp.field != keywordField {
			// A literal the regex cannot match without: looked up in the
			// field's literal index before running the regex.
			f := cp.field
			ls := litSetFor(f)
			id := ls.add(litContains, lit)
			return []matcher{func(d *Doc, s, _ string) bool {
				h := d.litHits(f, ls, id)
				return h[id>>6]&(1<<(id&63)) != 0 && re.MatchString(s)
			}}, false, nil
		}
		return []matcher{func(_ *Doc, s, _ string) bool { return re.MatchString(s) }}, false, nil
	case "cidr":
		p, err := netip.ParsePrefix(strings.TrimSpace(v))
		if err != nil {
			return nil, false, fmt.Errorf("cidr %q: %w", v, err)
		}
		p = p.Masked()
		return []matcher{func(_ *Doc, s, _ string) bool {
			a, err := netip.ParseAddr(s)
			return err == nil && p.Contains(a.Unmap())
		}}, false, nil
	case "lt", "lte", "gt", "gte":
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, false, fmt.Errorf("%s %q: not a number", m.match, v)
		}
		op := m.match
		return []matcher{func(_ *Doc, s, _ string) bool {
			y, ok := parseNumber(s)
			if !ok {
				return false
			}
			switch op {
			case "lt":
				return y < x
			case "lte":
				return y <= x
			case "gt":
				return y > x
			}
			return y >= x
		}}, false, nil
	case "fieldref":
		ts, ok := cp.src.targets(v)
		if !ok {
			return nil, false, fmt.Errorf("fieldref %s: no data for it in mapping %s", v, cp.src.Name)
		}
		other, err := internField(v, ts)
		if err != nil {
			return nil, false, fmt.Errorf("fieldref %s: %w", v, err)
		}
		cased := m.cased
		return []matcher{func(d *Doc, s, low string) bool {
			if cased {
				return slices.Contains(d.values(other), s)
			}
			return slices.Contains(d.lower(other), low)
		}}, !cased, nil
	}

	// String matching: encodings first, then wildcards (plain values only).
	variants := []string{v}
	literal := false
	if m.enc != "" {
		variants[0] = encodeUTF16(v, m.enc)
		literal = true
	}
	if m.b64 || m.b64off {
		literal = true
		var out []string
		for _, s := range variants {
			if m.b64off {
				out = append(out, base64Offsets(s)...)
			} else {
				out = append(out, base64.StdEncoding.EncodeToString([]byte(s)))
			}
		}
		variants = out
	}
	if m.windash {
		var out []string
		for _, s := range variants {
			w, err := windash(s)
			if err != nil {
				return nil, false, err
			}
			out = append(out, w...)
		}
		variants = out
	}
	var ms []matcher
	for _, s := range variants {
		var p pattern
		if literal {
			p = pattern{segs: []seg{{{lit: s}}}}
		} else {
			p = parseWildcards(s)
		}
		switch m.match {
		case "contains":
			p.star(true, true)
		case "startswith":
			p.star(false, true)
		case "endswith":
			p.star(true, false)
		}
		if !m.cased {
			p.lower()
		}
		ms = append(ms, p.matcher(!m.cased))
		if kind, lit, ok := p.literal(); ok {
			cp.lits = append(cp.lits, litMatcher{kind: kind, lit: lit, i: len(ms) - 1})
		}
	}
	return ms, !m.cased, nil
}

func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if y, err := strconv.ParseFloat(s, 64); err == nil {
		return y, true
	}
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		if y, err := strconv.ParseUint(s[2:], 16, 64); err == nil {
			return float64(y), true
		}
	}
	return 0, false
}

// compileRegex compiles a Sigma re value with RE2, refusing patterns whose
// program would be large: matching stays linear and bounded.
func compileRegex(v string, i, m, s bool) (*regexp.Regexp, error) {
	if len(v) > maxRegexLen {
		return nil, fmt.Errorf("regular expression of %d bytes: over the %d-byte limit", len(v), maxRegexLen)
	}
	flags := ""
	if i {
		flags += "i"
	}
	if m {
		flags += "m"
	}
	if s {
		flags += "s"
	}
	if flags != "" {
		v = "(?" + flags + ")" + v
	}
	re, err := syntax.Parse(v, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("regular expression not supported by RE2: %w", err)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, fmt.Errorf("regular expression: %w", err)
	}
	if len(prog.Inst) > maxRegexInsts {
		return nil, fmt.Errorf("regular expression compiles to %d instructions: over the %d limit", len(prog.Inst), maxRegexInsts)
	}
	return regexp.Compile(v)
}
