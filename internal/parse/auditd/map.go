package auditd

import (
	"encoding/hex"
	json "github.com/goccy/go-json"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/elastic/go-libaudit/v2/aucoalesce"
	"github.com/elastic/go-libaudit/v2/auparse"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
)

// unsetID is how the kernel writes an id that was never set (auid, ses);
// go-libaudit turns it into "unset", spoor keeps the number.
const unsetID = 4294967295

// mapper turns one reassembled audit event into a spoor event. It keeps
// scratch buffers between events.
type mapper struct {
	raw   []byte
	reuse bool // Decoder.ReuseRaw
	// orders keeps the key orders of the coalesced events' maps.
	orders keyOrders
	// agentHost and agentID cache the agent_id of the last host.
	agentHost, agentID string
}

// eventType is spoor's event_type of an audit record type.
func eventType(t auparse.AuditMessageType) string {
	switch t {
	case auparse.AUDIT_USER_LOGIN, auparse.AUDIT_USER_AUTH, auparse.AUDIT_USER_START,
		auparse.AUDIT_CRED_ACQ, auparse.AUDIT_CRED_REFR, auparse.AUDIT_USER_ACCT, auparse.AUDIT_LOGIN:
		return "login"
	case auparse.AUDIT_USER_END, auparse.AUDIT_USER_LOGOUT, auparse.AUDIT_CRED_DISP:
		return "logout"
	}
	return "audit"
}

// build maps msgs, the records of one audit event, to a spoor event, or
// says why the event is rejected.
func (m *mapper) build(host string, msgs []*auparse.AuditMessage) (*event.Event, *parse.Rejection) {
	first, _ := msgs[0].Payload.(*record)
	line := int64(0)
	if first != nil {
		line = first.line
	}
	ev, err := aucoalesce.CoalesceMessages(msgs)
	if err != nil || ev == nil {
		detail := "no event"
		if err != nil {
			detail = err.Error()
		}
		return nil, &parse.Rejection{Line: line, Reason: ReasonBadEvent,
			Detail: detail + " (sequence " + strconv.FormatUint(uint64(msgs[0].Sequence), 10) + ")"}
	}

	e := new(event.Event)
	e.SetInt(event.EventTime, ev.Timestamp.UnixMilli())
	e.SetString(event.EventType, eventType(ev.Type))
	e.SetString(event.Type, strings.ToLower(ev.Type.String()))
	if host != "" {
		e.SetString(event.Hostname, host)
		if host != m.agentHost {
			m.agentHost, m.agentID = host, parse.HostAgentID(host)
		}
		e.SetString(event.AgentID, m.agentID)
	}
	seq := strconv.FormatUint(uint64(ev.Sequence), 10)
	e.SetString(event.ID, parse.HashID(host, "auditd", seq, timestampText(msgs[0].RawData)))

	tail := tailFields(msgs)
	d := ev.Data

	if s := d["syscall"]; s != "" {
		if isDigits(s) && tail["SYSCALL"] != "" {
			s = tail["SYSCALL"]
		}
		e.SetString(event.Syscall, s)
	}
	switch ev.Result {
	case "success":
		e.SetBool(event.Success, true)
	case "fail":
		e.SetBool(event.Success, false)
	}
	if s := d["exit"]; s != "" {
		e.SetString(event.Exit, s)
	}
	setInt(e, event.PID, ev.Process.PID)
	setInt(e, event.PPID, ev.Process.PPID)
	setInt(e, event.UID, ev.User.IDs["uid"])
	setInt(e, event.AUID, ev.User.IDs["auid"])
	setInt(e, event.GID, ev.User.IDs["gid"])
	setInt(e, event.Session, ev.Session)

	if s := d["tty"]; s != "" && s != "(none)" {
		e.SetString(event.TTY, s)
	} else if s := d["terminal"]; s != "" && s != "(none)" {
		e.SetString(event.TTY, s)
	}

	user := d["acct"]
	if user == "" {
		user = tail["UID"]
	}
	if user == "" {
		user = tail["ID"]
	}
	if user == "" {
		user = ev.ECS.User.Name
	}
	if user != "" && user != "unset" {
		e.SetString(event.User, user)
	}
	group := tail["GID"]
	if group == "" {
		group = ev.ECS.Group.Name
	}
	if group != "" && group != "unset" {
		e.SetString(event.Group, group)
	}

	if s := ev.Process.Exe; s != "" {
		e.SetString(event.Exe, s)
	}
	if s := ev.Process.Name; s != "" {
		e.SetString(event.Command, s)
	}
	args := ev.Process.Args
	if len(args) == 0 {
		args = execveArgs(msgs)
	}
	if len(args) == 0 {
		args = proctitleArgs(msgs)
	}
	if len(args) > 0 {
		e.SetList(event.Args, args)
		e.SetString(event.Arguments, strings.Join(args, " "))
	}
	if ev.Type == auparse.AUDIT_USER_CMD {
		userCmd(e, d["cmd"])
	}
	if s := ev.Process.CWD; s != "" {
		e.SetString(event.CWD, s)
	} else if s := d["cwd"]; s != "" {
		e.SetString(event.CWD, s)
	}
	if s := d["kernel"]; s != "" { // DAEMON_START: the kernel auditd started on
		e.SetString(event.Kernel, s)
	}
	if len(ev.Paths) > 0 {
		paths := make([]string, 0, len(ev.Paths))
		for _, p := range ev.Paths {
			if name := p["name"]; name != "" {
				paths = append(paths, name)
			}
		}
		if len(paths) > 0 {
			e.SetList(event.Path, paths)
		}
	}
	mapNetwork(e, ev)

	raw, rej := m.raw2(ev, msgs, line)
	if rej != nil {
		return nil, rej
	}
	e.Raw = raw
	return e, nil
}

// userCmd sets command and args from the command sudo ran (USER_CMD's cmd,
// which auparse has hex-decoded when it was hex). sudo joins the arguments
// with spaces, so that is where they are split again.
func userCmd(e *event.Event, cmd string) {
	args := strings.Fields(cmd)
	if len(args) == 0 {
		return
	}
	e.SetString(event.Command, path.Base(args[0]))
	e.SetList(event.Args, args)
	e.SetString(event.Arguments, strings.Join(args, " "))
}

// mapNetwork sets the addresses and direction of socket and login events.
func mapNetwork(e *event.Event, ev *aucoalesce.Event) {
	d := ev.Data
	switch d["syscall"] {
	case "connect", "sendto", "sendmsg":
		if setAddr(e, event.DstIP, event.DstPort, d["socket_addr"], d["socket_port"]) {
			e.SetString(event.Direction, "outbound")
		}
		return
	case "accept", "accept4", "recvfrom", "recvmsg":
		if setAddr(e, event.SrcIP, event.SrcPort, d["socket_addr"], d["socket_port"]) {
			e.SetString(event.Direction, "inbound")
		}
		return
	case "bind", "listen":
		// The local address a server takes: the destination of what it
		// will receive.
		if setAddr(e, event.DstIP, event.DstPort, d["socket_addr"], d["socket_port"]) {
			e.SetString(event.Direction, "inbound")
		}
		return
	}
	if ev.Source != nil {
		ip := ev.Source.IP
		if ip == "" {
			ip = d["hostname"]
		}
		if setAddr(e, event.SrcIP, event.SrcPort, ip, ev.Source.Port) {
			e.SetString(event.Direction, "inbound")
		}
	} else if h := d["hostname"]; h != "" && net.ParseIP(h) != nil {
		setAddr(e, event.SrcIP, event.SrcPort, h, "")
	}
}

// setAddr sets an ip (only a valid one) and port; it reports whether it set
// the ip.
func setAddr(e *event.Event, ipf, portf event.FieldID, ip, port string) bool {
	if ip == "" || net.ParseIP(ip) == nil {
		return false
	}
	e.SetString(ipf, ip)
	if p, err := strconv.ParseUint(port, 10, 16); err == nil {
		e.SetInt(portf, int64(p))
	}
	return true
}

// setInt sets an int field from decimal text; "unset" is 4294967295.
func setInt(e *event.Event, f event.FieldID, s string) {
	if s == "" {
		return
	}
	if s == "unset" {
		e.SetInt(f, unsetID)
		return
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		e.SetInt(f, v)
	}
}

// timestampText returns "1604994496.155" of "audit(1604994496.155:92733): ...".
func timestampText(raw string) string {
	i := strings.IndexByte(raw, '(')
	j := strings.IndexByte(raw, ':')
	if i < 0 || j < i {
		return ""
	}
	return raw[i+1 : j]
}

// tailFields parses the enrichment tails of the records (KEY=value or
// KEY="value" pairs); the first record naming a key wins.
func tailFields(msgs []*auparse.AuditMessage) map[string]string {
	var out map[string]string
	for _, msg := range msgs {
		rec, _ := msg.Payload.(*record)
		if rec == nil || rec.tail == "" {
			continue
		}
		if out == nil {
			out = make(map[string]string, 8)
		}
		s := rec.tail
		for s != "" {
			s = strings.TrimLeft(s, " ")
			eq := strings.IndexByte(s, '=')
			if eq <= 0 {
				break
			}
			key := s[:eq]
			s = s[eq+1:]
			var val string
			if strings.HasPrefix(s, `"`) {
				end := strings.IndexByte(s[1:], '"')
				if end < 0 {
					val, s = s[1:], ""
				} else {
					val, s = s[1:1+end], s[2+end:]
				}
			} else {
				end := strings.IndexByte(s, ' ')
				if end < 0 {
					val, s = s, ""
				} else {
					val, s = s[:end], s[end:]
				}
			}
			if _, ok := out[key]; !ok {
				out[key] = val
			}
		}
	}
	return out
}

// fieldValue returns the raw text of key=value in an audit record's text,
// quotes kept.
func fieldValue(raw, key string) (string, bool) {
	for off := 0; off < len(raw); {
		i := strings.Index(raw[off:], key+"=")
		if i < 0 {
			return "", false
		}
		i += off
		if i == 0 || raw[i-1] == ' ' {
			v := raw[i+len(key)+1:]
			if strings.HasPrefix(v, `"`) {
				if end := strings.IndexByte(v[1:], '"'); end >= 0 {
					return v[:end+2], true
				}
				return v, true
			}
			if end := strings.IndexByte(v, ' '); end >= 0 {
				v = v[:end]
			}
			return v, true
		}
		off = i + len(key) + 1
	}
	return "", false
}

// decodeValue decodes an audit field value: quoted text as is, else hex.
func decodeValue(v string) (string, bool) {
	if strings.HasPrefix(v, `"`) {
		return strings.Trim(v, `"`), true
	}
	if v == "(null)" {
		return "", false
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return v, true
	}
	return string(b), true
}

// execveArgs reads EXECVE arguments go-libaudit gave up on: arguments too
// long for one field, logged as aN_len=N aN[0]=HEX aN[1]=HEX ..., possibly
// across several EXECVE records.
func execveArgs(msgs []*auparse.AuditMessage) []string {
	var texts []string
	for _, msg := range msgs {
		if msg.RecordType == auparse.AUDIT_EXECVE {
			texts = append(texts, msg.RawData)
		}
	}
	if len(texts) == 0 {
		return nil
	}
	argcText, ok := fieldValue(texts[0], "argc")
	if !ok {
		return nil
	}
	argc, err := strconv.Atoi(argcText)
	if err != nil || argc <= 0 || argc > 1<<16 {
		return nil
	}
	find := func(key string) (string, bool) {
		for _, t := range texts {
			if v, ok := fieldValue(t, key); ok {
				return v, true
			}
		}
		return "", false
	}
	args := make([]string, 0, min(argc, 64))
	for i := 0; i < argc; i++ {
		key := "a" + strconv.Itoa(i)
		if v, ok := find(key); ok {
			s, _ := decodeValue(v)
			args = append(args, s)
			continue
		}
		if _, ok := find(key + "_len"); !ok {
			break
		}
		var sb strings.Builder
		for k := 0; ; k++ {
			v, ok := find(key + "[" + strconv.Itoa(k) + "]")
			if !ok {
				break
			}
			s, _ := decodeValue(v)
			sb.WriteString(s)
		}
		args = append(args, sb.String())
	}
	return args
}

// proctitleArgs splits the PROCTITLE record's command line on its NULs,
// for events without an EXECVE record.
func proctitleArgs(msgs []*auparse.AuditMessage) []string {
	for _, msg := range msgs {
		if msg.RecordType != auparse.AUDIT_PROCTITLE {
			continue
		}
		v, ok := fieldValue(msg.RawData, "proctitle")
		if !ok {
			return nil
		}
		if strings.HasPrefix(v, `"`) {
			if s := strings.Trim(v, `"`); s != "" {
				return []string{s}
			}
			return nil
		}
		b, err := hex.DecodeString(v)
		if err != nil {
			return []string{v}
		}
		parts := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(parts) == 1 && parts[0] == "" {
			return nil
		}
		return parts
	}
	return nil
}

// raw2 renders Raw: the coalesced event as JSON plus "records", the
// original lines, and "warnings" when go-libaudit had any.
func (m *mapper) raw2(ev *aucoalesce.Event, msgs []*auparse.AuditMessage, line int64) ([]byte, *parse.Rejection) {
	out, ok := appendEvent(m.raw[:0], ev, &m.orders)
	if !ok {
		b, err := json.Marshal(ev)
		if err != nil || len(b) < 2 {
			detail := "empty encoding"
			if err != nil {
				detail = err.Error()
			}
			return nil, &parse.Rejection{Line: line, Reason: ReasonBadEvent, Detail: "encode: " + detail}
		}
		out = append(out, b...)
	}
	out = out[:len(out)-1]
	out = append(out, `,"records":[`...)
	for i, msg := range msgs {
		if i > 0 {
			out = append(out, ',')
		}
		text := msg.RawData
		if rec, ok := msg.Payload.(*record); ok {
			text = rec.text
		}
		out = appendText(out, text)
		if len(out) > event.MaxEventBytes {
			break
		}
	}
	out = append(out, ']')
	if len(ev.Warnings) > 0 {
		// Sorted: go-libaudit makes some of them (duplicate keys) while
		// ranging over a map, and the same records must give the same Raw.
		ws := make([]string, len(ev.Warnings))
		for i, w := range ev.Warnings {
			ws[i] = w.Error()
		}
		slices.Sort(ws)
		out = append(out, `,"warnings":[`...)
		for i, w := range ws {
			if i > 0 {
				out = append(out, ',')
			}
			out = appendText(out, w)
		}
		out = append(out, ']')
	}
	out = append(out, '}')
	m.raw = out[:0]
	if len(out) > event.MaxEventBytes {
		return nil, &parse.Rejection{Line: line, Reason: ReasonEventTooLarge,
			Detail: "sequence " + strconv.FormatUint(uint64(ev.Sequence), 10) + ": over " + strconv.Itoa(len(out)) + " bytes, limit " + strconv.Itoa(event.MaxEventBytes)}
	}
	if m.reuse {
		return out, nil
	}
	return append([]byte(nil), out...), nil
}
