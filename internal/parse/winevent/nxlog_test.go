package winevent

import (
	"archive/zip"
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
)

// newlines counts the lines of a zip's members without the line splitter
// the test uses, as an independent count.
func newlines(t *testing.T, path string) int {
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	n := 0
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		n += bytes.Count(b, []byte("\n"))
		if len(b) > 0 && b[len(b)-1] != '\n' {
			n++
		}
	}
	return n
}

func TestNXLogZips(t *testing.T) {
	for _, z := range nxlogZips(t) {
		lines := zipLines(t, z)
		if want := newlines(t, z); len(lines) != want || want == 0 {
			t.Fatalf("%s: %d lines read, %d newlines", z, len(lines), want)
		}
		ok := 0
		types := map[string]int{}
		checkedTasks := 0
		for i, l := range lines {
			if !Looks(l) {
				t.Errorf("%s line %d: Looks false", z, i+1)
			}
			var e event.Event
			if err := Convert(l, &e); err != nil {
				t.Errorf("%s line %d: %v", z, i+1, err)
				continue
			}
			ok++
			types[e.Str[event.EventType]]++
			if !e.Has(event.WinEventID) || !e.Has(event.Hostname) || !e.Has(event.EventTime) || !e.Has(event.Channel) {
				t.Errorf("%s line %d: missing win_event_id, hostname, channel or event_time", z, i+1)
			}
			// Some exports have no RecordNumber: the ingest then hashes Raw.
			if e.Has(event.ID) != bytes.Contains(l, []byte(`"RecordNumber"`)) {
				t.Errorf("%s line %d: _id set %v", z, i+1, e.Has(event.ID))
			}
			// The task table EVTX records are named by agrees with NXLog.
			raw := rawMap(t, &e)
			if task, ok := parseNum(fmtAny(raw["Task"])); ok && raw["Category"] != nil {
				if name := taskName(fmtAny(raw["SourceName"]), task); name != "" && name != raw["Category"] {
					t.Errorf("%s line %d: task %d is %q, NXLog says %q", z, i+1, task, name, raw["Category"])
				}
				checkedTasks++
			}
			if !bytes.Equal(e.Raw, bytes.TrimSpace(l)) {
				t.Errorf("%s line %d: raw is not the line", z, i+1)
			}
		}
		if ok != len(lines) {
			t.Errorf("%s: %d of %d lines converted", z, ok, len(lines))
		}
		t.Logf("%s: %d lines, %v, %d task names checked", filepath.Base(z), ok, types, checkedTasks)
	}
}

func find(t *testing.T, lines [][]byte, want func(e *event.Event, raw map[string]any) bool) (*event.Event, map[string]any) {
	t.Helper()
	for _, l := range lines {
		e := new(event.Event)
		if Convert(l, e) != nil {
			continue
		}
		if m := rawMap(t, e); want(e, m) {
			return e, m
		}
	}
	return nil, nil
}

func TestNXLogSpotChecks(t *testing.T) {
	nxlogZips(t)
	path := filepath.Join(nxlogDir, "rdp_interactive_taskmanager_lsass_dump.zip")
	lines := zipLines(t, path)
	check := func(e *event.Event, fields map[event.FieldID]any) {
		t.Helper()
		for id, want := range fields {
			v, ok := e.Value(id)
			if !ok {
				t.Errorf("%s absent", event.Get(id).Name)
				continue
			}
			got := v.String()
			if w, isList := want.([]string); isList {
				if strings.Join(e.List(id), "|") != strings.Join(w, "|") {
					t.Errorf("%s = %q, want %q", event.Get(id).Name, e.List(id), w)
				}
				continue
			}
			if s, isStr := want.(string); isStr && got != s {
				t.Errorf("%s = %q, want %q", event.Get(id).Name, got, s)
			}
			if n, isInt := want.(int64); isInt && e.Int[id] != n {
				t.Errorf("%s = %d, want %d", event.Get(id).Name, e.Int[id], n)
			}
			if b, isBool := want.(bool); isBool && e.Bool(id) != b {
				t.Errorf("%s = %v, want %v", event.Get(id).Name, e.Bool(id), b)
			}
		}
	}

	// Sysmon 10: taskmgr.exe opens lsass.exe with PROCESS_QUERY_INFORMATION|PROCESS_VM_READ (0x1410).
	e, raw := find(t, lines, func(e *event.Event, raw map[string]any) bool {
		ga, _ := raw["GrantedAccess"].(string)
		ti, _ := raw["TargetImage"].(string)
		n, _ := parseNum(ga)
		return e.Int[event.WinEventID] == 10 && strings.HasSuffix(strings.ToLower(ti), `\lsass.exe`) && n&0x1410 == 0x1410 && e.Str[event.Command] == "taskmgr.exe"
	})
	if e == nil {
		t.Fatal("no Sysmon 10 from taskmgr.exe to lsass.exe with 0x1410")
	}
	check(e, map[event.FieldID]any{
		event.EventType: "sysmon", event.Channel: "Microsoft-Windows-Sysmon/Operational",
		event.Exe: `C:\windows\system32\taskmgr.exe`, event.Command: "taskmgr.exe", event.PID: int64(624),
		event.Hostname: "WORKSTATION5.theshire.local", event.Subtype: "Process accessed (rule: ProcessAccess)",
	})
	if raw["SourceProcessGUID"] == nil || raw["CallTrace"] == nil {
		t.Errorf("raw lacks SourceProcessGUID or CallTrace: %v", raw)
	}
	// The collector is at UTC-4: EventTime 04:38:xx local is 08:38:xx UTC,
	// within a second of Sysmon's own UtcTime.
	utc, _ := raw["UtcTime"].(string)
	if got := e.Time().Format("2006-01-02 15:04:05"); got != utc[:19] {
		t.Errorf("event_time %s, Sysmon UtcTime %s", got, utc)
	}

	// Sysmon 11: taskmgr.exe writes the dump.
	e, _ = find(t, lines, func(e *event.Event, raw map[string]any) bool {
		return e.Int[event.WinEventID] == 11 && len(e.List(event.Path)) == 1 && strings.HasSuffix(e.List(event.Path)[0], ".DMP")
	})
	if e == nil {
		t.Fatal("no Sysmon 11 writing a .DMP")
	}
	check(e, map[event.FieldID]any{
		event.Exe: `C:\windows\system32\taskmgr.exe`, event.Command: "taskmgr.exe",
		event.Path: []string{`C:\Users\pgustavo\AppData\Local\Temp\lsass.DMP`}, event.Subtype: "File created (rule: FileCreate)",
	})

	// 4624 from 1.2.3.4.
	e, _ = find(t, lines, func(e *event.Event, raw map[string]any) bool {
		return e.Int[event.WinEventID] == 4624 && e.Str[event.SrcIP] == "1.2.3.4" && e.Int[event.RecordNumber] == 821612
	})
	if e == nil {
		t.Fatal("no 4624 record 821612")
	}
	check(e, map[event.FieldID]any{
		event.EventType: "winsec", event.User: "pgustavo", event.Domain: "THESHIRE",
		event.SID: "S-1-5-21-4228717743-1032521047-1810997296-1104", event.Session: int64(0xc3e079),
		event.SrcPort: int64(0), event.Success: true, event.Summary: "An account was successfully logged on.",
		event.Subtype: "Logon",
	})

	// 4688: svchost.exe starts TSTheme.exe.
	e, _ = find(t, lines, func(e *event.Event, raw map[string]any) bool {
		return e.Int[event.WinEventID] == 4688 && e.Int[event.RecordNumber] == 821619
	})
	if e == nil {
		t.Fatal("no 4688 record 821619")
	}
	check(e, map[event.FieldID]any{
		event.Exe: `C:\Windows\System32\TSTheme.exe`, event.Command: "TSTheme.exe", event.PID: int64(0x1d7c),
		event.PPID: int64(0x38c), event.Arguments: `C:\windows\system32\TSTheme.exe -Embedding`,
		// session: the new process's logon (TargetLogonId 0x10ac67), not its
		// creator's (SubjectLogonId 0x3e7).
		event.ParentExe: `C:\Windows\System32\svchost.exe`, event.User: "WORKSTATION5$", event.Session: int64(0x10ac67),
		event.Success: true, event.Summary: "A new process has been created.", event.Subtype: "Process Creation",
	})
	if got := e.Time().Format("2006-01-02T15:04:05Z"); got != "2020-09-22T08:38:02Z" {
		t.Errorf("4688 event_time %s, want 2020-09-22T08:38:02Z (EventTime 04:38:02 at UTC-4)", got)
	}
}
