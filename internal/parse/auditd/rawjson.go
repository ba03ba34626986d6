package auditd

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elastic/go-libaudit/v2/aucoalesce"

	"github.com/spoor-dev/spoor/internal/event"
)

// appendEvent appends ev as JSON, byte for byte what json.Marshal (goccy's,
// with its defaults) writes for it: the struct's fields in order, its
// omitempty rules, sorted map keys and HTML-safe string escapes. It walks
// the struct directly instead of through reflection, which cost a sixth of
// the decoder. It returns false, having appended nothing, for a timestamp
// json.Marshal refuses (a year outside 0-9999), so the caller keeps the
// library's error. TestEventJSONMatchesMarshal and FuzzEventJSON hold it to
// json.Marshal.
func appendEvent(b []byte, ev *aucoalesce.Event) ([]byte, bool) {
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
	b = appendMapMember(b, n, "ids", ev.User.IDs)
	b = appendMapMember(b, n, "names", ev.User.Names)
	b = appendMapMember(b, n, "selinux", ev.User.SELinux)

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
		b = appendMapMember(b, n, "selinux", f.SELinux)
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
		b = appendMap(append(b, `,"data":`...), ev.Data)
	}
	if len(ev.Paths) > 0 {
		b = append(b, `,"paths":[`...)
		for i, m := range ev.Paths {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendMap(b, m)
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

func appendMapMember(b []byte, start int, key string, m map[string]string) []byte {
	if len(m) == 0 {
		return b
	}
	return appendMap(appendKey(b, start, key), m)
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
func appendMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var buf [32]string
	keys := buf[:0]
	plain := true
	for k := range m {
		keys = append(keys, k)
		plain = plain && plainKey(k)
	}
	if plain {
		slices.Sort(keys)
	} else {
		sortEncoded(keys)
	}
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSON(b, k)
		b = append(b, ':')
		b = appendJSON(b, m[k])
	}
	return append(b, '}')
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

// appendJSON appends s as a JSON string the way json.Marshal does by
// default: event.AppendJSONString's escapes and U+FFFD for invalid UTF-8,
// and besides <, > and & escaped for HTML and U+2028, U+2029 escaped. In
// AppendJSONString's output those characters only stand for themselves,
// so they are escaped after it.
func appendJSON(b []byte, s string) []byte {
	start := len(b)
	b = event.AppendJSONString(b, s)
	i := start
	for i < len(b) && b[i] != '<' && b[i] != '>' && b[i] != '&' && b[i] != 0xe2 {
		i++
	}
	if i == len(b) {
		return b
	}
	rest := string(b[i:])
	b = b[:i]
	for j := 0; j < len(rest); j++ {
		switch c := rest[j]; {
		case c == '<' || c == '>' || c == '&':
			b = append(b, '\\', 'u', '0', '0', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		case c == 0xe2 && strings.HasPrefix(rest[j:], "\u2028"):
			b, j = append(b, `\u2028`...), j+2
		case c == 0xe2 && strings.HasPrefix(rest[j:], "\u2029"):
			b, j = append(b, `\u2029`...), j+2
		default:
			b = append(b, c)
		}
	}
	return b
}
