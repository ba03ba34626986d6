// Package timespec reads the times users type: RFC 3339, epoch ms (or s),
// YYYY-MM-DD, or a duration meaning that long ago (72h, 30d, 2w).
package timespec

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/event"
)

// Parse reads a time as epoch ms; durations count back from now.
func Parse(s string, now time.Time) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty time")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 1e11 && n > -1e11 {
			return n * 1000, nil
		}
		return n, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	if d, err := Duration(s); err == nil {
		return now.Add(-d).UnixMilli(), nil
	}
	return 0, fmt.Errorf("cannot read time %q: use RFC 3339, epoch ms, YYYY-MM-DD or a duration like 72h or 30d", s)
}

// Duration reads Go durations and days (d) and weeks (w).
func Duration(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if strings.HasSuffix(s, suffix) {
			n, err := strconv.ParseFloat(strings.TrimSuffix(s, suffix), 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("bad duration %q", s)
			}
			return time.Duration(n * float64(unit)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return d, nil
}

// Range reads since and until ("" is unbounded) as an inclusive epoch-ms range.
func Range(since, until string, now time.Time) (from, to int64, err error) {
	from, to = 0, event.MaxTime
	if since != "" {
		if from, err = Parse(since, now); err != nil {
			return 0, 0, fmt.Errorf("since: %w", err)
		}
	}
	if until != "" {
		if to, err = Parse(until, now); err != nil {
			return 0, 0, fmt.Errorf("until: %w", err)
		}
	}
	if from > to {
		return 0, 0, fmt.Errorf("since is after until")
	}
	return from, to, nil
}
