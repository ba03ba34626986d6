// Package ship sends the agent's spooled events to a spoor server (or to an
// NDJSON file on hosts with no uplink): batches by count and age, gzip,
// retries with exponential backoff and jitter, and an acknowledgement to the
// spool only once the server has made a batch durable. Delivery is at least
// once; the events' deterministic _ids let the server drop what comes twice.
package ship

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/spoor-dev/spoor/internal/agent/spool"
)

// Defaults for the zero fields of Options.
const (
	DefaultBatchEvents = 1000
	DefaultBatchBytes  = 4 << 20
	DefaultBatchAge    = time.Second
	DefaultMinBackoff  = 250 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
)

// Options configures a shipper.
type Options struct {
	// BatchEvents and BatchBytes bound a batch; BatchAge is how long the
	// oldest event waits for a batch to fill.
	BatchEvents int
	BatchBytes  int
	BatchAge    time.Duration
	// MinBackoff and MaxBackoff bound the wait between retries of a batch.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	Now                    func() time.Time
}

func (o Options) withDefaults() Options {
	if o.BatchEvents <= 0 {
		o.BatchEvents = DefaultBatchEvents
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	if o.BatchAge <= 0 {
		o.BatchAge = DefaultBatchAge
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Result is what a sink made of a batch.
type Result struct {
	Accepted, Duplicates int64
	// Rejected counts events the server could not read, by reason; they are
	// lost, and counted so.
	Rejected map[string]int64
}

// Sink delivers one batch of NDJSON lines durably, or says why not.
type Sink interface {
	Send(ctx context.Context, lines [][]byte) (Result, error)
	Close() error
}

// RetryError is a failure worth retrying (the server is down or busy).
type RetryError struct{ Err error }

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// RefusedError is a batch the server will never take (4xx on its content):
// the events are counted lost and the shipper moves on.
type RefusedError struct {
	Status int
	Msg    string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("server refused the batch: %d %s", e.Status, e.Msg)
}

// errSplit is a batch too large for the server: sent again in halves.
var errSplit = errors.New("batch too large")

// Stats are the shipper's counters.
type Stats struct {
	Sent       int64            // events the sink took (accepted or duplicate)
	Duplicates int64            // of those, already held by the server
	Batches    int64            // batches delivered
	Retries    int64            // failed attempts that were retried
	Refused    int64            // events in batches the server refused (4xx)
	Rejected   map[string]int64 // events the server could not read, by reason
	LastSend   int64            // epoch ms of the last delivered batch, 0 never
	LastError  string           // the last failure, "" after a success
}

// Shipper moves events from a spool to a sink.
type Shipper struct {
	sp   *spool.Spool
	sink Sink
	opts Options
	rng  *rand.Rand

	pend []spool.Record // the batch in hand; owned by Run and Drain

	mu    sync.Mutex
	stats Stats
}

// New returns a shipper of sp's events to sink.
func New(sp *spool.Spool, sink Sink, opts Options) *Shipper {
	return &Shipper{sp: sp, sink: sink, opts: opts.withDefaults(), rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		stats: Stats{Rejected: map[string]int64{}}}
}

// Stats returns a copy of the counters.
func (s *Shipper) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Rejected = make(map[string]int64, len(s.stats.Rejected))
	for k, v := range s.stats.Rejected {
		st.Rejected[k] = v
	}
	return st
}

// Run ships until ctx ends, and returns nil then.
func (s *Shipper) Run(ctx context.Context) error {
	for {
		if !s.waitBatch(ctx) {
			return nil
		}
		if _, err := s.shipOne(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// Drain ships what the spool holds, without waiting for batches to fill,
// until it is empty or ctx ends; it is how the agent stops.
func (s *Shipper) Drain(ctx context.Context) error {
	for ctx.Err() == nil && (s.pend != nil || s.sp.Stats().Events > 0) {
		more, err := s.shipOne(ctx)
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	return ctx.Err()
}

// waitBatch waits until a batch is due: full, or its oldest event has
// waited BatchAge. It returns false when ctx ends.
func (s *Shipper) waitBatch(ctx context.Context) bool {
	for {
		st := s.sp.Stats()
		wait := time.Hour
		if st.Events > 0 {
			age := s.opts.Now().Sub(time.UnixMilli(st.Oldest))
			if st.Events >= int64(s.opts.BatchEvents) || age >= s.opts.BatchAge || st.Oldest == 0 {
				return true
			}
			wait = s.opts.BatchAge - age
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-s.sp.More():
		case <-t.C:
		}
		t.Stop()
	}
}

// shipOne delivers the batch in hand, or reads the next one, retrying until
// it is taken, refused, or ctx ends; a batch not delivered when ctx ends is
// kept for the next call (the spool is acknowledged in order). It reports
// whether there was a batch.
func (s *Shipper) shipOne(ctx context.Context) (bool, error) {
	if s.pend == nil {
		recs, err := s.sp.Read(s.opts.BatchEvents, s.opts.BatchBytes)
		if err != nil || len(recs) == 0 {
			return false, err
		}
		s.pend = recs
	}
	lines := make([][]byte, len(s.pend))
	for i, r := range s.pend {
		lines[i] = r.Data
	}
	if err := s.deliver(ctx, lines); err != nil {
		return true, err
	}
	last, n := s.pend[len(s.pend)-1].Pos, len(s.pend)
	s.pend = nil
	return true, s.sp.Ack(last, n)
}

// deliver sends lines until the sink takes or refuses them; it returns an
// error only when ctx ends.
func (s *Shipper) deliver(ctx context.Context, lines [][]byte) error {
	backoff := s.opts.MinBackoff
	for {
		res, err := s.sink.Send(ctx, lines)
		var refused *RefusedError
		switch {
		case err == nil:
			s.delivered(len(lines), res)
			return nil
		case errors.Is(err, errSplit) && len(lines) > 1:
			half := len(lines) / 2
			if err := s.deliver(ctx, lines[:half]); err != nil {
				return err
			}
			return s.deliver(ctx, lines[half:])
		case errors.Is(err, errSplit), errors.As(err, &refused):
			s.opts.Logger.Error("events refused by the server, counted lost", "events", len(lines), "err", err)
			s.mu.Lock()
			s.stats.Refused += int64(len(lines))
			s.stats.LastError = err.Error()
			s.mu.Unlock()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.mu.Lock()
		s.stats.Retries++
		s.stats.LastError = err.Error()
		s.mu.Unlock()
		// Full jitter over the upper half: agents that lost one server
		// together do not come back together.
		d := backoff/2 + time.Duration(s.rng.Int64N(int64(backoff/2)+1))
		s.opts.Logger.Warn("send failed, retrying", "err", err, "in", d.Round(time.Millisecond))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, s.opts.MaxBackoff)
	}
}

func (s *Shipper) delivered(n int, res Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Sent += int64(n)
	s.stats.Duplicates += res.Duplicates
	s.stats.Batches++
	s.stats.LastSend = s.opts.Now().UnixMilli()
	s.stats.LastError = ""
	for k, v := range res.Rejected {
		s.stats.Rejected[k] += v
		s.stats.Sent -= v
	}
}
