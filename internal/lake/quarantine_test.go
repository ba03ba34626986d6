package lake

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
)

// The days with quarantined parts are known per organization that the part
// held, this run and after a restart (from the quarantine directory),
// whatever the organization's id holds; organizations the part did not hold
// are not warned.
func TestQuarantinedDays(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	const start = 1600000000000 // 2020-09-13 12:26 UTC
	const nextDay = start + 24*3600_000
	org := "a__date_key=x/y"
	for _, b := range []struct {
		org   string
		start int64
	}{{org, start}, {"b", start}, {org, nextDay}, {"c", nextDay}} {
		if _, err := s.Append(ctx, synth(t, b.org, 200, b.start, 1700000000000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	parts := s.Parts(org, 0, maxTime)
	if len(parts) != 2 {
		t.Fatalf("%d parts, want 2 (a day each)", len(parts))
	}
	victimDay := event.DateKeyOf(start)[:10]
	s.Quarantine(parts[0], "test")
	want := []string{victimDay}
	for run := 0; run < 2; run++ {
		for _, o := range []string{org, "b"} {
			if got := s.Quarantined(o, 0, maxTime); !slices.Equal(got, want) {
				t.Errorf("run %d: %s: quarantined days %v, want %v", run, o, got, want)
			}
			if got := s.Quarantined(o, nextDay, maxTime); len(got) != 0 {
				t.Errorf("run %d: %s: quarantined days after the victim's: %v", run, o, got)
			}
		}
		if got := s.Quarantined("c", 0, maxTime); len(got) != 0 {
			t.Errorf("run %d: organization c, not in the part, has quarantined days %v", run, got)
		}
		if slices.Contains(s.Parts(org, 0, maxTime), parts[0]) {
			t.Errorf("run %d: the quarantined part is served", run)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		s = openStore(t, dir)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(parts[0]); !os.IsNotExist(err) {
		t.Errorf("the quarantined part is still in the lake")
	}
}
