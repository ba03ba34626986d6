package server

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/testenv"
)

// docs/windows.md's shipper configurations, replayed: the NXLog om_http
// block's URL and header, and the Logstash http output's json_batch, with
// real NXLog records (OTRF Mordor), as those senders batch them.
func TestWindowsShipperConfigs(t *testing.T) {
	doc, err := os.ReadFile("../../docs/windows.md")
	if err != nil {
		t.Fatalf("read docs/windows.md: %v", err)
	}
	const zipPath = "../../../shared/datasets/windows/empire_mimikatz_logonpasswords.zip"
	if _, err := os.Stat(zipPath); err != nil {
		testenv.Missing(t, "the OTRF dataset %s is absent", zipPath)
	}
	records := nxlogRecords(t, zipPath, 300)

	nxURL := docLine(t, doc, `(?m)^\s*URL\s+(\S+)$`)
	nxHeader := docLine(t, doc, `(?m)^\s*AddHeader\s+Authorization:\s*(.+)$`)
	lsURL := docLine(t, doc, `(?m)^\s*url\s*=>\s*"([^"]+)"`)
	if !strings.Contains(string(doc), `format       => "json_batch"`) {
		t.Fatal(`docs/windows.md: the Logstash block no longer says format => "json_batch"`)
	}

	f := start(t, Options{})
	send := func(docURL, auth string, body []byte) ingestAnswer {
		t.Helper()
		u, err := url.Parse(docURL)
		if err != nil {
			t.Fatalf("docs/windows.md URL %q: %v", docURL, err)
		}
		scheme, secret, _ := strings.Cut(strings.TrimSpace(auth), " ")
		if scheme != "Bearer" || secret != "REPLACE_WITH_AN_INGEST_TOKEN" {
			t.Fatalf("docs/windows.md header %q: want Bearer REPLACE_WITH_AN_INGEST_TOKEN", auth)
		}
		code, ans := call(t, "POST", f.url+u.RequestURI(), f.ingestA, body, "Content-Type", "application/x-ndjson")
		if code != 200 {
			t.Fatalf("POST %s: %d %s", u.RequestURI(), code, ans)
		}
		var a ingestAnswer
		if err := json.Unmarshal(ans, &a); err != nil {
			t.Fatalf("answer %s: %v", ans, err)
		}
		return a
	}

	// om_http BatchMode multiline: the records one a line.
	a := send(nxURL, nxHeader, bytes.Join(records, []byte("\n")))
	if a.Accepted != int64(len(records)) || a.Rejected != 0 {
		t.Fatalf("NXLog batch: accepted %d rejected %d of %d: %+v", a.Accepted, a.Rejected, len(records), a.Rejections)
	}
	// Logstash json_batch: the same records in one array, a retry of the
	// same events: all of them duplicates, none stored twice.
	arr := append([]byte{'['}, bytes.Join(records, []byte(","))...)
	arr = append(arr, ']')
	a = send(lsURL, "Bearer REPLACE_WITH_AN_INGEST_TOKEN", arr)
	if a.Accepted != 0 || a.Duplicates != int64(len(records)) {
		t.Fatalf("Logstash json_batch of the same records: accepted %d duplicates %d, want 0 and %d", a.Accepted, a.Duplicates, len(records))
	}

	code, body := call(t, "POST", f.url+"/api/v1/sql?format=csv", f.analystA, []byte(
		`{"sql": "SELECT count(*) AS n, count(win_event_id) AS ids, count(DISTINCT channel) > 1 AS channels, min(hostname) AS host FROM events "}`))
	want := "n,ids,channels,host\n" + strconv.Itoa(len(records)) + "," + strconv.Itoa(len(records)) + ",true,mordordc.theshire.local"
	if code != 200 || !strings.EqualFold(strings.TrimSpace(string(body)), want) {
		t.Fatalf("stored Windows events: %d %q, want %q", code, body, want)
	}
}

// docLine returns the first submatch of re in the document.
func docLine(t *testing.T, doc []byte, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/windows.md has no line matching %s", re)
	}
	return string(m[1])
}

// nxlogRecords returns the first n records of an OTRF zip: NXLog
// im_msvistalog events as to_json() writes them (one object a line).
func nxlogRecords(t *testing.T, path string, n int) [][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) == 0 {
		t.Fatalf("%s: empty zip", path)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	sc := bufio.NewScanner(io.LimitReader(rc, 64<<20))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var out [][]byte
	for len(out) < n && sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, bytes.Clone(l))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) != n {
		t.Fatalf("%s: %d records, want %d", path, len(out), n)
	}
	return out
}
