package audit

import (
	"bytes"
	"maps"
	"slices"
	"strconv"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/event"
)

// converter renders the events of the auditd decoder in spoor's native
// shape: the typed fields under their Threat Stack keys (session and uid
// numbers, user a name, args a list), beside the decoder's Raw members
// (the coalesced event and its "records", which detection reads). A Raw
// member whose key a typed field takes is kept as audit_<key> (the
// coalesced "user" object of ids, say).
//
// The members go to the agent encoded and sorted (source.Encoded), but for
// those the agent reads (_id, hostname, pid, agent_id), which stay in the
// map. Which member comes from where, in which order, depends only on
// Raw's keys and on which typed fields are set: the same for most events,
// so that plan is worked out once per shape and kept.
type converter struct {
	plan  plan
	raw   []rawMember
	vals  []byte // the typed fields' JSON
	spans []int  // their ends in vals, by step
	out   source.Encoded
}

type rawMember struct {
	key string
	val []byte
}

// plan is how one shape of event is converted.
type plan struct {
	rawKeys []string // Raw's keys, in Raw's order
	set     uint64   // the typed fields present (event.Event.Set)
	steps   []step   // the members, sorted by key
}

// step is one member: Raw's member raw, or else the typed field.
type step struct {
	key   string
	raw   int
	field event.FieldID
	inMap bool // a typed field the agent reads: kept in the map
}

// mapKeys are the members the agent reads from the map.
var mapKeys = map[string]bool{"_id": true, "hostname": true, "pid": true, "agent_id": true}

// event converts e. The Encoded members it returns refer to e.Raw and to
// the converter's scratch: they live until the next call.
func (c *converter) event(e *event.Event) source.Event {
	c.raw = c.raw[:0]
	if !members(e.Raw, func(k string, v []byte) { c.raw = append(c.raw, rawMember{k, v}) }) {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(e.Raw, &m) // the decoder made it: one JSON object
		for _, k := range slices.Sorted(maps.Keys(m)) {
			c.raw = append(c.raw, rawMember{k, m[k]})
		}
	}
	if !c.plan.fits(c.raw, e.Set) {
		c.plan = newPlan(c.raw, e.Set)
	}
	ev := make(source.Event, 5)
	c.vals, c.spans = c.vals[:0], c.spans[:0]
	for _, s := range c.plan.steps {
		if s.raw < 0 && !s.inMap {
			c.vals = appendField(c.vals, e, s.field)
		}
		c.spans = append(c.spans, len(c.vals))
	}
	c.out = c.out[:0]
	from := 0
	for i, s := range c.plan.steps {
		switch {
		case s.raw >= 0:
			c.out = append(c.out, source.Member{Key: s.key, Value: c.raw[s.raw].val})
		case s.inMap:
			ev[s.key] = fieldValue(e, s.field)
		default:
			c.out = append(c.out, source.Member{Key: s.key, Value: c.vals[from:c.spans[i]]})
		}
		from = c.spans[i]
	}
	ev[source.EncodedKey] = c.out
	return ev
}

// fits says whether p converts events with Raw members raw and typed
// fields set.
func (p *plan) fits(raw []rawMember, set uint64) bool {
	if p.steps == nil || p.set != set || len(p.rawKeys) != len(raw) {
		return false
	}
	for i, k := range p.rawKeys {
		if raw[i].key != k {
			return false
		}
	}
	return true
}

// newPlan works out the conversion of one shape of event: Raw's members
// (the last of a key written twice), then each typed field in catalog
// order, moving a Raw member it displaces to audit_<key>.
func newPlan(raw []rawMember, set uint64) plan {
	p := plan{set: set, rawKeys: make([]string, len(raw))}
	from := make(map[string]step, len(raw)+16)
	for i, m := range raw {
		p.rawKeys[i] = m.key
		from[m.key] = step{key: m.key, raw: i}
	}
	for _, f := range event.Catalog() {
		if set&(1<<f.ID) == 0 {
			continue
		}
		switch f.ID {
		case event.OrganizationID, event.InsertTime, event.DateKey:
			continue // the server's to set
		}
		key := f.Key
		if key == "" {
			key = f.Name
		}
		if s, ok := from[key]; ok {
			s.key, s.inMap = "audit_"+key, false
			from[s.key] = s
		}
		from[key] = step{key: key, raw: -1, field: f.ID, inMap: mapKeys[key]}
	}
	for _, s := range from {
		p.steps = append(p.steps, s)
	}
	slices.SortFunc(p.steps, func(a, b step) int { return strings.Compare(a.key, b.key) })
	return p
}

// fieldValue is a typed field's value as the agent's map holds it.
func fieldValue(e *event.Event, id event.FieldID) any {
	switch event.Get(id).Kind {
	case event.KindString:
		return e.Str[id]
	case event.KindInt, event.KindTime:
		return e.Int[id]
	case event.KindBool:
		return e.Bool(id)
	case event.KindList:
		return e.List(id)
	}
	return nil
}

// appendField appends a typed field's value as JSON.
func appendField(b []byte, e *event.Event, id event.FieldID) []byte {
	switch event.Get(id).Kind {
	case event.KindString:
		return event.AppendJSONString(b, e.Str[id])
	case event.KindInt, event.KindTime:
		return strconv.AppendInt(b, e.Int[id], 10)
	case event.KindBool:
		return strconv.AppendBool(b, e.Bool(id))
	case event.KindList:
		return source.AppendStrings(b, e.List(id))
	}
	return append(b, "null"...)
}

// members calls fn with each top-level key and value text of a compact JSON
// object the decoder wrote, without parsing the values. It returns false,
// having called fn for none, where the text is not that simple (an escaped
// key): the caller parses it then.
func members(obj []byte, fn func(k string, v []byte)) bool {
	type kv struct {
		k string
		v []byte
	}
	var found [40]kv
	list := found[:0]
	if len(obj) < 2 || obj[0] != '{' {
		return false
	}
	i := 1
	for i < len(obj) && obj[i] != '}' {
		if obj[i] == ',' {
			i++
		}
		if i >= len(obj) || obj[i] != '"' {
			return false
		}
		end := i + 1
		for end < len(obj) && obj[end] != '"' {
			if obj[end] == '\\' {
				return false
			}
			end++
		}
		if end+1 >= len(obj) || obj[end+1] != ':' {
			return false
		}
		k := string(obj[i+1 : end])
		start := end + 2
		stop := skipValue(obj, start)
		if stop <= start {
			return false
		}
		list = append(list, kv{k, obj[start:stop]})
		i = stop
	}
	for _, m := range list {
		fn(m.k, m.v)
	}
	return true
}

// skipValue returns the end of the JSON value starting at i, or i when it
// cannot tell.
func skipValue(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		c := b[j]
		switch c {
		case '"':
			end := stringEnd(b, j)
			if end < 0 {
				return i
			}
			if depth == 0 {
				return end + 1
			}
			j = end
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return j // the end of the enclosing object
			}
			depth--
			if depth == 0 {
				return j + 1
			}
		case ',':
			if depth == 0 {
				return j
			}
		}
	}
	return i
}

// stringEnd returns the index of the quote closing the JSON string opened
// at b[open], or -1. It jumps from quote to quote (the records' text makes
// Raw mostly long strings): a quote ends the string unless an odd run of
// backslashes escapes it.
func stringEnd(b []byte, open int) int {
	for k := open + 1; ; {
		q := bytes.IndexByte(b[k:], '"')
		if q < 0 {
			return -1
		}
		q += k
		n := 0
		for p := q - 1; p > open && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q
		}
		k = q + 1
	}
}
