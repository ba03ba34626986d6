package ingest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/testenv"
)

// datasets is the shared folder of real public telemetry.
const datasets = "../../../shared/datasets"

func needDatasets(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(datasets); err != nil {
		testenv.Missing(t, "real telemetry not found at %s (the shared datasets folder beside the project): %v", datasets, err)
	}
}

// notTelemetry are the dataset files that are not events spoor reads, with
// why. Each must be skipped as such, not read as events.
var notTelemetry = map[string]string{
	"README.md":                       "documentation",
	"LICENSE.OTRF-Security-Datasets":  "licence",
	"LICENSE.invictus-ir-aws_dataset": "licence",
	"sigma/LICENSE":                   "licence",
	"sigma/regression_data/rules/cisco/aaa/cisco_cli_dot1x_disabled/ef0ff092-a24a-4fbc-beea-06c08d53e085.raw": "a Cisco IOS syslog line: no Cisco reader yet",
}

// independentCount counts the records of one dataset file without spoor's
// readers: lines of JSON, CloudTrail Records through encoding/json, EVTX
// records from the chunk headers, auditd events by their msg=audit ids.
func independentCount(t *testing.T, name string, b []byte) int {
	t.Helper()
	switch {
	case bytes.HasPrefix(b, []byte("ElfFile\x00")):
		return evtxRecords(t, name, b)
	case bytes.Contains(b, []byte("msg=audit(")):
		ids := map[string]bool{}
		for _, m := range regexp.MustCompile(`msg=audit\(([0-9.]+:[0-9]+)\)`).FindAllSubmatch(b, -1) {
			ids[string(m[1])] = true
		}
		return len(ids)
	case bytes.HasPrefix(bytes.TrimSpace(b), []byte(`{"Records"`)):
		var f struct{ Records []json.RawMessage }
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return len(f.Records)
	}
	// JSON values one after another (lines, or pretty-printed).
	d := json.NewDecoder(bytes.NewReader(b))
	n := 0
	for {
		var v json.RawMessage
		if err := d.Decode(&v); errors.Is(err, io.EOF) {
			return n
		} else if err != nil {
			t.Fatalf("%s: value %d: %v", name, n+1, err)
		}
		n++
	}
}

// evtxRecords sums, over the chunks of an EVTX file, last minus first
// event record number plus one, as the chunk headers state them.
func evtxRecords(t *testing.T, name string, b []byte) int {
	n := 0
	for off := 4096; off+65536 <= len(b); off += 65536 {
		c := b[off:]
		if !bytes.HasPrefix(c, []byte("ElfChnk\x00")) {
			continue
		}
		first, last := binary.LittleEndian.Uint64(c[8:]), binary.LittleEndian.Uint64(c[16:])
		if last >= first {
			n += int(last - first + 1)
		}
	}
	return n
}

// Every file under the shared datasets is read: the events spoor gets from
// each equal an independent count of its records, each under an _id of its
// own, nothing is rejected, and only the files listed in notTelemetry are
// skipped.
func TestEveryDatasetFile(t *testing.T) {
	needDatasets(t)
	var files []string
	filepath.WalkDir(datasets, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasSuffix(p, ".yml") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 400 {
		t.Fatalf("only %d dataset files found", len(files))
	}
	total, checked := 0, 0
	for _, p := range files {
		rel, _ := filepath.Rel(datasets, p)
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// What is inside: a zip's entries, or the file itself.
		want := 0
		if bytes.HasPrefix(raw, []byte("PK\x03\x04")) {
			zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			for _, zf := range zr.File {
				if zf.FileInfo().IsDir() {
					continue
				}
				rc, _ := zf.Open()
				b, _ := io.ReadAll(rc)
				rc.Close()
				want += independentCount(t, rel+":"+zf.Name, b)
			}
		} else if _, skip := notTelemetry[rel]; !skip {
			want = independentCount(t, rel, raw)
		}
		var mu sync.Mutex
		got := 0
		ids := map[string]bool{}
		src := FileSource(p)
		src.Found = true
		sum, err := RunSources(context.Background(), []Source{src}, func(_ context.Context, evs []*event.Event) (int, int, error) {
			mu.Lock()
			got += len(evs)
			for _, e := range evs {
				ids[e.Str[event.ID]] = true
			}
			mu.Unlock()
			return len(evs), 0, nil
		}, Options{Org: "o", Workers: 2, Host: "dataset-host"}) // the OTRF audit logs name no node=
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if why, skip := notTelemetry[rel]; skip {
			if sum.Skipped != 1 || got != 0 {
				t.Errorf("%s (%s): skipped %d, %d events; want it skipped", rel, why, sum.Skipped, got)
			}
			continue
		}
		if sum.Rejected > 0 || len(sum.FileErrors) > 0 || sum.Skipped > 0 || len(sum.Refused) > 0 {
			t.Errorf("%s: rejected %d %v, errors %v, skipped %v, refused %v", rel, sum.Rejected, sum.Samples, sum.FileErrors, sum.Skips, sum.Refused)
		}
		if got != want || want == 0 {
			t.Errorf("%s: %d events, independent count %d", rel, got, want)
		}
		// Stored once each: no two records share an _id (the lake drops
		// the second as a duplicate).
		if len(ids) != got {
			t.Errorf("%s: %d events under %d distinct _ids", rel, got, len(ids))
		}
		total += got
		checked++
	}
	t.Logf("%d files, %d events, each file's count matching an independent count", checked, total)
}
