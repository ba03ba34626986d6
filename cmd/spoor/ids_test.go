package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// beatLine is one Security 4625 as Winlogbeat ships it.
func beatLine(computer string, rec int, when, user string) string {
	return fmt.Sprintf(`{"@timestamp":%q,"winlog":{"event_id":4625,"channel":"Security","computer_name":%q,"record_id":%d,`+
		`"provider_name":"Microsoft-Windows-Security-Auditing","event_data":{"TargetUserName":%q,"IpAddress":"10.0.0.5","LogonType":"3"}}}`,
		when, computer, rec, user)
}

func countRows(t *testing.T, dir, q string) (float64, float64) {
	t.Helper()
	r := sqlRows(t, dir, q)[0]
	return r["n"].(float64), r["ids"].(float64)
}

// Two lab machines of one name log records with the same numbers (a log's
// numbers restart with it), in the same hour and hours apart: every record
// is stored under an _id of its own, and ingesting both again stores
// nothing new.
func TestSameComputerSameRecordNumbers(t *testing.T) {
	in := t.TempDir()
	var a, b strings.Builder
	for i := 1; i <= 20; i++ {
		fmt.Fprintln(&a, beatLine("LAB-WIN10", i, fmt.Sprintf("2024-03-05T10:%02d:00.000Z", i), "alice"))
		// The clone: the same numbers, some in the same hour, some later.
		fmt.Fprintln(&b, beatLine("LAB-WIN10", i, fmt.Sprintf("2024-03-05T%02d:%02d:30.000Z", 10+i%2, i), "bob"))
	}
	if err := os.WriteFile(filepath.Join(in, "vm1.json"), []byte(a.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "vm2.json"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "lab")
	ingestInto(t, dir, in)
	if n, ids := countRows(t, dir, `SELECT count(*) AS n, count(DISTINCT _id) AS ids FROM events`); n != 40 || ids != 40 {
		t.Fatalf("%v events under %v _ids, want 40 and 40", n, ids)
	}
	if out := ingestInto(t, dir, in); !strings.Contains(out, "stored:     0 new events") || !strings.Contains(out, "duplicates: 40") {
		t.Errorf("ingesting again:\n%s", out)
	}
}

// One audit.log without node= sent as host A, then as host B, is two
// hosts' events; sent as A again, nothing new.
func TestSameAuditLogTwoHosts(t *testing.T) {
	log := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(log, []byte(`type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=8 items=1 ppid=29002 pid=1631 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=104 comm="arp" exe="/usr/sbin/arp" key=(null)
type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0="arp" a1="-a"
type=PROCTITLE msg=audit(1604994496.155:92733): proctitle=617270002D61
`), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "hosts")
	ingest := func(host string) string {
		var out bytes.Buffer
		if err := runIngest(context.Background(), ingestOptions{data: dataFlags{Dir: dir}, format: "auto", host: host}, []string{log}, &out, &out); err != nil {
			t.Fatalf("ingest as %s: %v\n%s", host, err, out.String())
		}
		return out.String()
	}
	ingest("host-a")
	ingest("host-b")
	if out := ingest("host-a"); !strings.Contains(out, "stored:     0 new events") {
		t.Errorf("host-a again:\n%s", out)
	}
	rows := sqlRows(t, dir, `SELECT hostname, count(*) AS n FROM events GROUP BY hostname ORDER BY hostname`)
	if len(rows) != 2 || rows[0]["hostname"] != "host-a" || rows[1]["hostname"] != "host-b" || rows[0]["n"] != float64(1) || rows[1]["n"] != float64(1) {
		t.Errorf("events by host: %v", rows)
	}
}

// A Sysmon process from an EVTX file joins, on its ProcessGuid, a file
// event of the same process that came as NXLog JSON (lowercase in braces,
// as Windows renders it); the EVTX reader once wrote GUIDs upper-case
// without braces and the join found nothing. (DuckDB's ->> binds looser
// than =: the operands of the comparison need their parentheses.)
func TestGUIDJoinAcrossFormats(t *testing.T) {
	evtx := needDataset(t, "sigma/regression_data/rules-emerging-threats/2025/Malware/Shai-Hulud/proc_creation_win_mal_shai_hulud_malicious_node_bun_execution/5299fadf-f228-4526-8274-251db1960be9.evtx")
	b, err := os.ReadFile(strings.TrimSuffix(evtx, ".evtx") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var dump struct {
		Event struct {
			System    struct{ Computer string }
			EventData struct{ ProcessGuid, Image string }
		}
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&dump); err != nil {
		t.Fatal(err)
	}
	guid := "{" + strings.ToLower(dump.Event.EventData.ProcessGuid) + "}" // as NXLog writes it
	in := t.TempDir()
	line := fmt.Sprintf(`{"EventTime":"2025-12-10 04:40:00","Hostname":%q,"EventID":11,"Channel":"Microsoft-Windows-Sysmon/Operational",`+
		`"SourceName":"Microsoft-Windows-Sysmon","RecordNumber":99999,"ProcessGuid":%q,"Image":%q,"TargetFilename":"C:\\Users\\a\\bun.exe"}`,
		dump.Event.System.Computer, guid, dump.Event.EventData.Image)
	if err := os.WriteFile(filepath.Join(in, "file.json"), []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "join")
	ingestInto(t, dir, evtx, in)
	rows := sqlRows(t, dir, `SELECT p.raw->>'ProcessGuid' AS guid, f.raw->>'TargetFilename' AS file
		FROM events p JOIN events f ON (p.raw->>'ProcessGuid') = (f.raw->>'ProcessGuid')
		WHERE p.win_event_id = 1 AND f.win_event_id = 11`)
	if len(rows) != 1 || rows[0]["guid"] != guid {
		t.Errorf("join on ProcessGuid %s: %v", guid, rows)
	}
}
