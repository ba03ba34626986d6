package datadir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spoor-dev/spoor/internal/engine"
)

// A failed query may come from a damaged part, or from the query itself:
// its error text cannot tell, since a user's SQL makes any text it likes
// (error('IO Error: <a part>')). So the text only decides whether to look;
// which parts are damaged, spoor decides by reading each part in full on its
// own query (engine.Probe). A part found sound is remembered with its size
// and modification time: parts are immutable, so it is read again only
// once the file has changed on disk.

// verifier remembers the parts found sound.
type verifier struct {
	mu      sync.Mutex // one verification at a time: a second waits and finds the parts known
	sound   map[string]stamp
	pruneAt int // forget parts gone from disk (compacted, expired) once sound grows past this
}

// badPart is a part that failed its full read, and how.
type badPart struct {
	path string
	err  error
}

type stamp struct {
	size int64
	mod  time.Time
}

// damaged returns the parts that fail a full read of their own. It judges
// nothing when ctx ends (the caller left) or a read fails for a reason that
// is not the file's (a timeout, memory).
func (d *DB) damaged(ctx context.Context, parts []string) []badPart {
	v := &d.verify
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.sound == nil {
		v.sound = map[string]stamp{}
	}
	if len(v.sound) > v.pruneAt {
		for p := range v.sound {
			if _, err := os.Stat(p); err != nil {
				delete(v.sound, p)
			}
		}
		v.pruneAt = 2*len(v.sound) + 1024
	}
	var bad []badPart
	for _, p := range parts {
		st, err := os.Stat(p)
		if err != nil {
			continue // compacted away meanwhile
		}
		s := stamp{st.Size(), st.ModTime()}
		if v.sound[p] == s {
			continue
		}
		err = d.Engine.Probe(ctx, p)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case err == nil:
			v.sound[p] = s
		case fileFailure(err):
			bad = append(bad, badPart{p, err})
		}
	}
	return bad
}

// mayBeDamage tells errors worth a look at the parts from the user's
// mistakes and timeouts. It only decides whether spoor verifies the parts.
func mayBeDamage(err error) bool {
	var se *engine.SQLError
	if errors.As(err, &se) || errors.Is(err, engine.ErrTimeout) || errors.Is(err, engine.ErrMemory) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return fileFailure(err)
}

// fileFailure reports whether DuckDB's error is one a damaged file causes.
func fileFailure(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, engine.ErrMemory) {
		return false
	}
	msg := err.Error()
	if strings.Contains(msg, "Out of Memory") || strings.Contains(msg, "INTERRUPT") {
		return false
	}
	for _, s := range []string{"IO Error", "Invalid Error", "nvalid Input Error", "parquet", "Parquet", "Corrupt", "corrupt", "don't know", "Serialization Error"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Warning says what an answer over org's events in [from, to] lacks: the
// days whose corrupt parts are in quarantine; "" when it lacks nothing.
// It names no server path: tenants read it.
func (d *DB) Warning(org string, from, to int64) string {
	days := d.Lake.Quarantined(org, from, to)
	if len(days) == 0 {
		return ""
	}
	list := strings.Join(days[:min(len(days), 5)], ", ")
	if len(days) > 5 {
		list += fmt.Sprintf(" and %d more", len(days)-5)
	}
	return fmt.Sprintf("incomplete: corrupt parts holding events of this organization on %d day(s) are in quarantine (%s); "+
		"the answer lacks their events until an operator restores them", len(days), list)
}
