package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/auth"
	"github.com/spoor-dev/spoor/internal/gen"
)

// summaryCase is one input whose ingest summary is checked: the per-format
// line it must print, computed here without spoor's readers.
type summaryCase struct {
	name, path, host string
	format           string
	perFormat        string // "auditd:      12 lines, 12 records → 2 events"
}

// content is a file's bytes, a zip's entries concatenated.
func content(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("PK\x03\x04")) {
		return b
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		e, _ := io.ReadAll(rc)
		rc.Close()
		all = append(all, e...)
	}
	return all
}

// lineCount is what `wc -l` says, plus an unterminated last line.
func lineCount(b []byte) int {
	n := bytes.Count(b, []byte{'\n'})
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// summaryParts picks out of an ingest summary what must not depend on
// where the events went: the bytes read, the formats line and the lines
// per format.
func summaryParts(t *testing.T, s string) (read, formatsLine string, perFormat []string) {
	t.Helper()
	m := regexp.MustCompile(`\(.* events/s, (.*) read\)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no bytes read in the summary:\n%s", s)
	}
	for _, l := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(l, "  formats:"):
			formatsLine = l
		case strings.Contains(l, " → "):
			perFormat = append(perFormat, l)
		}
	}
	return m[1], formatsLine, perFormat
}

// The ingest summary counts, per format, the lines (as wc -l does) and
// records read and the events they gave; the bytes read are the input
// file's, compressed or zipped as it is; and the same summary comes back
// through --server as from a local ingest.
func TestIngestSummaryCounts(t *testing.T) {
	dir := t.TempDir()
	windows := needDataset(t, "windows/rdp_interactive_taskmanager_lsass_dump.zip")
	auditd := needDataset(t, "linux/sh_arp_cache.zip")
	evtx := needDataset(t, "sigma/regression_data/rules-threat-hunting/windows/image_load/image_load_win_werfaultsecure_dbgcore_dbghelp_load/8a2f4b1c-3d5e-4f7a-9b2c-1e4f6d8a9c2b.evtx")
	cloudtrail := needDataset(t, "cloudtrail/stratus/CloudTrail/218007301253_CloudTrail_us-east-1_20230710T1145Z_7xgocspSowgK0Gto.json")

	// Threat Stack lines, gzipped: the bytes read are the .gz file's.
	var ev bytes.Buffer
	if _, err := gen.Generate(context.Background(), gen.Options{Seed: 5, Hosts: 3, Rate: 20, Start: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), Days: 1, Scenarios: []string{}}, &ev, nil); err != nil {
		t.Fatal(err)
	}
	tsLines := lineCount(ev.Bytes())
	fleet := filepath.Join(dir, "fleet.ndjson.gz")
	var gz bytes.Buffer
	zw := newGzip(&gz)
	zw.Write(ev.Bytes())
	zw.Close()
	os.WriteFile(fleet, gz.Bytes(), 0o644)
	// Threat Stack events pretty-printed in an array: lines and records differ.
	pretty := filepath.Join(dir, "pretty.json")
	os.WriteFile(pretty, []byte("[\n  {\n    \"_id\": \"p1\",\n    \"event_time\": 1600362902289,\n    \"event_type\": \"audit\"\n  },\n  {\n    \"_id\": \"p2\",\n    \"event_time\": 1600362902290,\n    \"event_type\": \"audit\"\n  }\n]"), 0o644)

	var ct struct{ Records []json.RawMessage }
	if err := json.Unmarshal(content(t, cloudtrail), &ct); err != nil {
		t.Fatal(err)
	}
	winLines := lineCount(content(t, windows))
	// The SigmaHQ regression file holds the one event its rule fires on
	// (internal/ingest's TestEveryDatasetFile counts every EVTX file's
	// records from its chunk headers).
	const evtxRecs = 1
	cases := []summaryCase{
		{name: "windows zip", path: windows, format: "windows 1",
			perFormat: fmt.Sprintf("  windows:     %s lines, %s records → %s events", thousands(int64(winLines)), thousands(int64(winLines)), thousands(int64(winLines)))},
		{name: "auditd zip", path: auditd, host: "otrf-linux", format: "auditd 1",
			perFormat: fmt.Sprintf("  auditd:      %d lines, %d records → 2 events", lineCount(content(t, auditd)), lineCount(content(t, auditd)))},
		{name: "evtx", path: evtx, format: "evtx 1",
			perFormat: fmt.Sprintf("  evtx:        %d %s → %d %s", evtxRecs, plural(int64(evtxRecs), "record"), evtxRecs, plural(int64(evtxRecs), "event"))},
		{name: "cloudtrail", path: cloudtrail, format: "cloudtrail 1",
			perFormat: fmt.Sprintf("  cloudtrail:  %d %s, %d records → %d events", lineCount(content(t, cloudtrail)), plural(int64(lineCount(content(t, cloudtrail))), "line"), len(ct.Records), len(ct.Records))},
		{name: "threatstack gzip", path: fleet, format: "threatstack 1",
			perFormat: fmt.Sprintf("  threatstack: %s lines → %s events", thousands(int64(tsLines)), thousands(int64(tsLines)))},
		{name: "threatstack pretty", path: pretty, format: "threatstack 1",
			perFormat: fmt.Sprintf("  threatstack: %d lines, 2 records → 2 events", lineCount(content(t, pretty)))},
	}

	data := filepath.Join(dir, "server")
	tokens, err := auth.Open(filepath.Join(data, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := tokens.Create("org", auth.Ingest, "cli")
	if err != nil {
		t.Fatal(err)
	}
	url := serveProcess(t, data, "--no-detect")
	for i, c := range cases {
		st, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		wantRead := bytesHuman(float64(st.Size()))
		for _, where := range []string{"local", "server"} {
			o := ingestOptions{format: "auto", host: c.host, noDetect: true, data: dataFlags{Dir: filepath.Join(dir, fmt.Sprint("local", i))}}
			if where == "server" {
				o.data = dataFlags{Server: url, Token: token}
			}
			var out bytes.Buffer
			if err := runIngest(context.Background(), o, []string{c.path}, &out, &out); err != nil {
				t.Fatalf("%s, %s: %v\n%s", c.name, where, err, out.String())
			}
			read, formatsLine, perFormat := summaryParts(t, out.String())
			if read != wantRead {
				t.Errorf("%s, %s: %s read, want the file's %s", c.name, where, read, wantRead)
			}
			if formatsLine != "  formats:    "+c.format {
				t.Errorf("%s, %s: formats line %q, want %q", c.name, where, formatsLine, c.format)
			}
			if len(perFormat) != 1 || perFormat[0] != c.perFormat {
				t.Errorf("%s, %s: per format %q, want %q", c.name, where, perFormat, c.perFormat)
			}
		}
	}
}
