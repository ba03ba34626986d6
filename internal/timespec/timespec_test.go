package timespec

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	f := func(in string, want int64) {
		t.Helper()
		got, err := Parse(in, now)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	f("1600362902289", 1600362902289)
	f("1600362961", 1600362961000)
	f("2020-09-17T17:15:02Z", 1600362902000)
	f("2020-09-17", 1600300800000)
	f("72h", now.Add(-72*time.Hour).UnixMilli())
	f("30d", now.Add(-30*24*time.Hour).UnixMilli())
	f("2w", now.Add(-14*24*time.Hour).UnixMilli())
	for _, bad := range []string{"", "yesterday", "-5d", "1x"} {
		if _, err := Parse(bad, now); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if _, _, err := Range("2020-09-18", "2020-09-17", now); err == nil {
		t.Errorf("since after until accepted")
	}
}
