package auditd

import (
	"archive/zip"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
	"github.com/spoor-dev/spoor/internal/testenv"
)

// collector is a parse.Output that keeps everything.
type collector struct {
	events  []*event.Event
	rejects []parse.Rejection
	counts  map[string]int64
}

func (c *collector) Event(e *event.Event) error { c.events = append(c.events, e); return nil }
func (c *collector) Reject(r parse.Rejection)   { c.rejects = append(c.rejects, r) }
func (c *collector) Count(what string, n int64) {
	if c.counts == nil {
		c.counts = map[string]int64{}
	}
	c.counts[what] += n
}

// decode runs the Decoder over text and checks every event's Raw.
func decode(t testing.TB, text string) *collector {
	t.Helper()
	c := &collector{}
	if err := New().Decode(context.Background(), strings.NewReader(text), c); err != nil {
		t.Fatalf("decode: %v", err)
	}
	for i, e := range c.events {
		var m map[string]any
		if err := json.Unmarshal(e.Raw, &m); err != nil {
			t.Fatalf("event %d: Raw is not one JSON object: %v", i, err)
		}
		if _, ok := m["records"]; !ok {
			t.Fatalf("event %d: Raw has no records", i)
		}
	}
	return c
}

const datasets = "../../../../shared/datasets/linux"

// readZip returns the text of the single file of a zip in the datasets, or
// skips the test.
func readZip(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(datasets, name)
	zr, err := zip.OpenReader(p)
	if err != nil {
		testenv.Missing(t, "dataset %s not available: %v", p, err)
	}
	defer zr.Close()
	var sb strings.Builder
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(&sb, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	return sb.String()
}

var (
	modDirOnce sync.Once
	modDir     string
)

// libauditDir is go-libaudit's module directory, "" when unknown.
func libauditDir() string {
	modDirOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/elastic/go-libaudit/v2").Output()
		if err == nil {
			modDir = strings.TrimSpace(string(out))
		}
		if _, err := os.Stat(modDir); err != nil {
			modDir = ""
		}
	})
	return modDir
}

// countOutput only counts.
type countOutput struct{ events, rejects int }

func (c *countOutput) Event(*event.Event) error { c.events++; return nil }
func (c *countOutput) Reject(parse.Rejection)   { c.rejects++ }
func (c *countOutput) Count(string, int64)      {}
