package sigma

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/valyala/fastjson"
)

// Doc is one event as rules see it. Its raw JSON is parsed at most once,
// when a rule first needs a raw field, and the auditd records are split
// into key=value pairs at most once; every field's values (and their
// lowercase form) are cached for all the rules evaluated on the event. A
// Doc is not safe for concurrent use: give each goroutine its own.
type Doc struct {
	e   *event.Event
	gen uint32

	p       fastjson.Parser
	root    *fastjson.Value
	rawDone bool

	audit     []kv
	auditDone bool

	leaves     []string // every scalar of raw, lowercased, for keywords
	leavesDone bool

	cache []slotCache
	fired []*Compiled // multi-source rules already reported for this event
}

type kv struct{ k, v string }

type slotCache struct {
	gen, lowGen uint32
	vals, low   []string
	hitGen      uint32
	hitN        int
	hits        []uint64 // litHits
}

// NewDoc returns a Doc on e.
func NewDoc(e *event.Event) *Doc {
	d := &Doc{}
	d.Reset(e)
	return d
}

// Reset points d at another event, dropping what it cached for the last.
func (d *Doc) Reset(e *event.Event) {
	d.e = e
	d.gen++
	if d.gen == 0 { // wrapped: old stamps could look current
		for i := range d.cache {
			d.cache[i] = slotCache{}
		}
		d.gen = 1
	}
	d.root, d.rawDone = nil, false
	d.audit, d.auditDone = d.audit[:0], false
	d.leaves, d.leavesDone = d.leaves[:0], false
	d.fired = d.fired[:0]
}

// Event returns the event d is on.
func (d *Doc) Event() *event.Event { return d.e }

func (d *Doc) raw() *fastjson.Value {
	if !d.rawDone {
		d.rawDone = true
		if len(d.e.Raw) > 0 || len(d.e.Meta) > 0 {
			v, err := d.p.ParseBytes(d.e.RawObject())
			if err == nil && v.Type() == fastjson.TypeObject {
				d.root = v
			}
		}
	}
	return d.root
}

func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// targets

type targetKind uint8

const (
	tCol targetKind = iota
	tRaw
	tAudit
	tInitiated
	tKeywords
)

type target struct {
	kind targetKind
	col  event.FieldID
	path []string
	key  string
}

func parseTarget(s string) (target, error) {
	switch {
	case strings.HasPrefix(s, "raw:"):
		p := s[4:]
		if p == "" {
			return target{}, errors.New("empty raw path")
		}
		return target{kind: tRaw, path: strings.Split(p, "."), key: p}, nil
	case strings.HasPrefix(s, "audit:"):
		if s[6:] == "" {
			return target{}, errors.New("empty audit key")
		}
		return target{kind: tAudit, key: s[6:]}, nil
	case s == "fn:initiated":
		return target{kind: tInitiated}, nil
	}
	id, ok := columnByName[s]
	if !ok {
		return target{}, fmt.Errorf("%q is neither a spoor column nor raw:, audit: or fn:initiated", s)
	}
	return target{kind: tCol, col: id}, nil
}

// field is a compiled field access: where its values come from, and its
// slot in every Doc's cache.
type field struct {
	name    string
	slot    int
	targets []target
}

var slots struct {
	sync.Mutex
	m map[string]*field
}

func internField(name string, targets []string) (*field, error) {
	key := strings.Join(targets, "\x00")
	slots.Lock()
	defer slots.Unlock()
	if f, ok := slots.m[key]; ok {
		return f, nil
	}
	f := &field{name: name}
	for _, t := range targets {
		pt, err := parseTarget(t)
		if err != nil {
			return nil, err
		}
		f.targets = append(f.targets, pt)
	}
	if slots.m == nil {
		slots.m = map[string]*field{}
	}
	f.slot = len(slots.m)
	slots.m[key] = f
	return f, nil
}

var keywordField = func() *field {
	f, _ := internField("", []string{"fn:initiated"}) // reserve a slot
	return &field{slot: f.slot, targets: []target{{kind: tKeywords}}}
}()

func (d *Doc) slot(f *field) *slotCache {
	if f.slot >= len(d.cache) {
		n := f.slot + 64
		c := make([]slotCache, n)
		copy(c, d.cache)
		d.cache = c
	}
	return &d.cache[f.slot]
}

// values returns field f's values in d (none: absent or null).
func (d *Doc) values(f *field) []string {
	c := d.slot(f)
	if c.gen == d.gen {
		return c.vals
	}
	c.gen = d.gen
	vals := c.vals[:0]
	for i := range f.targets {
		vals = d.appendTarget(vals, &f.targets[i])
	}
	c.vals = vals
	return vals
}

// lower returns field f's values lowercased.
func (d *Doc) lower(f *field) []string {
	vals := d.values(f)
	c := &d.cache[f.slot]
	if c.lowGen == d.gen {
		return c.low
	}
	c.lowGen = d.gen
	low := c.low[:0]
	for _, v := range vals {
		low = append(low, toLower(v))
	}
	c.low = low
	return low
}

func toLower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.ToLower(s)
		}
		if 'A' <= c && c <= 'Z' {
			b := make([]byte, len(s))
			copy(b, s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 32
				} else if c >= utf8.RuneSelf {
					return strings.ToLower(s)
				}
			}
			return b2s(b)
		}
	}
	return s
}

func (d *Doc) appendTarget(out []string, t *target) []string {
	e := d.e
	switch t.kind {
	case tCol:
		if !e.Has(t.col) {
			return out
		}
		switch event.Get(t.col).Kind {
		case event.KindString:
			return append(out, e.Str[t.col])
		case event.KindList:
			return append(out, e.List(t.col)...)
		case event.KindBool:
			return append(out, strconv.FormatBool(e.Int[t.col] != 0))
		default:
			return append(out, strconv.FormatInt(e.Int[t.col], 10))
		}
	case tRaw:
		root := d.raw()
		if root == nil {
			return out
		}
		return appendJSON(out, root, t.path)
	case tAudit:
		for _, p := range d.auditKV() {
			if p.k == t.key {
				out = append(out, p.v)
			}
		}
		return out
	case tInitiated:
		if e.Has(event.Direction) {
			return append(out, strconv.FormatBool(e.Str[event.Direction] == "outbound"))
		}
		return out
	case tKeywords:
		return append(out, d.keywordLeaves()...)
	}
	return out
}

// appendJSON appends the scalars at path under v; arrays on the way are
// walked element by element.
func appendJSON(out []string, v *fastjson.Value, path []string) []string {
	for len(path) > 0 {
		switch v.Type() {
		case fastjson.TypeObject:
			next := v.Get(path[0])
			if next == nil && len(path) > 1 {
				// a key holding dots itself
				if w := v.Get(strings.Join(path, ".")); w != nil {
					return appendScalar(out, w)
				}
			}
			if next == nil {
				return out
			}
			v, path = next, path[1:]
		case fastjson.TypeArray:
			for _, el := range v.GetArray() {
				out = appendJSON(out, el, path)
			}
			return out
		default:
			return out
		}
	}
	return appendScalar(out, v)
}

func appendScalar(out []string, v *fastjson.Value) []string {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return append(out, b2s(b))
	case fastjson.TypeNumber:
		return append(out, b2s(v.MarshalTo(nil)))
	case fastjson.TypeTrue:
		return append(out, "true")
	case fastjson.TypeFalse:
		return append(out, "false")
	case fastjson.TypeArray:
		for _, el := range v.GetArray() {
			out = appendScalar(out, el)
		}
		return out
	case fastjson.TypeObject:
		return append(out, b2s(v.MarshalTo(nil)))
	}
	return out // null
}

func (d *Doc) keywordLeaves() []string {
	if d.leavesDone {
		return d.leaves
	}
	d.leavesDone = true
	root := d.raw()
	if root == nil {
		if raw := d.e.RawObject(); len(raw) > 0 {
			d.leaves = append(d.leaves, toLower(string(raw)))
		}
		return d.leaves
	}
	var walk func(v *fastjson.Value)
	walk = func(v *fastjson.Value) {
		switch v.Type() {
		case fastjson.TypeObject:
			o, _ := v.Object()
			o.Visit(func(_ []byte, c *fastjson.Value) { walk(c) })
		case fastjson.TypeArray:
			for _, el := range v.GetArray() {
				walk(el)
			}
		default:
			for _, s := range appendScalar(nil, v) {
				d.leaves = append(d.leaves, toLower(s))
			}
		}
	}
	walk(root)
	return d.leaves
}

// auditKV returns every key=value pair of the event's auditd records
// ("records" in raw), values unquoted and hex-decoded where auditd
// encoded them; "type" is each record's type.
func (d *Doc) auditKV() []kv {
	if d.auditDone {
		return d.audit
	}
	d.auditDone = true
	root := d.raw()
	if root == nil {
		return nil
	}
	for _, r := range root.GetArray("records") {
		b, err := r.StringBytes()
		if err != nil {
			continue
		}
		d.audit = splitAudit(d.audit, b2s(b), "")
	}
	return d.audit
}

// hexKeys are the fields auditd hex-encodes when they hold spaces, quotes
// or control characters.
func hexKey(k, recType string) bool {
	switch k {
	case "name", "proctitle", "cwd", "exe", "comm", "path", "data", "cmd", "acct":
		return true
	}
	if recType == "EXECVE" && len(k) > 1 && k[0] == 'a' && k[1] >= '0' && k[1] <= '9' {
		return true
	}
	return false
}

func splitAudit(out []kv, s, recType string) []kv {
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == 0x1d || s[i] == '\t') {
			i++
		}
		ks := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != 0x1d {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			continue
		}
		k := s[ks:i]
		i++
		var v string
		quoted := false
		if i < len(s) && (s[i] == '"' || s[i] == '\'') {
			q := s[i]
			j := strings.IndexByte(s[i+1:], q)
			if j < 0 {
				v, i = s[i+1:], len(s)
			} else {
				v, i = s[i+1:i+1+j], i+2+j
			}
			quoted = true
			if k == "msg" && q == '\'' {
				out = splitAudit(out, v, recType)
				continue
			}
		} else {
			vs := i
			for i < len(s) && s[i] != ' ' && s[i] != 0x1d {
				i++
			}
			v = s[vs:i]
		}
		if k == "msg" && strings.HasPrefix(v, "audit(") {
			continue
		}
		if k == "type" && recType == "" {
			recType = v
		}
		if !quoted && hexKey(k, recType) && len(v) >= 2 && len(v)%2 == 0 && isHex(v) {
			if b, err := hex.DecodeString(v); err == nil {
				v = strings.ReplaceAll(string(b), "\x00", " ")
			}
		}
		out = append(out, kv{k, v})
	}
	return out
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// slotIsRawPayload reports fields that usually hold long text.
func (f *field) slotIsRawPayload() bool {
	switch f.name {
	case "CommandLine", "ParentCommandLine", "Payload", "ScriptBlockText", "ContextInfo", "Data", "Details":
		return true
	}
	return false
}
