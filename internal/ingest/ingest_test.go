package ingest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/spoor-dev/spoor/internal/event"
)

// collector is a sink that keeps the events it is given.
type collector struct {
	mu  sync.Mutex
	ids map[string]int
}

func (c *collector) sink(_ context.Context, evs []*event.Event) (int, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = map[string]int{}
	}
	for _, e := range evs {
		c.ids[e.Str[event.ID]]++
	}
	return len(evs), 0, nil
}

func lines(n int, bad map[int]string) []byte {
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		if s, ok := bad[i]; ok {
			b.WriteString(s)
		} else {
			fmt.Fprintf(&b, `{"_id":"e%d","event_time":1600000000000,"exe":"/bin/x"}`, i)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Line numbers stay right across chunk boundaries and skipped long lines,
// in plain, gzip and zstd files.
func TestLineNumbersAcrossChunksAndCompression(t *testing.T) {
	dir := t.TempDir()
	bad := map[int]string{
		7:    `{"_id":"x"`,
		500:  `{"_id":"big","event_time":1,"x":"` + strings.Repeat("y", event.MaxEventBytes+100) + `"}`,
		501:  `not json`,
		2999: `{"exe":"/bin/no-time"}`,
	}
	data := lines(3000, bad)
	plain := filepath.Join(dir, "a.ndjson")
	if err := os.WriteFile(plain, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	gzPath := filepath.Join(dir, "a.json.gz")
	if err := os.WriteFile(gzPath, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var zs bytes.Buffer
	ze, _ := zstd.NewWriter(&zs)
	ze.Write(data)
	ze.Close()
	zsPath := filepath.Join(dir, "a.zst")
	if err := os.WriteFile(zsPath, zs.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, p := range []string{plain, gzPath, zsPath} {
		var c collector
		sum, err := Run(context.Background(), []string{p}, c.sink, Options{ChunkBytes: 16 << 10, Workers: 3})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if sum.Lines != 3000 || sum.Stored != 2996 || sum.Rejected != 4 || len(c.ids) != 2996 {
			t.Errorf("%s: %+v, %d distinct stored", p, sum, len(c.ids))
		}
		var got []string
		for _, r := range sum.Samples {
			got = append(got, fmt.Sprintf("%d:%s", r.Line, r.Reason))
		}
		want := []string{"7:" + event.ReasonMalformed, "500:" + event.ReasonTooLarge, "501:" + event.ReasonMalformed, "2999:" + event.ReasonNoTime}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: rejections %v, want %v", p, got, want)
		}
	}
}

func TestMissingFileIsReportedOthersRead(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.ndjson")
	if err := os.WriteFile(good, lines(10, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	var c collector
	sum, err := Run(context.Background(), []string{filepath.Join(dir, "nope.ndjson"), good}, c.sink, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.FileErrors) != 1 || !strings.Contains(sum.FileErrors[0], "nope.ndjson") || sum.Stored != 10 {
		t.Errorf("summary %+v", sum)
	}
}

func TestSinkErrorStopsAndIsReturned(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.ndjson")
	if err := os.WriteFile(p, lines(20000, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := fmt.Errorf("disk full")
	_, err := Run(context.Background(), []string{p}, func(context.Context, []*event.Event) (int, int, error) {
		return 0, 0, boom
	}, Options{ChunkBytes: 4 << 10})
	if err != boom {
		t.Fatalf("got %v, want the sink's error", err)
	}
}

// FuzzRead feeds arbitrary bytes as an input file: no panic, every line is
// either stored or rejected, and memory stays bounded by the line limit.
func FuzzRead(f *testing.F) {
	f.Add(lines(3, map[int]string{2: `{"x":`}))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0})
	f.Add([]byte("\n\n\r\n{\"event_time\":1}\r\n"))
	f.Add([]byte(auditLines))
	f.Add([]byte(`{"Records":[` + ctRecord + `]}`))
	f.Add([]byte("PK\x03\x04\x14\x00"))
	f.Add([]byte("ElfFile\x00\x00\x00"))
	f.Add([]byte(`{"EventID":4624,"Channel":"Security","Hostname":"h","EventTime":"2020-01-01 00:00:00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var c collector
		sum, err := Run(context.Background(), []string{p}, c.sink, Options{ChunkBytes: 64})
		if err != nil {
			t.Fatal(err)
		}
		// Every event or rejection stands for at least one byte of input
		// (compressed input aside).
		compressed := bytes.HasPrefix(data, []byte{0x1f, 0x8b}) || bytes.HasPrefix(data, []byte{0x28, 0xb5}) || bytes.HasPrefix(data, []byte("PK"))
		if !compressed && sum.Stored+sum.Rejected > int64(len(data)) {
			t.Fatalf("stored %d + rejected %d from %d bytes", sum.Stored, sum.Rejected, len(data))
		}
	})
}
