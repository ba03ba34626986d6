package event

import (
	"strconv"
	"time"
	"unsafe"
)

// Event is one normalised event: typed fields by FieldID plus the residual
// original JSON. Strings, ints, bools and lists live in slots indexed by
// FieldID; Set records which fields are present (absent fields are NULL).
type Event struct {
	Str [NumFields]string
	Int [NumFields]int64 // KindInt, KindTime (epoch ms) and KindBool (0 or 1)
	// lists holds the list fields by listSlot: only a few fields are lists,
	// and an event is held in memory by the thousand.
	lists [numLists][]string
	Set   uint64 // bit i set: field i present
	// Lifted has bit i set when field i was read from its original top-level
	// key (Field.Key) with a matching JSON type and removed from Raw; Original
	// puts it back. Bits follow catalog order, which is append-only.
	Lifted uint64
	// Raw is the residual original event, a JSON object holding every
	// original key whose value is not held, as is, by a typed column, and
	// that is not one of the per-host MetaKeys.
	Raw []byte
	// Meta holds the original's per-host metadata blocks (MetaKeys): the
	// same in every event of a host, so the lake stores them in a
	// dictionary-encoded column of their own. nil when there are none.
	Meta []byte
}

// numLists is how many fields are lists; listSlot maps a field to its slot
// in Event.lists, -1 for other fields.
const numLists = 2

var listSlot = func() (m [NumFields]int8) {
	n := int8(0)
	for _, f := range catalog {
		m[f.ID] = -1
		if f.Kind == KindList {
			m[f.ID] = n
			n++
		}
	}
	if n != numLists {
		panic("event: numLists does not match the catalog")
	}
	return m
}()

func init() {
	if NumFields > 64 {
		panic("event: more than 64 typed fields do not fit Event.Set")
	}
}

// Has reports whether field id is present.
func (e *Event) Has(id FieldID) bool { return e.Set&(1<<id) != 0 }

// MemSize estimates the memory an event holds: the struct and the bytes of
// its strings, lists, Raw and Meta (shared strings counted each time).
func (e *Event) MemSize() int64 {
	n := int64(unsafe.Sizeof(*e)) + int64(cap(e.Raw)) + int64(cap(e.Meta))
	for i := range e.Str {
		n += int64(len(e.Str[i]))
	}
	for _, l := range e.lists {
		for _, s := range l {
			n += int64(len(s)) + 16
		}
	}
	return n
}

// Clear marks field id absent.
func (e *Event) Clear(id FieldID) {
	e.Set &^= 1 << id
	e.Lifted &^= 1 << id
	e.Str[id], e.Int[id] = "", 0
	if slot := listSlot[id]; slot >= 0 {
		e.lists[slot] = nil
	}
}

// SetString sets a string field.
func (e *Event) SetString(id FieldID, s string) { e.Str[id] = s; e.Set |= 1 << id }

// SetInt sets an int or time field.
func (e *Event) SetInt(id FieldID, v int64) { e.Int[id] = v; e.Set |= 1 << id }

// SetBool sets a bool field.
func (e *Event) SetBool(id FieldID, b bool) {
	e.Int[id] = 0
	if b {
		e.Int[id] = 1
	}
	e.Set |= 1 << id
}

// SetList sets a list field.
func (e *Event) SetList(id FieldID, l []string) {
	e.lists[listSlot[id]] = l
	e.Set |= 1 << id
}

// List returns a list field (nil for fields that are not lists).
func (e *Event) List(id FieldID) []string {
	if slot := listSlot[id]; slot >= 0 {
		return e.lists[slot]
	}
	return nil
}

// Bool returns a bool field.
func (e *Event) Bool(id FieldID) bool { return e.Int[id] != 0 }

// Time returns event_time as a time.Time in UTC.
func (e *Event) Time() time.Time { return time.UnixMilli(e.Int[EventTime]).UTC() }

// Value returns the typed value of field id, and false when it is absent.
func (e *Event) Value(id FieldID) (Value, bool) {
	if !e.Has(id) {
		return Value{}, false
	}
	switch k := catalog[id].Kind; k {
	case KindString:
		return Value{Kind: k, Str: e.Str[id]}, true
	case KindList:
		return Value{Kind: k, List: e.List(id)}, true
	default:
		return Value{Kind: k, Int: e.Int[id]}, true
	}
}

// Value is one field's value.
type Value struct {
	Kind Kind
	Str  string
	Int  int64 // ints, times (epoch ms) and bools (0, 1)
	List []string
}

// String renders the value as text, the way it prints in a table.
func (v Value) String() string {
	switch v.Kind {
	case KindString:
		return v.Str
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindBool:
		return strconv.FormatBool(v.Int != 0)
	case KindTime:
		return time.UnixMilli(v.Int).UTC().Format("2006-01-02T15:04:05.000Z")
	case KindList:
		b := []byte{'['}
		for i, s := range v.List {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, s)
		}
		return string(append(b, ']'))
	}
	return ""
}

// MaxTime is the end of year 9999 in epoch ms: the latest time spoor
// stores, the last a date key can name, and the "no upper bound" of every
// time range.
const MaxTime = 253402300799999

// DateKeyOf renders the partition key "YYYY-MM-DD-HH" of an epoch-ms time.
func DateKeyOf(ms int64) string {
	t := time.UnixMilli(ms).UTC()
	var b [13]byte
	y, mo, d := t.Date()
	h := t.Hour()
	put := func(i, v, n int) {
		for j := n - 1; j >= 0; j-- {
			b[i+j] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	b[4] = '-'
	put(5, int(mo), 2)
	b[7] = '-'
	put(8, d, 2)
	b[10] = '-'
	put(11, h, 2)
	return string(b[:])
}

// MetaKeys are the top-level keys of a Threat Stack event that describe the
// host rather than the event; they go to Event.Meta.
var MetaKeys = []string{"network_metadata", "agent_metadata", "host_metadata", "provider_metadata",
	"alert_metadata", "workloadMetadata", "containerLabels"}

var metaKeySet = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range MetaKeys {
		m[k] = true
	}
	return m
}()

// RawObject returns the residual original as one JSON object: Raw and Meta
// together (it allocates only when both hold keys).
func (e *Event) RawObject() []byte { return MergeObjects(e.Raw, e.Meta) }

// MergeObjects joins the members of two JSON object texts with disjoint keys.
func MergeObjects(a, b []byte) []byte {
	if len(b) <= 2 {
		return a
	}
	if len(a) <= 2 {
		return b
	}
	out := make([]byte, 0, len(a)+len(b))
	out = append(out, a[:len(a)-1]...)
	out = append(out, ',')
	return append(out, b[1:]...)
}
