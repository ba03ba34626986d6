package lake

import "github.com/spoor-dev/spoor/internal/event"

// partRow is one row of a part as a Go struct, so parquet-go writes events
// column by column without building generic rows. Its fields follow the
// part schema's column order (alphabetical: parquet.Group sorts by name);
// TestPartRowMatchesSchema keeps the two equal, or the writer would fall
// back to its slow path. Pointers point into the event: nil is NULL.
// Encodings come from the part schema, not from these tags.
type partRow struct {
	Id             string   `parquet:"_id"`
	InsertTime     int64    `parquet:"_insert_time,timestamp(millisecond)"`
	Lifted         int64    `parquet:"_lifted"`
	Subtype        *string  `parquet:"_subtype,optional"`
	AccountId      *string  `parquet:"account_id,optional"`
	AgentId        *string  `parquet:"agent_id,optional"`
	Args           []string `parquet:"args,optional,list"`
	Arguments      *string  `parquet:"arguments,optional"`
	Auid           *int64   `parquet:"auid,optional"`
	AwsRegion      *string  `parquet:"aws_region,optional"`
	Channel        *string  `parquet:"channel,optional"`
	CloudProvider  *string  `parquet:"cloud_provider,optional"`
	Command        *string  `parquet:"command,optional"`
	ContainerId    *string  `parquet:"container_id,optional"`
	ContainerImage *string  `parquet:"container_image,optional"`
	Cwd            *string  `parquet:"cwd,optional"`
	DateKey        string   `parquet:"date_key"`
	Direction      *string  `parquet:"direction,optional"`
	Domain         *string  `parquet:"domain,optional"`
	DstIp          *string  `parquet:"dst_ip,optional"`
	DstPort        *int64   `parquet:"dst_port,optional"`
	ErrorCode      *string  `parquet:"error_code,optional"`
	EventName      *string  `parquet:"event_name,optional"`
	EventSource    *string  `parquet:"event_source,optional"`
	EventTime      int64    `parquet:"event_time,timestamp(millisecond)"`
	EventType      *string  `parquet:"event_type,optional"`
	Exe            *string  `parquet:"exe,optional"`
	Exit           *string  `parquet:"exit,optional"`
	Gid            *int64   `parquet:"gid,optional"`
	Group          *string  `parquet:"group,optional"`
	Hostname       *string  `parquet:"hostname,optional"`
	InstanceId     *string  `parquet:"instance_id,optional"`
	Kernel         *string  `parquet:"kernel,optional"`
	Meta           *string  `parquet:"meta,optional"`
	Namespace      *string  `parquet:"namespace,optional"`
	ObjectName     *string  `parquet:"object_name,optional"`
	OrganizationId string   `parquet:"organization_id"`
	OsVersion      *string  `parquet:"os_version,optional"`
	ParentExe      *string  `parquet:"parent_exe,optional"`
	Path           []string `parquet:"path,optional,list"`
	Pid            *int64   `parquet:"pid,optional"`
	Ppid           *int64   `parquet:"ppid,optional"`
	PrivateIp      *string  `parquet:"private_ip,optional"`
	Protocol       *string  `parquet:"protocol,optional"`
	PublicIp       *string  `parquet:"public_ip,optional"`
	Raw            string   `parquet:"raw"`
	RecordNumber   *int64   `parquet:"record_number,optional"`
	ResponseCode   *int64   `parquet:"response_code,optional"`
	Session        *int64   `parquet:"session,optional"`
	Sid            *string  `parquet:"sid,optional"`
	SrcIp          *string  `parquet:"src_ip,optional"`
	SrcPort        *int64   `parquet:"src_port,optional"`
	Success        *bool    `parquet:"success,optional"`
	Summary        *string  `parquet:"summary,optional"`
	Syscall        *string  `parquet:"syscall,optional"`
	Timestamp      *int64   `parquet:"timestamp,timestamp(millisecond)"`
	Tty            *string  `parquet:"tty,optional"`
	Type           *string  `parquet:"type,optional"`
	Uid            *int64   `parquet:"uid,optional"`
	User           *string  `parquet:"user,optional"`
	UserAgent      *string  `parquet:"user_agent,optional"`
	UserArn        *string  `parquet:"user_arn,optional"`
	UserType       *string  `parquet:"user_type,optional"`
	WinEventId     *int64   `parquet:"win_event_id,optional"`

	b    bool   // storage for the boolean pointer
	meta string // storage for the meta pointer
}

// fill sets r from e.
func (r *partRow) fill(e *event.Event) {
	r.Id = e.Str[event.ID]
	r.InsertTime = e.Int[event.InsertTime]
	r.Lifted = int64(e.Lifted)
	r.Subtype = str(e, event.Subtype)
	r.AccountId = str(e, event.AccountID)
	r.AgentId = str(e, event.AgentID)
	r.Args = list(e, event.Args)
	r.Arguments = str(e, event.Arguments)
	r.Auid = num(e, event.AUID)
	r.AwsRegion = str(e, event.AWSRegion)
	r.Channel = str(e, event.Channel)
	r.CloudProvider = str(e, event.CloudProvider)
	r.Command = str(e, event.Command)
	r.ContainerId = str(e, event.ContainerID)
	r.ContainerImage = str(e, event.ContainerImage)
	r.Cwd = str(e, event.CWD)
	r.DateKey = e.Str[event.DateKey]
	r.Direction = str(e, event.Direction)
	r.Domain = str(e, event.Domain)
	r.DstIp = str(e, event.DstIP)
	r.DstPort = num(e, event.DstPort)
	r.ErrorCode = str(e, event.ErrorCode)
	r.EventName = str(e, event.EventName)
	r.EventSource = str(e, event.EventSource)
	r.EventTime = e.Int[event.EventTime]
	r.EventType = str(e, event.EventType)
	r.Exe = str(e, event.Exe)
	r.Exit = str(e, event.Exit)
	r.Gid = num(e, event.GID)
	r.Group = str(e, event.Group)
	r.Hostname = str(e, event.Hostname)
	r.InstanceId = str(e, event.InstanceID)
	r.Kernel = str(e, event.Kernel)
	r.Meta = nil
	if len(e.Meta) > 0 {
		r.meta = unsafeString(e.Meta)
		r.Meta = &r.meta
	}
	r.Namespace = str(e, event.Namespace)
	r.ObjectName = str(e, event.ObjectName)
	r.OrganizationId = e.Str[event.OrganizationID]
	r.OsVersion = str(e, event.OSVersion)
	r.ParentExe = str(e, event.ParentExe)
	r.Path = list(e, event.Path)
	r.Pid = num(e, event.PID)
	r.Ppid = num(e, event.PPID)
	r.PrivateIp = str(e, event.PrivateIP)
	r.Protocol = str(e, event.Protocol)
	r.PublicIp = str(e, event.PublicIP)
	r.Raw = unsafeString(e.Raw)
	r.RecordNumber = num(e, event.RecordNumber)
	r.ResponseCode = num(e, event.ResponseCode)
	r.Session = num(e, event.Session)
	r.Sid = str(e, event.SID)
	r.SrcIp = str(e, event.SrcIP)
	r.SrcPort = num(e, event.SrcPort)
	r.Success = r.boolean(e, event.Success)
	r.Summary = str(e, event.Summary)
	r.Syscall = str(e, event.Syscall)
	r.Timestamp = num(e, event.Timestamp)
	r.Tty = str(e, event.TTY)
	r.Type = str(e, event.Type)
	r.Uid = num(e, event.UID)
	r.User = str(e, event.User)
	r.UserAgent = str(e, event.UserAgent)
	r.UserArn = str(e, event.UserARN)
	r.UserType = str(e, event.UserType)
	r.WinEventId = num(e, event.WinEventID)
}

func str(e *event.Event, id event.FieldID) *string {
	if !e.Has(id) {
		return nil
	}
	return &e.Str[id]
}

func num(e *event.Event, id event.FieldID) *int64 {
	if !e.Has(id) {
		return nil
	}
	return &e.Int[id]
}

func (r *partRow) boolean(e *event.Event, id event.FieldID) *bool {
	if !e.Has(id) {
		return nil
	}
	r.b = e.Bool(id)
	return &r.b
}

// list returns a present list as non-nil (empty stays empty, not NULL).
func list(e *event.Event, id event.FieldID) []string {
	if !e.Has(id) {
		return nil
	}
	if l := e.List(id); l != nil {
		return l
	}
	return []string{}
}
