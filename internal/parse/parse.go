// Package parse is the seam between the readers of each telemetry format
// (auditd, Windows event logs, CloudTrail, Threat Stack events) and the
// ingest: the contract a decoder fills, and the detection of a format from
// the first bytes of its input.
package parse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"

	"github.com/spoor-dev/spoor/internal/event"
)

// Output receives what a decoder reads from one input.
type Output interface {
	// Event takes one decoded event. The decoder has set event_time,
	// event_type and the typed fields it knows, and Raw to the original
	// record as one JSON object (valid UTF-8, at most event.MaxEventBytes).
	// The ingest fills what is left: _id (when unset, from a hash of Raw),
	// organization_id, hostname when --host is given, date_key and
	// _insert_time. The event belongs to the ingest from then on. A non-nil
	// error means events can no longer be stored: the decoder stops and
	// returns it.
	Event(e *event.Event) error
	// Reject reports one record that could not be read. Reading goes on.
	Reject(r Rejection)
	// Count adds n to a named tally the ingest summary reports, for what is
	// neither an event nor a rejection (auditd sequence gaps, say).
	Count(what string, n int64)
}

// Rejection is one record a decoder could not read.
type Rejection struct {
	Line   int64  // line where the record starts, for text formats; 0 otherwise
	Record int64  // 1-based position of the record in its input, for binary and record formats; 0 otherwise
	Reason string // short and stable, counted by the summary: "malformed audit record", "corrupt EVTX chunk"
	Detail string // what exactly, for the analyst
}

// Decoder reads one whole input of its format. It returns an error only
// when the input cannot be read on (an I/O error, or a container so broken
// nothing after it can be found) or when Output.Event fails; bad records
// are rejected and skipped.
type Decoder interface {
	Decode(ctx context.Context, r io.Reader, out Output) error
}

// Converter turns one JSON record (an object's text) into e, which is
// zero. It returns an *event.RejectError when the record is unusable.
// Converters are called from several goroutines at once, each with its
// own e.
type Converter func(v []byte, e *event.Event) error

// HashID derives a stable _id from parts that identify a record in its
// source (host, channel and record number, say), so the same record read
// twice, or from two exports of one log, is stored once.
func HashID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}
