package auditd

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elastic/go-libaudit/v2/aucoalesce"
)

// appendEvent appends ev as JSON, byte for byte what json.Marshal (goccy's,
// with its defaults) writes for it: the struct's fields in order, its
// omitempty rules, sorted map keys and HTML-safe string escapes. It walks
// the struct directly instead of through reflection, which cost a sixth of
// the decoder. It returns false, having appended nothing, for a timestamp
// json.Marshal refuses (a year outside 0-9999), so the caller keeps the
// library's error. TestEventJSONMatchesMarshal and FuzzEventJSON hold it to
// json.Marshal.
//
// ko, when not nil, keeps the maps' key orders from one event to the next.
func appendEvent(b []byte, ev *aucoalesce.Event, ko *keyOrders) ([]byte, bool) {
	if y := ev.Timestamp.Year(); y < 0 || y > 9999 {
		return b, false
	}
	b = append(b, `{"@timestamp":"`...)
	b = ev.Timestamp.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","sequence":`...)
	b = strconv.AppendUint(b, uint64(ev.Sequence), 10)
	b = append(b, `,"category":`...)
	b = appendJSON(b, ev.Category.String())
	b = append(b, `,"record_type":`...)
	b = appendJSON(b, strings.ToLower(ev.Type.String()))
	b = appendOpt(b, `,"result":`, ev.Result)
	b = append(b, `,"session":`...)
	b = appendJSON(b, ev.Session)
	if len(ev.Tags) > 0 {
		b = appendList(append(b, `,"tags":`...), ev.Tags)
	}

	s := &ev.Summary
	b = append(b, `,"summary":{"actor":{`...)
	b = appendMembers(b, "primary", s.Actor.Primary, "secondary", s.Actor.Secondary)
	b = append(b, '}')
	b = appendOpt(b, `,"action":`, s.Action)
	b = append(b, `,"object":{`...)
	b = appendMembers(b, "type", s.Object.Type, "primary", s.Object.Primary, "secondary", s.Object.Secondary)
	b = append(b, '}')
	b = appendOpt(b, `,"how":`, s.How)

	b = append(b, `},"user":{`...)
	n := len(b)
	b = appendMapMember(b, n, "ids", ev.User.IDs, ko.of(orderIDs))
	b = appendMapMember(b, n, "names", ev.User.Names, ko.of(orderNames))
	b = appendMapMember(b, n, "selinux", ev.User.SELinux, ko.of(orderSELinux))

	p := &ev.Process
	b = append(b, `},"process":{`...)
	n = len(b)
	b = appendMembers(b, "pid", p.PID, "ppid", p.PPID, "title", p.Title, "name", p.Name, "exe", p.Exe, "cwd", p.CWD)
	if len(p.Args) > 0 {
		b = appendList(appendKey(b, n, "args"), p.Args)
	}
	b = append(b, '}')

	if f := ev.File; f != nil {
		b = append(b, `,"file":{`...)
		n = len(b)
		b = appendMembers(b, "path", f.Path, "device", f.Device, "inode", f.Inode, "mode", f.Mode,
			"uid", f.UID, "gid", f.GID, "owner", f.Owner, "group", f.Group)
		b = appendMapMember(b, n, "selinux", f.SELinux, ko.of(orderSELinux))
		b = append(b, '}')
	}
	b = appendAddress(b, `,"source":{`, ev.Source)
	b = appendAddress(b, `,"destination":{`, ev.Dest)
	if ev.Net != nil {
		b = append(b, `,"network":{"direction":`...)
		b = appendJSON(b, ev.Net.Direction.String())
		b = append(b, '}')
	}
	if len(ev.Data) > 0 {
		b = appendMap(append(b, `,"data":`...), ev.Data, ko.of(orderData))
	}
	if len(ev.Paths) > 0 {
		b = append(b, `,"paths":[`...)
		for i, m := range ev.Paths {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendMap(b, m, ko.of(orderPath))
		}
		b = append(b, ']')
	}

	e := &ev.ECS
	b = append(b, `,"ecs":{"event":{`...)
	n = len(b)
	b = appendMembers(b, "kind", e.Event.Kind)
	if len(e.Event.Category) > 0 {
		b = appendList(appendKey(b, n, "category"), e.Event.Category)
	}
	if len(e.Event.Type) > 0 {
		b = appendList(appendKey(b, n, "type"), e.Event.Type)
	}
	if e.Event.Outcome != "" {
		b = appendJSON(appendKey(b, n, "outcome"), e.Event.Outcome)
	}
	b = append(b, `},"user":{`...)
	b = appendMembers(b, "name", e.User.Name, "id", e.User.ID)
	if len(b) > 0 && b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = appendEntity(append(b, `"effective":`...), e.User.Effective)
	b = appendEntity(append(b, `,"target":`...), e.User.Target)
	b = appendEntity(append(b, `,"changes":`...), e.User.Changes)
	b = appendEntity(append(b, `},"group":`...), e.Group)
	return append(b, "}}"...), true
}

// appendMembers appends the non-empty ones of key, value pairs as object
// members, after a comma unless they open the object.
func appendMembers(b []byte, kv ...string) []byte {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, kv[i]...)
		b = append(b, `":`...)
		b = appendJSON(b, kv[i+1])
	}
	return b
}

// appendKey appends `"key":`, after a comma unless the object opened at
// start is still empty.
func appendKey(b []byte, start int, key string) []byte {
	if len(b) > start {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, `":`...)
}

// appendOpt appends prefix and s, an omitempty member, unless s is empty.
func appendOpt(b []byte, prefix, s string) []byte {
	if s == "" {
		return b
	}
	return appendJSON(append(b, prefix...), s)
}

func appendMapMember(b []byte, start int, key string, m map[string]string, order *keyOrder) []byte {
	if len(m) == 0 {
		return b
	}
	return appendMap(appendKey(b, start, key), m, order)
}

func appendEntity(b []byte, e aucoalesce.ECSEntityData) []byte {
	b = append(b, '{')
	b = appendMembers(b, "name", e.Name, "id", e.ID)
	return append(b, '}')
}

func appendAddress(b []byte, prefix string, a *aucoalesce.Address) []byte {
	if a == nil {
		return b
	}
	b = append(b, prefix...)
	b = appendMembers(b, "hostname", a.Hostname, "ip", a.IP, "port", a.Port, "path", a.Path)
	return append(b, '}')
}

func appendList(b []byte, l []string) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSON(b, s)
	}
	return append(b, ']')
}

// appendMap appends m with its keys in json.Marshal's order; nil is null.
// order, when not nil, is the key order of the last map written there:
// maps of one kind (an event's data, a PATH record) mostly have the same
// keys, whose order is then not worked out again.
func appendMap(b []byte, m map[string]string, order *keyOrder) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	if order == nil || !order.fits(m) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sortKeys(keys)
		if order == nil {
			order = &keyOrder{}
		}
		order.keys = keys
	}
	b = append(b, '{')
	for i, k := range order.keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSON(b, k)
		b = append(b, ':')
		b = appendJSON(b, m[k])
	}
	return append(b, '}')
}

// keyOrder is the sorted keys of the last map of a kind.
type keyOrder struct{ keys []string }

// fits says whether m has exactly the keys of o: as many, and each of
// them.
func (o *keyOrder) fits(m map[string]string) bool {
	if len(o.keys) != len(m) || o.keys == nil {
		return false
	}
	for _, k := range o.keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

// The kinds of maps in a coalesced event.
const (
	orderIDs = iota
	orderNames
	orderSELinux
	orderData
	orderPath
	numOrders
)

// keyOrders keeps a keyOrder per kind of map.
type keyOrders [numOrders]keyOrder

func (ko *keyOrders) of(kind int) *keyOrder {
	if ko == nil {
		return nil
	}
	return &ko[kind]
}

// sortKeys sorts a map's keys as json.Marshal does.
func sortKeys(keys []string) {
	plain := true
	for _, k := range keys {
		plain = plain && plainKey(k)
	}
	if plain {
		slices.Sort(keys)
	} else {
		sortEncoded(keys)
	}
}

// plainKey says whether k is written as it is and sorts the same bare as
// encoded: json.Marshal orders a map by its keys' encodings (`"k",`), and
// only a byte below '"' or an escape can make that differ from the order
// of the keys themselves.
func plainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		switch c := k[i]; {
		case c <= '"', c >= utf8.RuneSelf, c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// sortEncoded sorts keys by their encodings, as json.Marshal does.
func sortEncoded(keys []string) {
	enc := make(map[string]string, len(keys))
	for _, k := range keys {
		enc[k] = string(append(appendJSON(nil, k), ','))
	}
	slices.SortFunc(keys, func(a, b string) int { return strings.Compare(enc[a], enc[b]) })
}
