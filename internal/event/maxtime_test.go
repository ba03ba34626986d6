package event

import (
	"testing"
	"time"
)

// MaxTime is the last millisecond of year 9999: the last hour a date key
// can name, with the next millisecond in year 10000.
func TestMaxTime(t *testing.T) {
	if got := DateKeyOf(MaxTime); got != "9999-12-31-23" {
		t.Fatalf("DateKeyOf(MaxTime) = %s, want 9999-12-31-23", got)
	}
	if y := time.UnixMilli(MaxTime + 1).UTC().Year(); y != 10000 {
		t.Fatalf("MaxTime+1 ms is in year %d, want 10000", y)
	}
}
