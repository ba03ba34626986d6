package winevent

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"unicode/utf8"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
	"github.com/spoor-dev/spoor/internal/testenv"
)

const (
	regressionDir = "../../../../shared/datasets/sigma/regression_data"
	nxlogDir      = "../../../../shared/datasets/windows"
)

// collect is a parse.Output that keeps everything.
type collect struct {
	events  []*event.Event
	rejects []parse.Rejection
	counts  map[string]int64
}

func (c *collect) Event(e *event.Event) error { c.events = append(c.events, e); return nil }
func (c *collect) Reject(r parse.Rejection)   { c.rejects = append(c.rejects, r) }
func (c *collect) Count(what string, n int64) {
	if c.counts == nil {
		c.counts = map[string]int64{}
	}
	c.counts[what] += n
}

func evtxFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(regressionDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".evtx" {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		testenv.Missing(t, "no .evtx files under %s: the sigma regression data set is not installed", regressionDir)
	}
	sort.Strings(files)
	return files
}

// jsonRecords splits an evtx_dump file: pretty-printed objects one after
// the other.
func jsonRecords(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var out [][]byte
	for {
		var m json.RawMessage
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	return out
}

func decodeFile(t testing.TB, path string) *collect {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var c collect
	if err := (Decoder{}).Decode(context.Background(), f, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &c
}

func nxlogZips(t testing.TB) []string {
	t.Helper()
	z, _ := filepath.Glob(filepath.Join(nxlogDir, "*.zip"))
	if len(z) == 0 {
		testenv.Missing(t, "no NXLog zips under %s: the OTRF Windows data set is not installed", nxlogDir)
	}
	return z
}

// zipLines returns the lines of every member of a zip.
func zipLines(t testing.TB, path string) [][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var lines [][]byte
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(rc)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				lines = append(lines, bytes.Clone(sc.Bytes()))
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	return lines
}

func rawMap(t testing.TB, e *event.Event) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(e.Raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("raw is not a JSON object: %v: %s", err, e.Raw)
	}
	return m
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

type parseRejection = parse.Rejection

func jsonValid(b []byte) bool { return utf8.Valid(b) && json.Valid(b) }
