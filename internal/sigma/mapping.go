package sigma

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spoor-dev/spoor/internal/event"
	"gopkg.in/yaml.v3"
)

// Mapping says, per Sigma logsource, which spoor events a rule applies to
// and where each Sigma field is read from.
type Mapping struct {
	Sources []*Source
}

// Source maps one Sigma logsource (Product, Category, Service; "" where the
// rule names none) onto spoor events. A rule may be served by several
// sources (process_creation by Sysmon 1 and by Security 4688): it matches
// an event when any of them does.
type Source struct {
	Name                       string
	Product, Category, Service string
	// The logsource's condition on the event; an empty list accepts any.
	EventTypes []string // event_type
	EventIDs   []int64  // win_event_id
	Channels   []string // channel, compared case-insensitively
	// Require holds further conditions: a spoor column or a "raw:<path>"
	// → accepted values (case-insensitive), e.g. syscall: [execve] or
	// raw:EventType: [DeleteKey, DeleteValue]. A field without one of the
	// values (absent too) fails it.
	Require map[string][]string
	// Fields maps a Sigma field name to where its value is read. A target
	// is a spoor column name ("exe"), "raw:<path>" (a key of the raw JSON
	// object, dots for nesting), "audit:<key>" (a key=value of the
	// auditd records) or "fn:initiated" (true for outbound connections).
	// Several targets are ORed: the field has each of their values.
	Fields map[string][]string
	// Default is where fields that Fields does not name are read: "raw"
	// (the raw path of the same name), "audit" (the auditd key of the same
	// name) or "" (such a field makes the rule fail to compile).
	Default string
}

func (s *Source) serves(l Logsource) bool {
	return s.Product == l.Product && s.Category == l.Category && s.Service == l.Service
}

// targets returns where Sigma field f is read, and false when nowhere.
func (s *Source) targets(f string) ([]string, bool) {
	if t, ok := s.Fields[f]; ok {
		return t, len(t) > 0
	}
	switch s.Default {
	case "raw":
		return []string{"raw:" + f}, true
	case "audit":
		return []string{"audit:" + f}, true
	}
	return nil, false
}

func (m *Mapping) sourcesFor(l Logsource) []*Source {
	var out []*Source
	for _, s := range m.Sources {
		if s.serves(l) {
			out = append(out, s)
		}
	}
	if len(out) == 0 && l.Category != "" && l.Service != "" {
		return m.sourcesFor(Logsource{Product: l.Product, Category: l.Category})
	}
	return out
}

const (
	chanSysmon = "Microsoft-Windows-Sysmon/Operational"
)

// windowsServices maps Sigma's Windows services to their event log channels.
var windowsServices = map[string][]string{
	"system":                               {"System"},
	"application":                          {"Application"},
	"powershell":                           {"Microsoft-Windows-PowerShell/Operational"},
	"powershell-classic":                   {"Windows PowerShell"},
	"taskscheduler":                        {"Microsoft-Windows-TaskScheduler/Operational"},
	"wmi":                                  {"Microsoft-Windows-WMI-Activity/Operational"},
	"dns-server":                           {"DNS Server"},
	"dns-client":                           {"Microsoft-Windows-DNS Client Events/Operational"},
	"driver-framework":                     {"Microsoft-Windows-DriverFrameworks-UserMode/Operational"},
	"ntlm":                                 {"Microsoft-Windows-NTLM/Operational"},
	"windefend":                            {"Microsoft-Windows-Windows Defender/Operational"},
	"firewall-as":                          {"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"},
	"bits-client":                          {"Microsoft-Windows-Bits-Client/Operational"},
	"applocker":                            {"Microsoft-Windows-AppLocker/MSI and Script", "Microsoft-Windows-AppLocker/EXE and DLL", "Microsoft-Windows-AppLocker/Packaged app-Deployment", "Microsoft-Windows-AppLocker/Packaged app-Execution"},
	"codeintegrity-operational":            {"Microsoft-Windows-CodeIntegrity/Operational"},
	"msexchange-management":                {"MSExchange Management"},
	"appxdeployment-server":                {"Microsoft-Windows-AppXDeploymentServer/Operational"},
	"appxpackaging-om":                     {"Microsoft-Windows-AppxPackaging/Operational"},
	"appmodel-runtime":                     {"Microsoft-Windows-AppModel-Runtime/Admin"},
	"capi2":                                {"Microsoft-Windows-CAPI2/Operational"},
	"diagnosis-scripted":                   {"Microsoft-Windows-Diagnosis-Scripted/Operational"},
	"iis-configuration":                    {"Microsoft-IIS-Configuration/Operational"},
	"ldap":                                 {"Microsoft-Windows-LDAP-Client/Debug"},
	"lsa-server":                           {"Microsoft-Windows-LSA/Operational"},
	"microsoft-servicebus-client":          {"Microsoft-ServiceBus-Client"},
	"security-mitigations":                 {"Microsoft-Windows-Security-Mitigations/Kernel Mode", "Microsoft-Windows-Security-Mitigations/User Mode"},
	"shell-core":                           {"Microsoft-Windows-Shell-Core/Operational"},
	"smbclient-security":                   {"Microsoft-Windows-SmbClient/Security"},
	"smbserver-connectivity":               {"Microsoft-Windows-SMBServer/Connectivity"},
	"terminalservices-localsessionmanager": {"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"},
	"openssh":                              {"OpenSSH/Operational"},
	"certificateservicesclient-lifecycle-system": {"Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"},
	"vhdmp":                    {"Microsoft-Windows-VHDMP-Operational"},
	"printservice-admin":       {"Microsoft-Windows-PrintService/Admin"},
	"printservice-operational": {"Microsoft-Windows-PrintService/Operational"},
	"hyper-v-worker":           {"Microsoft-Windows-Hyper-V-Worker"},
	"kernel-shimengine":        {"Microsoft-Windows-Kernel-ShimEngine/Operational"},
	"sysmon":                   {chanSysmon},
}

// sysmonCategories maps Sigma's Windows categories to Sysmon event ids.
var sysmonCategories = map[string][]int64{
	"process_creation":         {1},
	"file_change":              {2},
	"network_connection":       {3},
	"sysmon_status":            {4, 16},
	"process_termination":      {5},
	"driver_load":              {6},
	"image_load":               {7},
	"create_remote_thread":     {8},
	"raw_access_thread":        {9},
	"process_access":           {10},
	"file_event":               {11},
	"registry_add":             {12},
	"registry_delete":          {12},
	"registry_set":             {13},
	"registry_rename":          {14},
	"registry_event":           {12, 13, 14},
	"create_stream_hash":       {15},
	"pipe_created":             {17, 18},
	"wmi_event":                {19, 20, 21},
	"dns_query":                {22},
	"file_delete":              {23, 26},
	"clipboard_capture":        {24},
	"process_tampering":        {25},
	"file_block_executable":    {27},
	"file_block_shredding":     {28},
	"file_executable_detected": {29},
	"sysmon_error":             {255},
}

// sysmonRequire narrows a category within its event ids: Sysmon event 12
// is both a key created and a key or value deleted, told apart by its
// EventType (as pySigma's Sysmon pipeline does). Events 13 (SetValue) and
// 14 (RenameKey) need no such test. An event 12 without EventType (NXLog
// exports that overwrote it with their own) is neither add nor delete, and
// still a registry_event.
var sysmonRequire = map[string]map[string][]string{
	"registry_add":    {"raw:EventType": {"CreateKey"}},
	"registry_delete": {"raw:EventType": {"DeleteKey", "DeleteValue"}},
}

// windowsCommon are fields every Windows source reads the same way.
var windowsCommon = map[string][]string{
	"Provider_Name": {"raw:Provider", "raw:SourceName"},
	"Computer":      {"raw:Computer", "raw:Hostname"},
	"Channel":       {"channel"},
	"EventID":       {"win_event_id"},
}

func withCommon(m map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range windowsCommon {
		out[k] = v
	}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// DefaultMapping returns spoor's mapping of the Sigma logsources it has data
// for: Windows (Sysmon categories, Security 4688 process creation and 4663
// file access, PowerShell, services by channel, keywords on any Windows
// log), Linux auditd (service auditd, keywords on product linux, and the
// process_creation, file_event and network_connection categories read from
// it) and AWS CloudTrail. What it leaves out, and why, is in
// docs/detection.md.
func DefaultMapping() *Mapping {
	m := &Mapping{}
	add := func(s *Source) { m.Sources = append(m.Sources, s) }
	for _, cat := range sortedKeys(sysmonCategories) {
		add(&Source{Name: "sysmon-" + cat, Product: "windows", Category: cat,
			EventTypes: []string{"sysmon"}, EventIDs: sysmonCategories[cat], Require: sysmonRequire[cat],
			Fields: withCommon(nil), Default: "raw"})
	}
	// Keyword rules on any Windows log (product windows alone).
	add(&Source{Name: "windows", Product: "windows", EventTypes: []string{"winsec", "sysmon", "windows"},
		Fields: withCommon(nil), Default: "raw"})
	// file_access is the Kernel-File ETW provider's in SigmaHQ; what spoor
	// stores of file reads is the Security log's object access audit, 4663
	// on a File object: ObjectName is the file, ProcessName the reader.
	add(&Source{Name: "security-4663-file_access", Product: "windows", Category: "file_access",
		EventTypes: []string{"winsec"}, EventIDs: []int64{4663}, Require: map[string][]string{"raw:ObjectType": {"File"}},
		Fields: withCommon(map[string][]string{
			"FileName":       {"raw:ObjectName"},
			"TargetFilename": {"raw:ObjectName"},
			"Image":          {"exe"},
			"ProcessId":      {"raw:ProcessId"},
			"User":           {"raw:SubjectUserName"},
			"ParentImage":    {}, // 4663 does not name the parent
		}), Default: "raw"})
	add(&Source{Name: "security-4688", Product: "windows", Category: "process_creation",
		EventTypes: []string{"winsec"}, EventIDs: []int64{4688},
		Fields: withCommon(map[string][]string{
			"Image":           {"raw:NewProcessName"},
			"ParentImage":     {"raw:ParentProcessName"},
			"ProcessId":       {"raw:NewProcessId"},
			"ParentProcessId": {"raw:ProcessId"},
			"User":            {"raw:SubjectUserName"},
			"LogonId":         {"raw:SubjectLogonId"},
		}), Default: "raw"})
	add(&Source{Name: "security", Product: "windows", Service: "security",
		EventTypes: []string{"winsec"}, Fields: withCommon(nil), Default: "raw"})
	for _, svc := range sortedKeys(windowsServices) {
		et := "windows"
		if svc == "sysmon" {
			et = "sysmon"
		}
		add(&Source{Name: "service-" + svc, Product: "windows", Service: svc,
			EventTypes: []string{et}, Channels: windowsServices[svc], Fields: withCommon(nil), Default: "raw"})
	}
	ps := "Microsoft-Windows-PowerShell/Operational"
	add(&Source{Name: "ps_script", Product: "windows", Category: "ps_script", EventTypes: []string{"windows"},
		Channels: []string{ps}, EventIDs: []int64{4104}, Fields: withCommon(nil), Default: "raw"})
	add(&Source{Name: "ps_module", Product: "windows", Category: "ps_module", EventTypes: []string{"windows"},
		Channels: []string{ps}, EventIDs: []int64{4103}, Fields: withCommon(nil), Default: "raw"})
	add(&Source{Name: "ps_classic_start", Product: "windows", Category: "ps_classic_start", EventTypes: []string{"windows"},
		Channels: []string{"Windows PowerShell"}, EventIDs: []int64{400}, Fields: withCommon(nil), Default: "raw"})
	add(&Source{Name: "ps_classic_provider_start", Product: "windows", Category: "ps_classic_provider_start", EventTypes: []string{"windows"},
		Channels: []string{"Windows PowerShell"}, EventIDs: []int64{600}, Fields: withCommon(nil), Default: "raw"})

	// Linux: auditd, as spoor reads it.
	auditFields := map[string][]string{
		"type":    {"audit:type"},
		"syscall": {"syscall", "audit:syscall"},
		"SYSCALL": {"audit:SYSCALL", "syscall"},
		"exe":     {"exe", "audit:exe"},
		"comm":    {"command", "audit:comm"},
	}
	add(&Source{Name: "auditd", Product: "linux", Service: "auditd",
		EventTypes: []string{"audit", "login", "logout"}, Fields: auditFields, Default: "audit"})
	// Keyword rules on any Linux log (product linux alone, written for
	// syslog and shell history) search what spoor keeps of Linux: the
	// auditd events, whose raw holds every argument and record.
	add(&Source{Name: "linux", Product: "linux",
		EventTypes: []string{"audit", "login", "logout"}, Fields: auditFields, Default: "audit"})
	add(&Source{Name: "linux-process_creation", Product: "linux", Category: "process_creation",
		EventTypes: []string{"audit"}, Require: map[string][]string{"syscall": {"execve", "execveat"}},
		Fields: map[string][]string{
			"Image": {"exe"}, "CommandLine": {"arguments"}, "ParentImage": {"parent_exe"},
			"User": {"user"}, "CurrentDirectory": {"cwd"}, "ProcessId": {"pid"}, "ParentProcessId": {"ppid"},
			// Sysmon for Linux's LogonId is the login uid, auditd's auid.
			"LogonId":          {"auid"},
			"OriginalFileName": {}, // no such data: left unmapped on purpose
		}})
	add(&Source{Name: "linux-file_event", Product: "linux", Category: "file_event",
		EventTypes: []string{"audit"}, Require: map[string][]string{"syscall": {"creat", "open", "openat", "openat2", "rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "mknod", "mknodat", "truncate", "ftruncate"}},
		Fields: map[string][]string{
			"TargetFilename": {"path"}, "Image": {"exe"}, "User": {"user"}, "ProcessId": {"pid"},
		}})
	add(&Source{Name: "linux-network_connection", Product: "linux", Category: "network_connection",
		EventTypes: []string{"audit"}, Require: map[string][]string{"syscall": {"connect", "accept", "accept4", "bind", "sendto", "sendmsg", "recvfrom", "recvmsg"}},
		Fields: map[string][]string{
			"Image": {"exe"}, "User": {"user"}, "ProcessId": {"pid"},
			"DestinationIp": {"dst_ip"}, "DestinationPort": {"dst_port"},
			"SourceIp": {"src_ip"}, "SourcePort": {"src_port"}, "Protocol": {"protocol"},
			"Initiated": {"fn:initiated"},
		}})
	add(&Source{Name: "cloudtrail", Product: "aws", Service: "cloudtrail",
		EventTypes: []string{"cloudtrail"}, Default: "raw"})
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

type yamlSource struct {
	Name       string               `yaml:"name"`
	Product    string               `yaml:"product"`
	Category   string               `yaml:"category"`
	Service    string               `yaml:"service"`
	EventType  yaml.Node            `yaml:"event_type"`
	WinEventID yaml.Node            `yaml:"win_event_id"`
	Channel    yaml.Node            `yaml:"channel"`
	Require    map[string]yaml.Node `yaml:"require"`
	Fields     map[string]yaml.Node `yaml:"fields"`
	Default    string               `yaml:"default"`
	Disabled   bool                 `yaml:"disabled"`
}

// LoadMapping reads a mapping in YAML (shape in the package doc) and
// applies it over DefaultMapping: a source with the name of a default one
// replaces it (or removes it with disabled: true), others are added; with
// replace: true the default mapping is not used at all.
func LoadMapping(yamlText []byte) (*Mapping, error) {
	var doc struct {
		Replace    bool         `yaml:"replace"`
		Logsources []yamlSource `yaml:"logsources"`
	}
	if err := yaml.Unmarshal(yamlText, &doc); err != nil {
		return nil, fmt.Errorf("sigma mapping: %w", err)
	}
	m := &Mapping{}
	if !doc.Replace {
		m = DefaultMapping()
	}
	for i, ys := range doc.Logsources {
		s, err := ys.source()
		if err != nil {
			return nil, fmt.Errorf("sigma mapping: logsource %d (%s): %w", i+1, ys.Name, err)
		}
		j := slices.IndexFunc(m.Sources, func(o *Source) bool { return s.Name != "" && o.Name == s.Name })
		switch {
		case j >= 0 && ys.Disabled:
			m.Sources = slices.Delete(m.Sources, j, j+1)
		case j >= 0:
			m.Sources[j] = s
		case !ys.Disabled:
			m.Sources = append(m.Sources, s)
		}
	}
	return m, nil
}

func (ys *yamlSource) source() (*Source, error) {
	s := &Source{Name: ys.Name, Product: strings.ToLower(ys.Product), Category: strings.ToLower(ys.Category),
		Service: strings.ToLower(ys.Service), Default: ys.Default}
	var err error
	if s.EventTypes, err = stringList(nodeOrNil(&ys.EventType)); err != nil {
		return nil, fmt.Errorf("event_type: %w", err)
	}
	if s.Channels, err = stringList(nodeOrNil(&ys.Channel)); err != nil {
		return nil, fmt.Errorf("channel: %w", err)
	}
	ids, err := stringList(nodeOrNil(&ys.WinEventID))
	if err != nil {
		return nil, fmt.Errorf("win_event_id: %w", err)
	}
	for _, id := range ids {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("win_event_id: %q is not an integer", id)
		}
		s.EventIDs = append(s.EventIDs, n)
	}
	switch s.Default {
	case "", "raw", "audit":
	default:
		return nil, fmt.Errorf("default %q: want raw, audit or nothing", s.Default)
	}
	if len(ys.Require) > 0 {
		s.Require = map[string][]string{}
		for k, v := range ys.Require {
			vs, err := stringList(&v)
			if err != nil {
				return nil, fmt.Errorf("require %s: %w", k, err)
			}
			if _, err := parseTarget(k); err != nil {
				return nil, fmt.Errorf("require %s: %w", k, err)
			}
			s.Require[k] = vs
		}
	}
	s.Fields = map[string][]string{}
	for k, v := range ys.Fields {
		ts, err := stringList(&v)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", k, err)
		}
		for _, t := range ts {
			if _, err := parseTarget(t); err != nil {
				return nil, fmt.Errorf("field %s: %w", k, err)
			}
		}
		s.Fields[k] = ts
	}
	return s, nil
}

func nodeOrNil(n *yaml.Node) *yaml.Node {
	if n.Kind == 0 {
		return nil
	}
	return n
}

// columnByName maps spoor column names to typed fields.
var columnByName = func() map[string]event.FieldID {
	m := map[string]event.FieldID{}
	for _, f := range event.Catalog() {
		m[f.Name] = f.ID
	}
	return m
}()
