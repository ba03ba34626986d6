package lake

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/atomicfile"
	"github.com/spoor-dev/spoor/internal/event"
)

// A crash while a part is written leaves only a temporary file beside the
// published parts: no query sees it, and the next open removes it.
func TestCrashMidPartWriteLeavesNoPart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	if _, err := s.Append(ctx, synth(t, "o1", 50, 1600000000000, 1700000000000)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	parts := s.Parts("o1", 0, maxTime)
	if len(parts) == 0 {
		t.Fatal("no part written")
	}
	b, err := os.ReadFile(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	// The writer dies half way through a second part of that partition.
	pdir := filepath.Dir(parts[0])
	f, err := atomicfile.Create(filepath.Join(pdir, partPrefix+"01J00000000000000000000000"+partSuffix), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b[:len(b)/2]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	tmp := f.Name()

	s = openStore(t, dir)
	defer s.Close(ctx)
	if got := s.Parts("o1", 0, maxTime); !slices.Equal(got, parts) {
		t.Fatalf("parts after the crash %v, want %v", got, parts)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary part %s survived the reopen (%v)", tmp, err)
	}
	if n, _ := count(t, s, "o1"); n != 50 {
		t.Fatalf("%d events, want 50", n)
	}
	if probs := s.Problems(); len(probs) != 0 {
		t.Fatalf("problems %v, want none: a temporary file is not a corrupt part", probs)
	}
	es, _ := os.ReadDir(pdir)
	for _, e := range es {
		if strings.HasSuffix(e.Name(), atomicfile.TempSuffix) {
			t.Fatalf("%s left in the partition", e.Name())
		}
	}
}

// maxTime is the tests' "no upper bound".
const maxTime = event.MaxTime
