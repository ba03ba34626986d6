package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/ingest"
)

// The progress line says the share done and the time left when the
// inputs' size is known, only the bytes read when it is not, and is
// redrawn at most every 200 ms, on a clock the test sets.
func TestProgressLine(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	clock := func() time.Time { return now }
	var out bytes.Buffer
	p := newProgressLine(&out, clock, 1000<<20)
	now = t0.Add(10 * time.Second)
	p.update(ingest.Progress{BytesRead: 250 << 20, Events: 1_000_000})
	want := "\r\033[Kingest: 1.00M events  100.0k ev/s  250 MiB of 1000 MiB (25%)  25 MiB/s  ETA 30s"
	if out.String() != want {
		t.Errorf("known size:\n got %q\nwant %q", out.String(), want)
	}
	out.Reset()
	now = now.Add(100 * time.Millisecond)
	p.update(ingest.Progress{BytesRead: 260 << 20, Events: 1_040_000})
	if out.Len() != 0 {
		t.Errorf("redrawn after 100 ms: %q", out.String())
	}
	now = t0.Add(80 * time.Second)
	p.update(ingest.Progress{BytesRead: 1000 << 20, Events: 4_000_000})
	if !strings.HasSuffix(out.String(), "1000 MiB of 1000 MiB (100%)  12.5 MiB/s  ETA 0s") {
		t.Errorf("at the end: %q", out.String())
	}

	out.Reset()
	now = t0
	p = newProgressLine(&out, clock, 0)
	now = t0.Add(2 * time.Second)
	p.update(ingest.Progress{BytesRead: 4 << 20, Events: 3000})
	if want := "\r\033[Kingest: 3.0k events  1.5k ev/s  4 MiB read  2 MiB/s"; out.String() != want {
		t.Errorf("unknown size:\n got %q\nwant %q", out.String(), want)
	}
}

// The total is the size of the files an ingest reads, directories walked;
// unknown (0) with standard input. Off a terminal there is no progress line.
func TestInputSizeAndTerminal(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "d", "e"), 0o755)
	os.WriteFile(filepath.Join(dir, "a"), make([]byte, 100), 0o644)
	os.WriteFile(filepath.Join(dir, "d", "b"), make([]byte, 20), 0o644)
	os.WriteFile(filepath.Join(dir, "d", "e", "c"), make([]byte, 3), 0o644)
	if n := inputSize([]string{filepath.Join(dir, "a"), filepath.Join(dir, "d")}); n != 123 {
		t.Errorf("size %d, want 123", n)
	}
	if n := inputSize([]string{filepath.Join(dir, "a"), "-"}); n != 0 {
		t.Errorf("with stdin: %d, want 0 (unknown)", n)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(w) {
		t.Errorf("a pipe taken for a terminal")
	}
	if f, _ := newIngestCmd().Flags().GetBool("progress"); f && !isTerminal(os.Stderr) {
		t.Errorf("--progress defaults on while stderr is no terminal")
	}
}
