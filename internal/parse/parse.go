// Package parse is the seam between the readers of each telemetry format
// (auditd, Windows event logs, CloudTrail, Threat Stack events) and the
// ingest: the contract a decoder fills, and the detection of a format from
// the first bytes of its input.
package parse

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

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

// CountRecords names the tally of records a decoder read, for formats
// where one event is made of several records (auditd): the summary says
// "N records → M events". Decoders that make one event of each record need
// not report it.
const CountRecords = "records"

// NoHostError stops a decoder at the first record that names no host when
// the caller gave none either: events without a host cannot be told apart
// from another host's, nor found by host.
type NoHostError struct {
	Format string // "raw auditd"
	Field  string // the field that names the host in the data: "node="
	Line   int64  // line of the first record without one
}

func (e *NoHostError) Error() string {
	return fmt.Sprintf("%s has no %s field (line %d) and no host was given", e.Format, e.Field, e.Line)
}

// HostAgentID is the agent_id of a host known only by its name (a raw log
// from it, with no agent's id): a name-based UUID (RFC 4122 version 5, SHA-1)
// of the lowercase hostname, so every import of one host's logs gets the
// same agent_id.
func HostAgentID(host string) string {
	h := sha1.New()
	h.Write(agentNamespace[:])
	h.Write([]byte(strings.ToLower(host)))
	var u [20]byte
	b := h.Sum(u[:0])
	b[6] = b[6]&0x0f | 0x50 // version 5
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:16])
	return string(out[:])
}

// agentNamespace is the UUID namespace of HostAgentID (a random UUID,
// fixed: changing it changes every derived agent_id).
var agentNamespace = [16]byte{0x6b, 0x2f, 0x0e, 0x93, 0x4c, 0x1d, 0x4e, 0x58, 0x9a, 0x37, 0x52, 0xc4, 0x11, 0x8d, 0xe0, 0x6a}
