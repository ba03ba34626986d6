package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/diskspace"
	"github.com/spoor-dev/spoor/internal/event"
)

// mountSmall mounts a tmpfs of size bytes for the test, or skips it.
func mountSmall(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small filesystem to fill (%v: %s); the server's disk-full test covers the store with a simulated disk", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// spoor ingest on a disk that fills stops at the reserve with a clear
// error that says what was stored and how to go on; after space is freed
// the same command stores the rest, each event once.
func TestIngestStopsAtDiskReserve(t *testing.T) {
	const size = 32 << 20
	disk := mountSmall(t, size)
	src := filepath.Join(t.TempDir(), "events.ndjson")
	var b strings.Builder
	const total = 60_000
	for i := range total {
		// Random-looking fields so the parts do not compress to nothing.
		fmt.Fprintf(&b, `{"_id":"e-%d","agent_id":"agent-%d","event_time":%d,"event_type":"audit","exe":"/usr/bin/x%x","args":["%x","%x"],"pid":%d}`+"\n",
			i, i%10, 1600362902289+int64(i)*1000, i*7919, i*104729, i*15485863, i)
	}
	if err := os.WriteFile(src, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(disk, "data")
	o := ingestOptions{data: dataFlags{Dir: data}, format: "auto", noDetect: true, headEvents: 5000}
	// A first small ingest makes the lake; then ballast leaves a little
	// more than the reserve free.
	var out bytes.Buffer
	sp, err := diskspace.Of(disk)
	if err != nil {
		t.Fatal(err)
	}
	reserve := diskspace.Reserve{}.Of(sp.Total)
	ballast := filepath.Join(disk, "ballast")
	if err := os.WriteFile(ballast, make([]byte, sp.Free-reserve-128<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	err = runIngest(context.Background(), o, []string{src}, &out, &out)
	if err == nil {
		t.Fatalf("ingest of more than the disk holds succeeded:\n%s", out.String())
	}
	msg := err.Error()
	for _, want := range []string{"disk almost full", "new events were stored", "run the same command again"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("error lacks %q: %s", want, msg)
		}
	}
	first := countIn(t, data)
	if first == 0 || first >= total {
		t.Fatalf("%d of %d events stored before the disk filled: want some, not all", first, total)
	}
	if !strings.Contains(msg, fmt.Sprintf(" %d new events were stored", first)) {
		t.Fatalf("error does not say the %d events stored: %s", first, msg)
	}
	t.Logf("first run: %s", msg)

	os.Remove(ballast)
	out.Reset()
	if err := runIngest(context.Background(), o, []string{src}, &out, &out); err != nil {
		t.Fatalf("ingest after space was freed: %v\n%s", err, out.String())
	}
	if n := countIn(t, data); n != total {
		t.Fatalf("%d events stored after the second run, want %d", n, total)
	}
	if !strings.Contains(out.String(), fmt.Sprintf("duplicates: %d", first)) {
		t.Fatalf("second run should skip the %d events already stored:\n%s", first, out.String())
	}
}

// countIn counts the distinct events of org default, failing on duplicates.
func countIn(t *testing.T, data string) int {
	t.Helper()
	ctx := context.Background()
	db, err := datadir.Open(ctx, data, datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	rows, err := db.Query(ctx, "default", 0, event.MaxTime, `SELECT count(*), count(DISTINCT "_id") FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n, distinct int
	rows.Next()
	if err := rows.Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != distinct {
		t.Fatalf("%d events, %d distinct", n, distinct)
	}
	return n
}
