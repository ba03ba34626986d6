package query

import (
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
)

const sysmonEvent = `{"_id": "b1", "event_time": 1654272000531, "event_type": "sysmon", "user": "CORP\\alice",
  "win_event_id": 10, "channel": "Microsoft-Windows-Sysmon/Operational", "record_number": 26017698,
  "SourceImage": "C:\\Users\\alice\\AppData\\Local\\Temp\\procdump64.exe", "SourceProcessGUID": "{8c5cb2a4-1c3a-62a1-d704-000000000b00}",
  "SourceProcessId": 6412, "SourceThreadId": 7172, "TargetImage": "C:\\Windows\\system32\\lsass.exe",
  "TargetProcessGUID": "{8c5cb2a4-1b5d-62a1-0c00-000000000b00}", "TargetProcessId": 664, "GrantedAccess": "0x1410",
  "CallTrace": "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2bcae|UNKNOWN(00000000001B1A3C)",
  "RuleName": "-", "UtcTime": "2022-06-03 15:20:00.531", "host_metadata": {"hostname": "WIN-DC01", "os_version": "Windows Server 2016"},
  "workloadMetadata": {"env": "prod", "role": "prod.dc.1"}}`

// BenchmarkMatch measures the Go matcher on the kinds of query streaming
// rules and suppressions run.
func BenchmarkMatch(b *testing.B) {
	linux := normalize(b, `{"_id": "b0", "agent_id": "65e341d1-c0d2-11ec-99e9-333bd87d55e3", "event_time": 1654273630167,
	  "event_type": "audit", "args": ["ps", "-e", "-o", "pid,ppid,state,command"], "arguments": "ps -e -o pid,ppid,state,command",
	  "auid": 4294967295, "command": "ps", "cwd": "/usr/bin", "exe": "/usr/bin/ps", "pid": 2596, "ppid": 1, "session": 4294967295,
	  "success": true, "syscall": "execve", "uid": 0, "user": "root", "header": {"id": 3162035, "sequenceId": 427161847792120600}}`)
	sysmon := normalize(b, sysmonEvent)
	cases := []struct {
		name, q string
		e       *event.Event
		want    bool
	}{
		{"typed/suppression", `user = 'root' AND tty = null AND cwd = '/usr/bin' AND session = '4294967295' AND auid = '4294967295' AND arguments = 'ps -e -o pid,ppid,state,command' AND exe = '/usr/bin/ps'`, linux, true},
		{"typed/miss-first", `event_type = "login" AND agent_id = "436dd34c-f795-11ea-a752-21e3e3eb7c50"`, linux, false},
		{"typed/time-range", `agent_id = "65e341d1-c0d2-11ec-99e9-333bd87d55e3" AND event_time >= 1654273600000 AND event_time <= 1654273700000`, linux, true},
		{"typed/text-ops", `exe regex '/(nc|ncat|socat)$' OR arguments like '%curl%169.254.169.254%' OR args in ('-e', 'sh')`, linux, true},
		{"raw/lsass", `GrantedAccess = '0x1410' OR (TargetImage ends_with 'lsass.exe' AND NOT user in ('SYSTEM', "LOCAL SERVICE"))`, sysmon, true},
		{"raw/numeric", `event_type = 'sysmon' AND SourceProcessId > 1000 AND CallTrace contains 'UNKNOWN'`, sysmon, true},
		{"raw/nested", `workloadMetadata.env = 'prod' AND header.id = 3162035`, sysmon, false},
	}
	for _, c := range cases {
		m, err := CompileString(c.q)
		if err != nil {
			b.Fatal(err)
		}
		if got := m.Match(c.e); got != c.want {
			b.Fatalf("%s: Match = %v", c.q, got)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Match(c.e)
			}
		})
	}
}

// TestMatchConcurrent shares one matcher between goroutines (run with
// -race): the raw parser state is per call.
func TestMatchConcurrent(t *testing.T) {
	m, err := CompileString(`GrantedAccess = '0x1410' AND SourceProcessId > 1000 AND NOT user = 'SYSTEM'`)
	if err != nil {
		t.Fatal(err)
	}
	a := normalize(t, sysmonEvent)
	b := normalize(t, `{"_id": "b2", "event_time": 1654272000531, "GrantedAccess": "0x1010", "SourceProcessId": 4}`)
	done := make(chan bool)
	for g := range 4 {
		go func() {
			ok := true
			for i := range 2000 {
				e, want := a, true
				if (i+g)%2 == 1 {
					e, want = b, false
				}
				ok = ok && m.Match(e) == want
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("a concurrent Match gave a wrong answer")
		}
	}
}
