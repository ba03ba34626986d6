package server

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/lake"
)

// rss reads this process's resident set (VmRSS) and its peak (VmHWM) in bytes.
func rss(t *testing.T) (now, peak int64) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			now = n << 10
		case "VmHWM:":
			peak = n << 10
		}
	}
	return now, peak
}

// resetPeak starts a new VmHWM measurement from the current RSS.
func resetPeak(t *testing.T) {
	t.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS: %v", err)
	}
}

// bigEvents is about size bytes of NDJSON in events of about 650 bytes.
func bigEvents(size int) []byte {
	pad := strings.Repeat("x", 500)
	var b strings.Builder
	b.Grow(size + 1000)
	for i := 0; b.Len() < size-1000; i++ {
		fmt.Fprintf(&b, `{"_id":"big-%d","agent_id":"agent-%d","event_time":%d,"event_type":"audit","exe":"/usr/bin/curl","command":"%s"}`+"\n",
			i, i%10, 1600362902289+int64(i)*1000, pad)
	}
	return []byte(b.String())
}

// One request may not hold more than a bounded amount of memory: reading,
// decoding and storing a 64 MiB body holds little more than the body
// itself on top of what the head keeps of its events until the next flush.
func TestIngestBodyMemoryBounded(t *testing.T) {
	if raceOn {
		t.Skip("under -race memory is the race detector's: RSS bounds are measured without it (make test)")
	}
	ndjson := func() []byte { return bigEvents(64 << 20) }
	array := func() []byte {
		lines := bigEvents(64 << 20)
		return append(append([]byte("["), bytes.ReplaceAll(bytes.TrimSpace(lines), []byte("\n"), []byte(","))...), ']')
	}
	hec := func() []byte {
		var b bytes.Buffer
		for _, l := range bytes.Split(bytes.TrimSpace(bigEvents(64<<20)), []byte("\n")) {
			b.WriteString(`{"host":"h","event":`)
			b.Write(l)
			b.WriteString("}\n")
		}
		return b.Bytes()
	}
	for _, c := range []struct {
		name, path string
		body       func() []byte
	}{
		{"ndjson", "/api/v1/events", ndjson},
		{"array", "/api/v1/events", array},
		{"hec", "/services/collector/event", hec},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The head keeps the body's events (no flush by size: this
			// measures the request, not a flush that would follow it).
			f := startWith(t, datadir.Options{Lake: lake.Options{HeadMaxBytes: 1 << 30}},
				Options{MaxBatchEvents: 200_000, MaxBodyBytes: 80 << 20, FlushEvery: time.Hour})
			call(t, "POST", f.url+"/api/v1/events", f.ingestA, eventsFrom(0, 10)) // warm up
			body := c.body()
			debug.FreeOSMemory()
			before, _ := rss(t)
			resetPeak(t)
			code, ans := call(t, "POST", f.url+c.path, f.ingestA, body)
			if code != 200 {
				t.Fatalf("%d MiB body: %d %.300s", len(body)>>20, code, ans)
			}
			_, peak := rss(t)
			debug.FreeOSMemory()
			after, _ := rss(t)
			// What the request held beyond what stays (the head's events).
			held := peak - after
			t.Logf("%d MiB body: RSS %d MiB before, peak %d MiB, %d MiB after; the request held %d MiB beyond what stays",
				len(body)>>20, before>>20, peak>>20, after>>20, held>>20)
			if held > 3*int64(len(body)) {
				t.Errorf("one %d MiB body held %d MiB at its peak beyond what stays, want at most 3 times the body", len(body)>>20, held>>20)
			}
			runtime.KeepAlive(body)
		})
	}
}
