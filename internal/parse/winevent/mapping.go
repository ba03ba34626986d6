package winevent

import (
	"strconv"
	"strings"

	"github.com/spoor-dev/spoor/internal/event"
)

// rec is one Windows event whatever its source, as the mapping needs it.
type rec struct {
	id                          int64
	hasID                       bool
	channel, provider, computer string
	recNum                      int64
	hasRec                      bool
	ms                          int64
	hasTime                     bool
	keywords                    uint64
	hasKW                       bool
	kwText                      string // Winlogbeat keywords / NXLog EventType, when no bit mask
	category, message           string
	task                        int64 // task number, for a category from taskName
	hasTask                     bool
	data                        []kv // EventData / UserData members as text, original names
	// lookup, when set, finds EventData members instead of data (NXLog:
	// only the members the mapping asks for are read).
	lookup func(k string) string
	// dataSum, when set, is the hash of the EventData for the _id (NXLog),
	// instead of one of data.
	dataSum string
}

type kv struct{ k, v string }

// get returns the text of an EventData member; "-" and "" are absent.
func (r *rec) get(k string) string {
	if r.lookup != nil {
		if v := r.lookup(k); v != "-" {
			return v
		}
		return ""
	}
	for i := range r.data {
		if r.data[i].k == k {
			if v := r.data[i].v; v != "-" {
				return v
			}
			return ""
		}
	}
	return ""
}

func (r *rec) first(ks ...string) string {
	for _, k := range ks {
		if v := r.get(k); v != "" {
			return v
		}
	}
	return ""
}

const (
	chanSysmon   = "Microsoft-Windows-Sysmon/Operational"
	provSysmon   = "Microsoft-Windows-Sysmon"
	kwAuditOK    = 0x0020000000000000
	kwAuditFail  = 0x0010000000000000
	reasonShape  = "not a Windows event"
	maxRecordLen = 4 * event.MaxEventBytes
)

// fill sets e's typed fields from r and Raw to raw.
func fill(e *event.Event, r *rec, raw []byte) error {
	if len(raw) > event.MaxEventBytes {
		return &event.RejectError{Reason: event.ReasonTooLarge, Detail: strconv.Itoa(len(raw)) + " bytes, limit " + strconv.Itoa(event.MaxEventBytes)}
	}
	if !r.hasTime {
		return &event.RejectError{Reason: event.ReasonNoTime, Detail: "no TimeCreated, EventTime or @timestamp"}
	}
	e.SetInt(event.EventTime, r.ms)
	sysmon := strings.EqualFold(r.channel, chanSysmon) || r.provider == provSysmon
	sec := strings.EqualFold(r.channel, "Security")
	switch {
	case sysmon:
		e.SetString(event.EventType, "sysmon")
	case sec:
		e.SetString(event.EventType, "winsec")
	default:
		e.SetString(event.EventType, "windows")
	}
	if r.hasID {
		e.SetInt(event.WinEventID, r.id)
	}
	if r.channel != "" {
		e.SetString(event.Channel, r.channel)
	}
	if r.hasRec {
		e.SetInt(event.RecordNumber, r.recNum)
	}
	if r.computer != "" {
		e.SetString(event.Hostname, r.computer)
	}
	if r.message != "" {
		s := r.message
		if i := strings.IndexAny(s, "\r\n"); i >= 0 {
			s = s[:i]
		}
		if s = strings.TrimSpace(s); s != "" {
			e.SetString(event.Summary, s)
		}
	}
	if r.category == "" && r.hasTask {
		r.category = taskName(r.provider, r.task)
	}
	if r.category != "" {
		e.SetString(event.Subtype, r.category)
	}
	if id, ok := recordID(r); ok {
		e.SetString(event.ID, id)
	}
	switch {
	case r.hasKW && r.keywords&kwAuditFail != 0, r.kwText == "AUDIT_FAILURE", r.kwText == "Audit Failure":
		e.SetBool(event.Success, false)
	case r.hasKW && r.keywords&kwAuditOK != 0, r.kwText == "AUDIT_SUCCESS", r.kwText == "Audit Success":
		e.SetBool(event.Success, true)
	}
	if r.hasID {
		if sysmon {
			mapSysmon(e, r)
		} else if sec {
			mapSecurity(e, r)
		}
	}
	e.Raw = raw
	return nil
}

func mapSysmon(e *event.Event, r *rec) {
	exe, pid, user := r.get("Image"), r.get("ProcessId"), r.get("User")
	if r.id == 8 || r.id == 10 {
		exe, pid = r.get("SourceImage"), r.get("SourceProcessId")
		if user == "" {
			user = r.get("SourceUser")
		}
	}
	setExe(e, exe)
	setNum(e, event.PID, pid)
	setNum(e, event.PPID, r.get("ParentProcessId"))
	setStr(e, event.ParentExe, r.get("ParentImage"))
	setStr(e, event.Arguments, r.get("CommandLine"))
	setNum(e, event.Session, r.get("LogonId"))
	if user != "" {
		if i := strings.IndexByte(user, '\\'); i >= 0 {
			setStr(e, event.Domain, user[:i])
			user = user[i+1:]
		}
		setStr(e, event.User, user)
	}
	switch r.id {
	case 3:
		setStr(e, event.SrcIP, r.get("SourceIp"))
		setNum(e, event.SrcPort, r.get("SourcePort"))
		setStr(e, event.DstIP, r.get("DestinationIp"))
		setNum(e, event.DstPort, r.get("DestinationPort"))
		setStr(e, event.Protocol, protoName(r.get("Protocol")))
		switch strings.ToLower(r.get("Initiated")) {
		case "true":
			e.SetString(event.Direction, "outbound")
		case "false":
			e.SetString(event.Direction, "inbound")
		}
	case 2, 11, 15, 23, 26, 27, 28, 29:
		setPath(e, r.get("TargetFilename"))
	case 12, 13, 14:
		setPath(e, r.get("TargetObject"))
	case 6, 7:
		setPath(e, r.get("ImageLoaded"))
	}
}

func mapSecurity(e *event.Event, r *rec) {
	switch r.id {
	case 4688:
		setExe(e, r.get("NewProcessName"))
		setNum(e, event.PID, r.get("NewProcessId"))
		setNum(e, event.PPID, r.get("ProcessId"))
		setStr(e, event.Arguments, r.get("CommandLine"))
		setStr(e, event.ParentExe, r.get("ParentProcessName"))
	case 5156, 5157, 5158:
		setExe(e, r.get("Application"))
		setNum(e, event.PID, r.first("ProcessID", "ProcessId"))
		setStr(e, event.SrcIP, r.get("SourceAddress"))
		setNum(e, event.SrcPort, r.get("SourcePort"))
		setStr(e, event.DstIP, r.get("DestAddress"))
		setNum(e, event.DstPort, r.get("DestPort"))
		setStr(e, event.Protocol, protoName(r.get("Protocol")))
		switch d := r.get("Direction"); d {
		case "%%14593", "Outbound":
			e.SetString(event.Direction, "outbound")
		case "%%14592", "Inbound":
			e.SetString(event.Direction, "inbound")
		}
	default:
		setExe(e, r.get("ProcessName"))
		setNum(e, event.PID, r.get("ProcessId"))
	}
	target := false
	switch r.id {
	case 4624, 4625, 4634, 4647, 4648, 4720, 4722, 4723, 4724, 4725, 4726, 4738, 4740, 4767:
		target = true
	}
	if target && r.first("TargetUserName", "TargetSid", "TargetUserSid") != "" {
		setStr(e, event.User, r.get("TargetUserName"))
		setStr(e, event.Domain, r.get("TargetDomainName"))
		setStr(e, event.SID, r.first("TargetUserSid", "TargetSid"))
		setNum(e, event.Session, r.first("TargetLogonId", "SubjectLogonId"))
	} else {
		setStr(e, event.User, r.get("SubjectUserName"))
		setStr(e, event.Domain, r.get("SubjectDomainName"))
		setStr(e, event.SID, r.get("SubjectUserSid"))
		sess := r.get("SubjectLogonId")
		if t := r.get("TargetLogonId"); r.id == 4688 && t != "" && strings.Trim(strings.TrimPrefix(strings.ToLower(t), "0x"), "0") != "" {
			// A 4688's new process runs in TargetLogonId when Windows logs
			// one (a process started into another logon, runas, say); the
			// session is the process's, not its creator's.
			sess = t
		}
		setNum(e, event.Session, sess)
	}
	switch r.id {
	case 4624, 4625, 4648:
		setStr(e, event.SrcIP, r.get("IpAddress"))
		setNum(e, event.SrcPort, r.get("IpPort"))
	case 4656, 4658, 4660, 4663:
		setPath(e, r.get("ObjectName"))
	}
	switch r.id {
	case 4624:
		e.SetBool(event.Success, true)
	case 4625:
		e.SetBool(event.Success, false)
	}
}

// setStr sets a string field, trimmed of the white space around it (which
// evtx_dump drops and the EVTX record keeps: "chcp  "); Raw keeps it.
func setStr(e *event.Event, id event.FieldID, s string) {
	s = strings.TrimSpace(s)
	if s != "" && s != "-" {
		e.SetString(id, s)
	}
}

func setPath(e *event.Event, s string) {
	if s = strings.TrimSpace(s); s != "" {
		e.SetList(event.Path, []string{s})
	}
}

// setExe sets exe and command, the exe's base name (NT device paths and
// Windows paths alike).
func setExe(e *event.Event, s string) {
	if s = strings.TrimSpace(s); s == "" {
		return
	}
	e.SetString(event.Exe, s)
	if i := strings.LastIndexAny(s, `\/`); i >= 0 {
		s = s[i+1:]
	}
	if s != "" {
		e.SetString(event.Command, s)
	}
}

// setNum sets an int field from decimal or "0x" hex text.
func setNum(e *event.Event, id event.FieldID, s string) {
	if n, ok := parseNum(s); ok {
		e.SetInt(id, n)
	}
}

func parseNum(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		u, err := strconv.ParseUint(s[2:], 16, 64)
		return int64(u), err == nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	u, err := strconv.ParseUint(s, 10, 64)
	return int64(u), err == nil
}

// protoName names IANA protocol numbers (Security 5156 says "6"); names
// (Sysmon says "tcp") pass through.
func protoName(s string) string {
	switch s {
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "58":
		return "icmpv6"
	}
	return s
}
