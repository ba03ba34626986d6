package lake

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Compaction's durable steps, named by the Fault seam: writing the
// journal, publishing the merged part, removing each old part, fsyncing a
// directory, removing the journal. File writes ("write") are not steps.
func compactionSteps(op string) bool { return op != "write" }

// smallPartsLake makes a lake of a few partitions of three small parts each.
func smallPartsLake(t *testing.T, dir string) int {
	t.Helper()
	ctx := context.Background()
	s := openStore(t, dir)
	all := synth(t, "o1", 180, 1600000000000, 1700000000000)
	for j := range 3 {
		var batch = all[:0:0]
		for i := j; i < len(all); i += 3 {
			batch = append(batch, all[i])
		}
		if _, err := s.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return len(all)
}

// Every old part removed by a compaction is gone for good before its
// journal is: the removal is fsynced in the part's own directory.
func TestCompactSyncsPartitionDirBeforeJournalGoes(t *testing.T) {
	dir := t.TempDir()
	smallPartsLake(t, dir)
	var mu sync.Mutex
	var trace []string
	s, err := Open(context.Background(), dir, Options{Fault: func(op, path string) error {
		if compactionSteps(op) {
			mu.Lock()
			trace = append(trace, op+" "+path)
			mu.Unlock()
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if _, err := s.Compact(context.Background(), time.UnixMilli(1700000000000)); err != nil {
		t.Fatal(err)
	}
	removed := map[string]bool{} // dirs with removals not yet fsynced
	merges := 0
	for _, step := range trace {
		op, path, _ := strings.Cut(step, " ")
		switch op {
		case "remove":
			removed[filepath.Dir(path)] = true
		case "syncdir":
			delete(removed, path)
		case "unjournal":
			merges++
			if len(removed) > 0 {
				t.Fatalf("journal removed while part removals in %v are not fsynced; steps:\n%s", removed, strings.Join(trace, "\n"))
			}
		}
	}
	if merges == 0 {
		t.Fatalf("no merge seen; steps:\n%s", strings.Join(trace, "\n"))
	}
}

const crashAtEnv = "SPOOR_TEST_CRASH_AT"

// crashAt is the fault seam of a crash test's child process: it kills the
// process (SIGKILL) at the durable step $SPOOR_TEST_CRASH_AT, counting
// steps in *n. ok is false outside a child.
func crashAt(n *int) (fault func(op, path string) error, ok bool) {
	at, err := strconv.Atoi(os.Getenv(crashAtEnv))
	if err != nil {
		return nil, false
	}
	return func(op, path string) error {
		if compactionSteps(op) {
			if *n++; *n == at {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		}
		return nil
	}, true
}

// runChild runs test (a child test of this package) over dir, killed at
// step at (1<<30: never), and returns its output.
func runChild(test, dir string, at int) (string, error) {
	c := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	c.Env = append(os.Environ(), crashAtEnv+"="+strconv.Itoa(at), "SPOOR_TEST_CRASH_DIR="+dir)
	out, err := c.CombinedOutput()
	return string(out), err
}

// childSteps runs test without a crash and returns the steps it printed.
func childSteps(t *testing.T, test, dir string) int {
	t.Helper()
	out, err := runChild(test, dir, 1<<30)
	if err != nil {
		t.Fatalf("%s without a crash: %v\n%s", test, err, out)
	}
	var steps int
	i := strings.Index(out, "steps=")
	if i < 0 {
		t.Fatalf("child printed no step count:\n%s", out)
	}
	fmt.Sscanf(out[i:], "steps=%d", &steps)
	return steps
}

// killChild runs test over dir killed at step at, and fails unless it was.
func killChild(t *testing.T, test, dir string, at int) {
	t.Helper()
	out, err := runChild(test, dir, at)
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("step %d: child was not killed: %v\n%s", at, err, out)
	}
}

// copyLake copies a template lake to a new directory.
func copyLake(t *testing.T, template string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(template)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "LOCK"))
	return dir
}

// TestCompactCrashChild is the child of TestCompactKilledAtEachStep: it
// compacts the lake in $SPOOR_TEST_CRASH_DIR and kills itself at step
// $SPOOR_TEST_CRASH_AT, printing how many steps it saw when it gets to
// the end.
func TestCompactCrashChild(t *testing.T) {
	n := 0
	fault, ok := crashAt(&n)
	if !ok {
		t.Skip("run by TestCompactKilledAtEachStep")
	}
	s, err := Open(context.Background(), os.Getenv("SPOOR_TEST_CRASH_DIR"), Options{Fault: fault})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Compact(context.Background(), time.UnixMilli(1700000000000)); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("steps=%d\n", n)
}

// A compaction killed at any of its steps leaves every event exactly once
// after the next open, and the next compaction finishes the job.
func TestCompactKilledAtEachStep(t *testing.T) {
	template := t.TempDir()
	want := smallPartsLake(t, template)
	const child = "TestCompactCrashChild"
	steps := childSteps(t, child, copyLake(t, template))
	if steps < 5 {
		t.Fatalf("%d compaction steps seen, too few to test", steps)
	}
	for at := 1; at <= steps; at++ {
		dir := copyLake(t, template)
		killChild(t, child, dir, at)
		s := openStore(t, dir)
		if n, d := count(t, s, "o1"); n != int64(want) || d != int64(want) {
			t.Fatalf("killed at step %d of %d: %d events, %d distinct after reopening; want %d once each", at, steps, n, d, want)
		}
		if _, err := s.Compact(context.Background(), time.UnixMilli(1700000000000)); err != nil {
			t.Fatalf("compaction after a crash at step %d: %v", at, err)
		}
		if n, d := count(t, s, "o1"); n != int64(want) || d != int64(want) {
			t.Fatalf("killed at step %d, compacted again: %d events, %d distinct; want %d once each", at, n, d, want)
		}
		if ents, _ := os.ReadDir(filepath.Join(dir, journalDir)); len(ents) > 0 {
			t.Fatalf("killed at step %d: %d compaction journals left after reopening", at, len(ents))
		}
		s.Close(context.Background())
	}
	t.Logf("killed a compaction at each of its %d steps", steps)
}
