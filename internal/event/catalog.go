// Package event is spoor's vocabulary: the Event, the catalog of its typed fields
// (names, kinds, original Threat Stack keys, aliases) and the normalisation of
// Threat Stack raw events into it. It imports nothing else of spoor's.
package event

// Kind is the type of a typed field.
type Kind uint8

const (
	KindString Kind = iota + 1
	KindInt
	KindBool
	KindTime // epoch milliseconds, UTC
	KindList // list of strings
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindInt:
		return "int"
	case KindBool:
		return "bool"
	case KindTime:
		return "time"
	case KindList:
		return "list"
	}
	return "unknown"
}

// FieldID names a typed field; it is also the field's column position.
type FieldID uint8

// The typed fields, in column order.
const (
	ID FieldID = iota
	OrganizationID
	AgentID
	EventTime
	InsertTime
	EventType
	DateKey
	Hostname
	// process and audit
	Syscall
	Type
	Success
	Exit
	PID
	PPID
	UID
	AUID
	GID
	User
	Group
	Session
	TTY
	Exe
	Command
	Args
	Arguments
	CWD
	Path
	ParentExe
	ContainerID
	ContainerImage
	// network
	SrcIP
	SrcPort
	DstIP
	DstPort
	Protocol
	Direction
	// Windows
	WinEventID
	Channel
	RecordNumber
	SID
	Domain
	Summary
	Subtype
	// CloudTrail
	EventName
	EventSource
	UserType
	UserARN
	AWSRegion
	ErrorCode
	UserAgent
	// host metadata
	OSVersion
	Kernel
	InstanceID
	PrivateIP
	PublicIP
	CloudProvider
	AccountID
	// Threat Stack's second time field, usually equal to event_time.
	Timestamp
	// Kubernetes audit (after the rest so that the field numbers stored in
	// WAL batches keep their meaning); verb and resource use event_name and
	// event_source, as CloudTrail's call and service do.
	Namespace
	ObjectName
	ResponseCode

	NumFields int = iota
)

// Field describes one typed field.
type Field struct {
	ID   FieldID
	Name string // column name
	Kind Kind
	// Key is the top-level key of a Threat Stack raw event that holds this
	// field's value, "" when the value comes from elsewhere (nested, derived).
	// A value found under Key with the JSON type of Kind lives only in the
	// typed column; the residual raw JSON does not repeat it.
	Key string
	// Aliases are other names users know the field by (original keys of other
	// sources, Threat Stack UI names). Lookup accepts them.
	Aliases []string
	// Dict says the column has few distinct values and is dictionary encoded.
	Dict bool
}

var catalog = [NumFields]Field{
	{ID, "_id", KindString, "_id", []string{"id"}, false},
	{OrganizationID, "organization_id", KindString, "organization_id", []string{"organizationId"}, true},
	{AgentID, "agent_id", KindString, "agent_id", []string{"agentId"}, true},
	{EventTime, "event_time", KindTime, "event_time", []string{"eventTime"}, false},
	{InsertTime, "_insert_time", KindTime, "", nil, false},
	{EventType, "event_type", KindString, "event_type", []string{"tsEventType", "eventType"}, true},
	{DateKey, "date_key", KindString, "", nil, true},
	{Hostname, "hostname", KindString, "hostname", []string{"host"}, true},
	{Syscall, "syscall", KindString, "syscall", nil, true},
	{Type, "type", KindString, "type", nil, true},
	{Success, "success", KindBool, "success", nil, false},
	{Exit, "exit", KindString, "exit", nil, true},
	{PID, "pid", KindInt, "pid", nil, false},
	{PPID, "ppid", KindInt, "ppid", nil, false},
	{UID, "uid", KindInt, "uid", nil, false},
	{AUID, "auid", KindInt, "auid", nil, false},
	{GID, "gid", KindInt, "gid", nil, false},
	{User, "user", KindString, "user", nil, true},
	{Group, "group", KindString, "group", nil, true},
	{Session, "session", KindInt, "session", nil, false},
	{TTY, "tty", KindString, "tty", nil, true},
	{Exe, "exe", KindString, "exe", nil, true},
	{Command, "command", KindString, "command", nil, true},
	{Args, "args", KindList, "args", nil, false},
	{Arguments, "arguments", KindString, "arguments", nil, false},
	{CWD, "cwd", KindString, "cwd", nil, true},
	{Path, "path", KindList, "path", nil, false},
	{ParentExe, "parent_exe", KindString, "parent_exe", []string{"parentExe"}, true},
	{ContainerID, "container_id", KindString, "containerId", []string{"containerId"}, true},
	{ContainerImage, "container_image", KindString, "containerImage", []string{"containerImage"}, true},
	{SrcIP, "src_ip", KindString, "src_ip", []string{"srcIp", "sourceIPAddress"}, true},
	{SrcPort, "src_port", KindInt, "src_port", []string{"srcPort"}, false},
	{DstIP, "dst_ip", KindString, "dst_ip", []string{"dstIp"}, true},
	{DstPort, "dst_port", KindInt, "dst_port", []string{"dstPort"}, false},
	{Protocol, "protocol", KindString, "protocol", nil, true},
	{Direction, "direction", KindString, "direction", nil, true},
	{WinEventID, "win_event_id", KindInt, "win_event_id", []string{"EventID", "event_id"}, false},
	{Channel, "channel", KindString, "channel", []string{"Channel"}, true},
	{RecordNumber, "record_number", KindInt, "record_number", []string{"RecordNumber", "EventRecordID"}, false},
	{SID, "sid", KindString, "sid", nil, true},
	{Domain, "domain", KindString, "domain", nil, true},
	{Summary, "summary", KindString, "summary", nil, true},
	{Subtype, "_subtype", KindString, "_subtype", nil, true},
	{EventName, "event_name", KindString, "eventName", []string{"eventName"}, true},
	{EventSource, "event_source", KindString, "eventSource", []string{"eventSource"}, true},
	{UserType, "user_type", KindString, "userType", []string{"userType"}, true},
	{UserARN, "user_arn", KindString, "userArn", []string{"userArn", "userIdentity.arn"}, true},
	{AWSRegion, "aws_region", KindString, "awsRegion", []string{"awsRegion"}, true},
	{ErrorCode, "error_code", KindString, "errorCode", []string{"errorCode"}, true},
	{UserAgent, "user_agent", KindString, "userAgent", []string{"userAgent"}, true},
	{OSVersion, "os_version", KindString, "", nil, true},
	{Kernel, "kernel", KindString, "", nil, true},
	{InstanceID, "instance_id", KindString, "", nil, true},
	{PrivateIP, "private_ip", KindString, "", nil, true},
	{PublicIP, "public_ip", KindString, "", nil, true},
	{CloudProvider, "cloud_provider", KindString, "", nil, true},
	{AccountID, "account_id", KindString, "", nil, true},
	{Timestamp, "timestamp", KindTime, "timestamp", nil, false},
	{Namespace, "namespace", KindString, "", []string{"objectRef.namespace"}, true},
	{ObjectName, "object_name", KindString, "", []string{"objectRef.name"}, true},
	{ResponseCode, "response_code", KindInt, "", []string{"responseStatus.code"}, false},
}

// RawColumn is the column that holds the residual original event: every
// original key whose value is not held, as is, by a typed column.
const RawColumn = "raw"

// Catalog returns the typed fields in column order.
func Catalog() []Field { return catalog[:] }

// Get returns the field with this id.
func Get(id FieldID) Field { return catalog[id] }

var byName = func() map[string]FieldID {
	m := make(map[string]FieldID, NumFields*2)
	for _, f := range catalog {
		m[f.Name] = f.ID
	}
	for _, f := range catalog {
		for _, a := range f.Aliases {
			if _, taken := m[a]; !taken {
				m[a] = f.ID
			}
		}
	}
	return m
}()

var byKey = func() map[string]FieldID {
	m := make(map[string]FieldID, NumFields)
	for _, f := range catalog {
		if f.Key != "" {
			m[f.Key] = f.ID
		}
	}
	return m
}()

// Lookup resolves a field name or alias (case-sensitive) to a typed field.
// Names that are not typed fields live in the raw column under their
// original name.
func Lookup(name string) (Field, bool) {
	id, ok := byName[name]
	if !ok {
		return Field{}, false
	}
	return catalog[id], true
}
