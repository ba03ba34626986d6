package ingest

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// Progress ends at the inputs' total size on disk, zips and files skipped
// as not telemetry included; the summary's bytes are those of the inputs
// read in a format, as on disk.
func TestProgressEndsAtTotalSize(t *testing.T) {
	dir := t.TempDir()
	var zb bytes.Buffer
	z := zip.NewWriter(&zb)
	w, _ := z.Create("audit.log")
	io.WriteString(w, auditLines)
	z.Close()
	os.WriteFile(filepath.Join(dir, "a.zip"), zb.Bytes(), 0o644)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(lines(2000, nil))
	zw.Close()
	os.WriteFile(filepath.Join(dir, "b.ndjson.gz"), gz.Bytes(), 0o644)
	readme := bytes.Repeat([]byte("not telemetry\n"), 20000)
	os.WriteFile(filepath.Join(dir, "c.txt"), readme, 0o644)
	total := int64(zb.Len() + gz.Len() + len(readme))

	var mu sync.Mutex
	var last Progress
	sum, _ := runFiles(t, Options{Host: "h", Progress: func(p Progress) {
		mu.Lock()
		if p.BytesRead > last.BytesRead {
			last = p
		}
		mu.Unlock()
	}}, dir)
	if last.BytesRead != total {
		t.Errorf("progress ended at %d bytes, the inputs hold %d", last.BytesRead, total)
	}
	if want := int64(zb.Len() + gz.Len()); sum.Bytes != want || sum.Skipped != 1 {
		t.Errorf("summary: %d bytes read, %d skipped; want %d (the zip and the .gz as on disk) and the text skipped", sum.Bytes, sum.Skipped, want)
	}
}
