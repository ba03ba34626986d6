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
	"unicode/utf16"

	"github.com/spoor-dev/spoor/internal/event"
	"gopkg.in/yaml.v3"
)

// Compiled is a rule ready to be evaluated: one variant per mapping source
// that serves its logsource.
type Compiled struct {
	Rule     *Rule
	variants []*variant
}

type variant struct {
	c          *Compiled
	src        *Source
	eventTypes []string
	ids        []int64
	channels   []string
	require    []require
	root       node
}

// require is a condition of the logsource on one field: a typed column or
// a raw path (Sysmon 12's EventType tells registry_add from
// registry_delete).
type require struct {
	f    *field
	vals []string
}

// accepts checks the logsource condition: event type, event id, channel
// and required columns.
func (v *variant) accepts(d *Doc) bool {
	e := d.e
	if len(v.eventTypes) > 0 && !slices.Contains(v.eventTypes, e.Str[event.EventType]) {
		return false
	}
	if len(v.ids) > 0 && (!e.Has(event.WinEventID) || !slices.Contains(v.ids, e.Int[event.WinEventID])) {
		return false
	}
	return v.acceptsRest(d)
}

func (v *variant) acceptsRest(d *Doc) bool {
	e := d.e
	if len(v.channels) > 0 {
		ok := false
		for _, c := range v.channels {
			if strings.EqualFold(c, e.Str[event.Channel]) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, r := range v.require {
		if !r.accepts(d) {
			return false
		}
	}
	return true
}

func (r *require) accepts(d *Doc) bool {
	for _, got := range d.values(r.f) {
		for _, s := range r.vals {
			if strings.EqualFold(s, got) {
				return true
			}
		}
	}
	return false
}

// Match reports whether the rule matches the event in d.
func (c *Compiled) Match(d *Doc) bool {
	for _, v := range c.variants {
		if v.accepts(d) && v.root.eval(d) {
			return true
		}
	}
	return false
}

// ErrUnsupportedLogsource is wrapped by Compile's error when the mapping
// has no source for the rule's logsource.
var ErrUnsupportedLogsource = errors.New("unsupported logsource")

// Compile compiles a detection rule against a mapping. The error says why a
// rule cannot be compiled: an unsupported logsource, an unknown modifier, a
// field the logsource has no data for, a regular expression RE2 refuses...
func Compile(r *Rule, m *Mapping) (*Compiled, error) {
	if r.Correlation != nil {
		return nil, errors.New("sigma: a correlation rule is run by a Correlator, not compiled")
	}
	srcs := m.sourcesFor(r.Logsource)
	if len(srcs) == 0 {
		return nil, fmt.Errorf("sigma: %w: %s", ErrUnsupportedLogsource, r.Logsource)
	}
	c := &Compiled{Rule: r}
	var firstErr error
	for _, s := range srcs {
		v, err := compileVariant(r, s)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		v.c = c
		c.variants = append(c.variants, v)
	}
	if len(c.variants) == 0 {
		return nil, fmt.Errorf("sigma: %w", firstErr)
	}
	return c, nil
}

func compileVariant(r *Rule, s *Source) (*variant, error) {
	cp := &compiler{rule: r, src: s, searches: map[string]node{}}
	if len(r.Detection.Condition) == 0 {
		return nil, errors.New("no condition")
	}
	var roots []node
	for _, cond := range r.Detection.Condition {
		n, err := cp.condition(cond)
		if err != nil {
			return nil, err
		}
		roots = append(roots, n)
	}
	root := roots[0]
	if len(roots) > 1 {
		root = orNode(roots)
	}
	v := &variant{src: s, eventTypes: s.EventTypes, channels: s.Channels, root: root, ids: s.EventIDs}
	if ids := requiredIDs(root); ids != nil && slices.Contains(s.Fields["EventID"], "win_event_id") {
		if len(v.ids) == 0 {
			v.ids = ids
		} else {
			var both []int64
			for _, id := range ids {
				if slices.Contains(v.ids, id) {
					both = append(both, id)
				}
			}
			if len(both) > 0 {
				v.ids = both
			}
		}
	}
	for _, key := range sortedKeys(s.Require) {
		f, err := internField(key, []string{key})
		if err != nil {
			return nil, fmt.Errorf("mapping %s: require %s: %w", s.Name, key, err)
		}
		v.require = append(v.require, require{f: f, vals: s.Require[key]})
	}
	return v, nil
}

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

// compiler

type compiler struct {
	rule     *Rule
	src      *Source
	searches map[string]node
	lits     []litMatcher // contains literals of the value being compiled
	field    *field       // the field being compiled
}

type litMatcher struct {
	kind litKind
	lit  string
	i    int // the matcher's position among the value's matchers
}

func (cp *compiler) search(name string) (node, error) {
	if n, ok := cp.searches[name]; ok {
		return n, nil
	}
	y, ok := cp.rule.Detection.Searches[name]
	if !ok {
		return nil, fmt.Errorf("condition names %q, which the detection does not define", name)
	}
	n, err := cp.searchNode(y)
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", name, err)
	}
	cp.searches[name] = n
	return n, nil
}

func (cp *compiler) searchNode(y *yaml.Node) (node, error) {
	switch y.Kind {
	case yaml.MappingNode:
		var and andNode
		for i := 0; i+1 < len(y.Content); i += 2 {
			n, err := cp.fieldSpec(y.Content[i].Value, y.Content[i+1])
			if err != nil {
				return nil, err
			}
			and = append(and, n)
		}
		if len(and) == 1 {
			return and[0], nil
		}
		// Cheap tests first: a map's fields are ANDed, in any order.
		slices.SortStableFunc(and, func(a, b node) int { return cost(a) - cost(b) })
		return and, nil
	case yaml.SequenceNode:
		var or orNode
		var kw []*yaml.Node
		for _, c := range y.Content {
			if c.Kind == yaml.ScalarNode {
				kw = append(kw, c)
				continue
			}
			n, err := cp.searchNode(c)
			if err != nil {
				return nil, err
			}
			or = append(or, n)
		}
		if len(kw) > 0 {
			n, err := cp.fieldValues("", keywordField, nil, kw)
			if err != nil {
				return nil, err
			}
			or = append(or, n)
		}
		if len(or) == 1 {
			return or[0], nil
		}
		return or, nil
	case yaml.ScalarNode:
		return cp.fieldValues("", keywordField, nil, []*yaml.Node{y})
	case yaml.AliasNode:
		return nil, errors.New("YAML aliases are not supported in detections")
	}
	return nil, fmt.Errorf("line %d: unexpected %s", y.Line, kindName(y.Kind))
}

// fieldSpec compiles "Field|mod|mod: values".
func (cp *compiler) fieldSpec(key string, y *yaml.Node) (node, error) {
	parts := strings.Split(key, "|")
	name, mods := parts[0], parts[1:]
	var f *field
	if name == "" {
		f = keywordField
	} else {
		ts, ok := cp.src.targets(name)
		if !ok {
			return nil, fmt.Errorf("field %s: no data for it in logsource %s (mapping %s)", name, cp.rule.Logsource, cp.src.Name)
		}
		var err error
		if f, err = internField(name, ts); err != nil {
			return nil, fmt.Errorf("field %s: %w", name, err)
		}
	}
	var vals []*yaml.Node
	switch y.Kind {
	case yaml.ScalarNode:
		vals = []*yaml.Node{y}
	case yaml.SequenceNode:
		for _, c := range y.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("field %s: line %d: a value list holds a %s", name, c.Line, kindName(c.Kind))
			}
		}
		vals = y.Content
	default:
		return nil, fmt.Errorf("field %s: line %d: value is a %s", name, y.Line, kindName(y.Kind))
	}
	n, err := cp.fieldValues(name, f, mods, vals)
	if err != nil {
		return nil, fmt.Errorf("field %s: %w", key, err)
	}
	return n, nil
}

func isNull(y *yaml.Node) bool { return y.Tag == "!!null" }

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

func encodeUTF16(s, enc string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u)+2)
	if enc == "utf16" { // with a byte order mark, little endian
		b = append(b, 0xff, 0xfe)
	}
	for _, x := range u {
		if enc == "utf16be" {
			b = append(b, byte(x>>8), byte(x))
		} else {
			b = append(b, byte(x), byte(x>>8))
		}
	}
	return string(b)
}

// base64Offsets returns the three base64 forms of s as it may appear at any
// offset inside a longer base64 text (Sigma's base64offset).
func base64Offsets(s string) []string {
	start := [3]int{0, 2, 3}
	endCut := [3]int{0, 3, 2}
	out := make([]string, 0, 3)
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, i), s...))
		cut := endCut[(len(s)+i)%3]
		lo, hi := start[i], len(enc)-cut
		if lo >= hi {
			continue
		}
		out = append(out, enc[lo:hi])
	}
	return out
}

var dashes = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// windash returns s with each option dash ('-' or '/' opening a word) in
// every form Windows accepts: -, /, en dash, em dash, horizontal bar.
func windash(s string) ([]string, error) {
	var pos []int
	for i := 0; i < len(s); i++ {
		if (s[i] == '-' || s[i] == '/') && (i == 0 || !isWordByte(s[i-1])) && i+1 < len(s) && isWordByte(s[i+1]) {
			pos = append(pos, i)
		}
	}
	if len(pos) > maxWindash {
		return nil, fmt.Errorf("windash: %d dashes in %q, over the limit of %d", len(pos), s, maxWindash)
	}
	out := []string{""}
	prev := 0
	for _, p := range pos {
		var next []string
		for _, o := range out {
			for _, d := range dashes {
				next = append(next, o+s[prev:p]+d)
			}
		}
		out, prev = next, p+1
	}
	for i := range out {
		out[i] += s[prev:]
	}
	return out, nil
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
