package lake

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
)

// The hours with quarantined parts are known per organization, this run and
// after a restart (from the quarantine directory), whatever the
// organization's id holds.
func TestQuarantinedHours(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	const start = 1600000000000
	for _, org := range []string{"a__date_key=x/y", "b"} {
		if _, err := s.Append(ctx, synth(t, org, 200, start, 1700000000000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	org := "a__date_key=x/y"
	parts := s.Parts(org, 0, maxTime)
	if len(parts) < 2 {
		t.Fatalf("%d parts, want at least 2", len(parts))
	}
	victimHour := event.DateKeyOf(start)
	s.Quarantine(parts[0], "test")
	want := []string{victimHour}
	for run := 0; run < 2; run++ {
		if got := s.Quarantined(org, 0, maxTime); !slices.Equal(got, want) {
			t.Errorf("run %d: quarantined hours %v, want %v", run, got, want)
		}
		if got := s.Quarantined(org, start+3600_000, maxTime); len(got) != 0 {
			t.Errorf("run %d: quarantined hours after the victim's: %v", run, got)
		}
		if got := s.Quarantined("b", 0, maxTime); len(got) != 0 {
			t.Errorf("run %d: organization b has quarantined hours %v", run, got)
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
