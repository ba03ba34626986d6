package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/spoor-dev/spoor/internal/ingest"
)

// progressLine draws an ingest's progress on one terminal line, redrawn at
// most every progressEvery: events, their rate, the bytes read and, when
// the inputs' total size is known, the share done and an estimate of the
// time left. Updates come from several goroutines.
type progressLine struct {
	w     io.Writer
	now   func() time.Time
	total int64 // bytes of the inputs as on disk; 0 when unknown (stdin)

	mu          sync.Mutex
	start, last time.Time
}

const progressEvery = 200 * time.Millisecond

func newProgressLine(w io.Writer, now func() time.Time, total int64) *progressLine {
	return &progressLine{w: w, now: now, total: total, start: now()}
}

// update redraws the line unless it was drawn less than progressEvery ago.
func (p *progressLine) update(pr ingest.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.now()
	if !p.last.IsZero() && t.Sub(p.last) < progressEvery {
		return
	}
	p.last = t
	fmt.Fprint(p.w, "\r\033[K"+p.format(pr, t.Sub(p.start)))
}

// clear erases the line, before the summary is printed.
func (p *progressLine) clear() { fmt.Fprint(p.w, "\r\033[K") }

// format is the line's text after elapsed.
func (p *progressLine) format(pr ingest.Progress, elapsed time.Duration) string {
	secs := max(elapsed.Seconds(), 1e-3)
	s := fmt.Sprintf("ingest: %s events  %s ev/s  %s", human(float64(pr.Events)), human(float64(pr.Events)/secs), bytesHuman(float64(pr.BytesRead)))
	if p.total > 0 {
		pct := min(100, 100*float64(pr.BytesRead)/float64(p.total))
		s += fmt.Sprintf(" of %s (%.0f%%)", bytesHuman(float64(p.total)), pct)
	} else {
		s += " read"
	}
	s += fmt.Sprintf("  %s/s", bytesHuman(float64(pr.BytesRead)/secs))
	if p.total > 0 && pr.BytesRead > 0 {
		left := max(0, float64(p.total-pr.BytesRead)) / (float64(pr.BytesRead) / secs)
		s += "  ETA " + (time.Duration(left * float64(time.Second))).Round(time.Second).String()
	}
	return s
}

// inputSize is the total size of the files an ingest of paths reads
// (directories walked), 0 when it cannot be known: standard input, or a
// path that cannot be listed.
func inputSize(paths []string) int64 {
	srcs, errs := ingest.Expand(paths)
	if len(errs) > 0 {
		return 0
	}
	var total int64
	for _, s := range srcs {
		st, err := os.Stat(s.Name)
		if s.Name == "-" || err != nil || !st.Mode().IsRegular() {
			return 0
		}
		total += st.Size()
	}
	return total
}
