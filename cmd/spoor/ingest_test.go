package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/spoor-dev/spoor/internal/gen"
)

// Bad lines are rejected with file, line and reason; the rest is stored.
func TestIngestRejectsBadLinesKeepsTheRest(t *testing.T) {
	dir := t.TempDir()
	good := func(i int) string {
		return fmt.Sprintf(`{"_id":"good-%d","event_time":1600362902289,"event_type":"audit","exe":"/bin/true","agent_id":"a"}`, i)
	}
	lines := []string{
		good(1),
		`{"_id":"x","event_time":1600362902289,`, // 2 malformed
		`{"_id":"y","exe":"/bin/sh"}`,            // 3 no time
		"{\"_id\":\"z\",\"event_time\":1,\"exe\":\"\xff\"}",                                     // 4 invalid UTF-8
		`{"_id":"big","event_time":1600362902289,"blob":"` + strings.Repeat("A", 10<<20) + `"}`, // 5 10 MB
		good(2),
		`[1,2,3]`, // 7 not an object
		``,        // 8 blank: skipped silently
		good(3),
	}
	path := filepath.Join(dir, "bad.ndjson")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := ingestOptions{data: dataFlags{Dir: filepath.Join(dir, "data")}, format: "auto"}
	if err := runIngest(context.Background(), o, []string{path}, &out, &out); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"stored:     3 new events", "rejected:   5",
		path + ":2: malformed JSON", path + ":3: no event time", path + ":4: invalid UTF-8",
		path + ":5: event too large", path + ":7: not a JSON object",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	o.strict = true
	if err := runIngest(context.Background(), o, []string{path}, &out, &out); err == nil {
		t.Errorf("--strict with rejected lines: no error")
	}
}

func TestIngestTruncatedGzipKeepsWhatWasRead(t *testing.T) {
	dir := t.TempDir()
	var ev bytes.Buffer
	if _, err := gen.Generate(context.Background(), gen.Options{Seed: 3, Hosts: 4, Rate: 20, Start: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), Days: 1, Scenarios: []string{}}, &ev, nil); err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(dir, "f.ndjson.gz")
	var zb bytes.Buffer
	zw := newGzip(&zb)
	zw.Write(ev.Bytes())
	zw.Close()
	if err := os.WriteFile(gz, zb.Bytes()[:zb.Len()*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := runIngest(context.Background(), ingestOptions{data: dataFlags{Dir: filepath.Join(dir, "data")}, format: "auto"}, []string{gz}, &out, &out)
	if err == nil || !strings.Contains(out.String(), "unreadable: "+gz) {
		t.Fatalf("truncated gzip: err %v, summary:\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "stored:     0 new") {
		t.Errorf("nothing kept from the readable part:\n%s", out.String())
	}
}

// kill -9 at random moments of `spoor ingest`, then ingest the same file
// again: every event is present exactly once. The killed runs read the file
// from standard input, fed a random share of it, and are killed before
// they see its end: every kill lands mid-ingest, however fast the machine.
func TestKill9DuringIngestThenReingest(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 trials take a while")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "fleet.ndjson")
	var ev bytes.Buffer
	if _, err := gen.Generate(context.Background(), gen.Options{Seed: 11, Hosts: 16, Rate: 120, Start: time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC), Days: 2}, &ev, nil); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Count(ev.Bytes(), []byte{'\n'})
	if err := os.WriteFile(file, ev.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var data string
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spoor := func(args ...string) *exec.Cmd {
		c := exec.Command(exe, args...)
		c.Env = append(os.Environ(), "SPOOR_TEST_AS_MAIN=1")
		return c
	}
	counts := func() (n, distinct int) {
		out, err := spoor("sql", "--data", data, "--format", "csv", `SELECT count(*), count(DISTINCT "_id") FROM events`).CombinedOutput()
		if err != nil {
			t.Fatalf("count: %v\n%s", err, out)
		}
		rec, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
		if err != nil || len(rec) != 2 {
			t.Fatalf("count output %q", out)
		}
		n, _ = strconv.Atoi(rec[1][0])
		distinct, _ = strconv.Atoi(rec[1][1])
		return n, distinct
	}

	rng := rand.New(rand.NewPCG(1, 2))
	// killRun starts an ingest of standard input, writes it between a tenth
	// and nine tenths of the file (the write returns once the ingest has
	// taken all but a pipe's buffer of it), and kills it at once: it cannot
	// have finished, never having read the end.
	killRun := func(trial int) {
		c := spoor("ingest", "--data", data, "--head-events", "5000", "-")
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		in, err := c.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		fed := ev.Len()/10 + rng.IntN(ev.Len()*8/10)
		if _, err := in.Write(ev.Bytes()[:fed]); err != nil {
			c.Process.Kill()
			c.Wait()
			t.Fatalf("trial %d: the ingest stopped reading after less than %d bytes: %v\n%s", trial, fed, err, out.String())
		}
		if err := c.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("trial %d: kill: %v", trial, err)
		}
		err = c.Wait()
		if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("trial %d: the ingest ended by itself (%v), not by the kill\n%s", trial, err, out.String())
		}
	}
	const trials = 8
	for i := range trials {
		data = filepath.Join(dir, fmt.Sprintf("data-%d", i))
		// Crash, crash again during the recovery run, then ingest to the end.
		for range 2 {
			killRun(i)
			if n, d := counts(); n != d || n > lines {
				t.Fatalf("trial %d: after a kill %d events, %d distinct, %d in the file", i, n, d, lines)
			}
		}
		if out, err := spoor("ingest", "--data", data, file).CombinedOutput(); err != nil {
			t.Fatalf("trial %d: final ingest: %v\n%s", i, err, out)
		}
		if n, d := counts(); n != lines || d != lines {
			t.Fatalf("trial %d: after kills and a full ingest: %d events, %d distinct; want %d", i, n, d, lines)
		}
	}
	t.Logf("%d kills landed mid-ingest over %d trials; %d events present exactly once each time", 2*trials, trials, lines)
}

func newGzip(w *bytes.Buffer) *gzip.Writer { return gzip.NewWriter(w) }
