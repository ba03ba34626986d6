package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/client"
	"github.com/spoor-dev/spoor/internal/testenv"
)

const datasets = "../../../shared/datasets"

// The HTTP ingest endpoint reads the same formats as `spoor ingest`, by
// content or as named: a CloudTrail delivery file, an EVTX file, a zip of
// Windows JSON and an audit log with ?host=, each into the token's
// organization only.
func TestIngestFormatsOverHTTP(t *testing.T) {
	ct, _ := filepath.Glob(filepath.Join(datasets, "cloudtrail/stratus/CloudTrail/*.json"))
	evtx, _ := filepath.Glob(filepath.Join(datasets, "sigma/regression_data/rules/windows/process_creation/*/*.evtx"))
	if len(ct) == 0 || len(evtx) == 0 {
		testenv.Missing(t, "real telemetry not found under %s", datasets)
	}
	f := start(t, Options{})
	post := func(path, file string, want int64) ingestAnswer {
		t.Helper()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		code, body := call(t, "POST", f.url+path, f.ingestA, b)
		var ans ingestAnswer
		json.Unmarshal(body, &ans)
		if code != 200 || ans.Accepted != want || ans.Rejected != 0 {
			t.Fatalf("%s %s: %d %s, want %d accepted", path, file, code, body, want)
		}
		return ans
	}
	var d struct{ Records []json.RawMessage }
	b, _ := os.ReadFile(ct[0])
	json.Unmarshal(b, &d)
	post("/api/v1/events", ct[0], int64(len(d.Records)))

	// The EVTX file and its evtx-dump JSON hold the same records: the second
	// post stores none anew.
	first := post("/api/v1/events", evtx[0], countEVTX(t, evtx[0]))
	dump := strings.TrimSuffix(evtx[0], ".evtx") + ".json"
	if _, err := os.Stat(dump); err == nil {
		code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, mustRead(t, dump))
		var ans ingestAnswer
		json.Unmarshal(body, &ans)
		if code != 200 || ans.Accepted != 0 || ans.Duplicates != first.Accepted {
			t.Errorf("evtx-dump of the same records: %d %s, want all %d duplicates", code, body, first.Accepted)
		}
	}

	zip := filepath.Join(datasets, "linux/sh_binary_padding_dd.zip")
	post("/api/v1/events?format=auditd&host=web-1", zip, 1)
	code, body := call(t, "POST", f.url+"/api/v1/sql", f.analystA, []byte(`{"sql": "SELECT hostname, exe FROM events WHERE event_type = 'audit'"}`), "Accept", "application/json")
	if code != 200 || !strings.Contains(string(body), `"hostname":"web-1"`) || !strings.Contains(string(body), `/bin/dd`) {
		t.Errorf("auditd over HTTP: %d %s", code, body)
	}
	code, body = call(t, "POST", f.url+"/api/v1/sql", f.analystB, []byte(`{"sql": "SELECT count(*) AS n FROM events"}`), "Accept", "application/json")
	if code != 200 || !strings.Contains(string(body), `"n":0`) {
		t.Errorf("orgB sees orgA's events: %d %s", code, body)
	}
	// A format that is not one is refused with the list.
	code, body = call(t, "POST", f.url+"/api/v1/events?format=xml", f.ingestA, []byte("<x/>"))
	if code != 400 || !strings.Contains(string(body), "unknown format") {
		t.Errorf("format=xml: %d %s", code, body)
	}
}

// `spoor ingest --server` sends a directory of CloudTrail files whole, and
// the server reads them like a local ingest.
func TestClientIngestsFormatsRemotely(t *testing.T) {
	dir := filepath.Join(datasets, "cloudtrail/stratus/CloudTrail")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		testenv.Missing(t, "real telemetry not found under %s", datasets)
	}
	want := int64(0)
	for _, p := range files {
		var d struct{ Records []json.RawMessage }
		json.Unmarshal(mustRead(t, p), &d)
		want += int64(len(d.Records))
	}
	f := start(t, Options{})
	c := &client.Client{URL: f.url, Token: f.ingestA, HTTP: http.DefaultClient}
	sum, err := c.Ingest(context.Background(), []string{dir}, "auto", "")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Stored != want || sum.Rejected != 0 || len(sum.FileErrors) != 0 || sum.Files != len(files) {
		t.Fatalf("remote ingest: stored %d of %d, rejected %d, errors %v, files %d", sum.Stored, want, sum.Rejected, sum.FileErrors, sum.Files)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// countEVTX counts records from an EVTX file's chunk headers.
func countEVTX(t *testing.T, p string) int64 {
	b := mustRead(t, p)
	var n int64
	for off := 4096; off+65536 <= len(b); off += 65536 {
		c := b[off:]
		if string(c[:8]) != "ElfChnk\x00" {
			continue
		}
		first := le64(c[8:])
		last := le64(c[16:])
		if last >= first {
			n += int64(last - first + 1)
		}
	}
	return n
}

func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// A forwarder sending raw audit.log lines to HEC's raw endpoint gets them
// read as auditd, one event per audit event, not one per line.
func TestHECRawAuditd(t *testing.T) {
	f := start(t, Options{})
	lines := `type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=8 items=1 ppid=29002 pid=1631 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=104 comm="arp" exe="/usr/sbin/arp" key=(null)
type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0="arp" a1="-a"
type=CWD msg=audit(1604994496.155:92733): cwd="/home/wardog"
`
	code, body := call(t, "POST", f.url+"/services/collector/raw?host=web-2", f.ingestA, []byte(lines), "Authorization", "Splunk "+f.ingestA)
	if code != 200 || !strings.Contains(string(body), `"accepted":1`) {
		t.Fatalf("HEC raw auditd: %d %s", code, body)
	}
	code, body = call(t, "POST", f.url+"/api/v1/sql", f.analystA, []byte(`{"sql": "SELECT hostname, arguments, cwd FROM events"}`), "Accept", "application/json")
	if code != 200 || !strings.Contains(string(body), `"arguments":"arp -a"`) || !strings.Contains(string(body), `"hostname":"web-2"`) {
		t.Errorf("stored: %d %s", code, body)
	}
}

// The hunting analyses answer over the API, scoped to the caller's
// organization, in JSON, NDJSON and CSV, and the timeline as SVG.
func TestHuntAPI(t *testing.T) {
	f := start(t, Options{})
	var body strings.Builder
	for i := range 20 {
		exe := "/usr/bin/ls"
		if i >= 15 {
			exe = "/tmp/implant"
		}
		fmt.Fprintf(&body, `{"_id":"h%d","event_time":%d,"event_type":"audit","syscall":"execve","exe":%q,"arguments":"run %d","agent_id":"a1","hostname":"web-1"}`+"\n", i, 1581674400000+int64(i)*3600000, exe, i)
	}
	if code, b := call(t, "POST", f.url+"/api/v1/events", f.ingestA, []byte(body.String())); code != 200 {
		t.Fatalf("ingest: %d %s", code, b)
	}
	req := []byte(`{"host":"a1","baseline":"2020-02-14T00:00:00Z..2020-02-14T14:00:00Z","window":"2020-02-14T14:00:00Z..2020-02-16T00:00:00Z","categories":["executable"]}`)
	code, b := call(t, "POST", f.url+"/api/v1/hunt/diff?format=csv", f.analystA, req)
	if code != 200 || !strings.Contains(string(b), "/tmp/implant") || strings.Contains(string(b), "/usr/bin/ls") {
		t.Errorf("diff: %d %s", code, b)
	}
	code, b = call(t, "POST", f.url+"/api/v1/hunt/diff?format=csv", f.analystB, req)
	if code != 200 || strings.Contains(string(b), "/tmp/implant") {
		t.Errorf("orgB's diff sees orgA: %d %s", code, b)
	}
	code, b = call(t, "POST", f.url+"/api/v1/hunt/sweep", f.analystA, []byte(`{"iocs":["/tmp/implant"]}`), "Accept", "application/x-ndjson")
	if code != 200 || !strings.Contains(string(b), `"hostname":"web-1"`) {
		t.Errorf("sweep: %d %s", code, b)
	}
	code, b = call(t, "POST", f.url+"/api/v1/hunt/timeline?format=svg", f.analystA, []byte(`{"since":"2020-02-14","until":"2020-02-16"}`))
	if code != 200 || !strings.HasPrefix(strings.TrimSpace(string(b)), "<") || !strings.Contains(string(b), "<svg") {
		t.Errorf("timeline svg: %d %.200s", code, b)
	}
	if code, b := call(t, "POST", f.url+"/api/v1/hunt/nope", f.analystA, []byte(`{}`)); code != 404 || !strings.Contains(string(b), `no analysis \"nope\"`) {
		t.Errorf("unknown analysis: %d %s", code, b)
	}
	if code, _ := call(t, "POST", f.url+"/api/v1/hunt/diff", f.ingestA, req); code != 403 {
		t.Errorf("an ingest token ran an analysis: %d", code)
	}
}
