// Package auditd reads raw Linux audit logs (audit.log, as auditd writes it,
// or the same records forwarded through syslog by audispd / audisp-syslog)
// into spoor events.
//
// Each line is one audit record: "type=SYSCALL msg=audit(1604994496.155:92733):
// arch=c000003e syscall=59 ...". A line may carry a syslog prefix (RFC 3164
// or RFC 5424) before its "type=" or "node=" field, and with
// log_format=ENRICHED an enrichment tail after a \x1d byte that names the ids
// of the record (UID="wardog" ...). The decoder strips both, parses the record
// with go-libaudit's auparse, groups the records of one audit event (SYSCALL,
// EXECVE, CWD, PATH, PROCTITLE, SOCKADDR ... sharing a sequence number) with
// go-libaudit's Reassembler, one per audit node, coalesces them with
// aucoalesce.CoalesceMessages and maps the result onto spoor's typed fields.
// One audit event gives one spoor event, whose Raw holds the coalesced event
// and the original record lines.
//
// User and group names come only from the enrichment tail or from the record
// itself (acct=): ids are never resolved against the reading machine's
// accounts, which are not the audited machine's.
//
// Lines are read with a bounded buffer (MaxLineBytes): longer lines are
// skipped and rejected without ever being held whole.
package auditd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	libaudit "github.com/elastic/go-libaudit/v2"
	"github.com/elastic/go-libaudit/v2/auparse"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
)

// MaxLineBytes is the default longest line read; longer lines are rejected.
const MaxLineBytes = 64 << 10

// Rejection reasons.
const (
	ReasonMalformed     = "malformed audit record"
	ReasonLineTooLong   = "line too long"
	ReasonEventTooLarge = "event too large"
	ReasonBadEvent      = "malformed audit event"
)

// CountGaps names the tally of audit events missing from the sequence.
const CountGaps = "auditd sequence gaps"

const (
	// maxInFlight is how many events a node's reassembler buffers while
	// waiting for their last record; it bounds how far out of order records
	// may come.
	maxInFlight = 128
	// reassemblyTimeout evicts an incomplete event after this wall-clock
	// time (only matters when the input is a slow stream).
	reassemblyTimeout = 10 * time.Second
	// maxNodeBytes bounds the record text a node's reassembler holds; past
	// it the reassembler is flushed (its events are emitted as they are).
	maxNodeBytes = 8 * event.MaxEventBytes
	// maxNodes bounds the number of audit nodes reassembled at once.
	maxNodes = 1024
)

// Decoder reads auditd logs. The zero value is ready to use.
type Decoder struct {
	// MaxLineBytes is the longest line read (0: MaxLineBytes).
	MaxLineBytes int
	// Host is the host of records that name none (no node= field, no
	// syslog header): the one the user named.
	Host string
	// RequireHost makes Decode stop with a *parse.NoHostError at the first
	// record that names no host when Host is empty.
	RequireHost bool
	// ReuseRaw lets an event's Raw live only until Output.Event returns:
	// the decoder writes the next event's there. It saves a copy of each
	// event's few kilobytes for an output that encodes events at once
	// (the agent's), and must not be set for one that keeps them.
	ReuseRaw bool
}

// New returns a Decoder with the default limits.
func New() *Decoder { return &Decoder{} }

var _ parse.Decoder = (*Decoder)(nil)

// record is the Payload of each auparse.AuditMessage: where it came from.
type record struct {
	line int64  // 1-based line number
	text string // the line without its syslog prefix (node= and tail kept)
	tail string // enrichment tail after \x1d, "" when none
}

// run is the state of one Decode call.
type run struct {
	out     parse.Output
	err     error // first error of out.Event; stops the run
	nodes   map[string]*node
	order   []*node // nodes in order of first appearance, for a stable flush
	gaps    int64
	records int64 // audit records read
	mb      mapper
	fp      fieldParser
	// group, when set, takes each event's records as they are (Group):
	// fields are not parsed, nothing is coalesced or mapped.
	group GroupOutput
	lines []string // Group's scratch
}

// node reassembles the records of one audit node (host).
type node struct {
	r       *run
	host    string
	re      *libaudit.Reassembler
	bytes   int    // record text held by re
	lastSeq uint32 // sequence of the last event emitted
	seen    bool   // lastSeq is set
	// maxSeq and maxTime are the highest sequence pushed and its time; a
	// lower (or equal) sequence with a later time is a new run of
	// sequence numbers (auditd restarted, or two logs one after the
	// other). The reassembler knows events by sequence only, so it is
	// flushed before the new run mixes with the old one.
	maxSeq  uint32
	maxTime time.Time
	pushed  bool
}

// Decode implements parse.Decoder.
func (d *Decoder) Decode(ctx context.Context, r io.Reader, out parse.Output) error {
	st := &run{out: out, nodes: map[string]*node{}, mb: mapper{reuse: d.ReuseRaw}}
	err := d.decode(ctx, r, st)
	if st.records > 0 {
		out.Count(parse.CountRecords, st.records)
	}
	if st.gaps > 0 {
		out.Count(CountGaps, st.gaps)
	}
	return err
}

func (d *Decoder) decode(ctx context.Context, r io.Reader, st *run) error {
	out := st.out
	max := d.MaxLineBytes
	if max <= 0 {
		max = MaxLineBytes
	}
	lr := newLineReader(r, max)
	var lastHost string
	var lastNode *node
	for {
		if lr.n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			for _, n := range st.order {
				_ = n.re.Maintain()
			}
			if st.err != nil {
				return st.err
			}
		}
		b, long, err := lr.next()
		if err != nil {
			if err == io.EOF {
				break
			}
			st.flush()
			if st.err != nil {
				return st.err
			}
			return fmt.Errorf("read audit log line %d: %w", lr.n+1, err)
		}
		if long > 0 {
			out.Reject(parse.Rejection{Line: lr.n, Reason: ReasonLineTooLong,
				Detail: strconv.FormatInt(long, 10) + " bytes, limit " + strconv.Itoa(max)})
			continue
		}
		b = bytes.TrimRight(b, "\r\n \t")
		if len(b) == 0 || bytes.HasPrefix(b, []byte("----")) {
			continue // blank lines and ausearch separators
		}
		msg, host, size, rej := st.record(lr.n, string(b))
		if rej != nil {
			out.Reject(*rej)
			continue
		}
		if host == "" {
			host = d.Host
			if host == "" && d.RequireHost {
				st.flush()
				if st.err != nil {
					return st.err
				}
				return &parse.NoHostError{Format: "raw auditd", Field: "node=", Line: lr.n}
			}
		}
		st.records++
		n := lastNode
		if n == nil || host != lastHost {
			n = st.node(host)
			lastHost, lastNode = host, n
		}
		if isDaemon(msg.RecordType) {
			n.daemon(msg)
			if st.err != nil {
				return st.err
			}
			continue
		}
		n.push(msg, size)
		if n.bytes > maxNodeBytes {
			n.reset()
		}
		if st.err != nil {
			return st.err
		}
	}
	st.flush()
	return st.err
}

// record parses one record line (its syslog prefix and node= field
// taken off, its enrichment tail kept aside) into an audit message with
// its fields parsed: the node or syslog host that names it ("" for none),
// the size of the text the message holds, or why the line is rejected.
func (st *run) record(lineNo int64, line string) (msg *auparse.AuditMessage, host string, size int, rej *parse.Rejection) {
	host, text, ok := splitLine(line)
	if !ok {
		return nil, "", 0, &parse.Rejection{Line: lineNo, Reason: ReasonMalformed, Detail: "no type= field: " + clip(line)}
	}
	rec := &record{line: lineNo, text: text}
	body := text
	if node, rest, ok := cutNode(body); ok {
		host, body = node, rest
	}
	if i := strings.IndexByte(body, 0x1d); i >= 0 {
		rec.tail = body[i+1:]
		body = strings.TrimRight(body[:i], " ")
	}
	msg, err := auparse.ParseLogLine(body)
	if err != nil {
		return nil, "", 0, &parse.Rejection{Line: lineNo, Reason: ReasonMalformed, Detail: err.Error() + ": " + clip(line)}
	}
	msg.Payload = rec
	if st.group == nil {
		st.fp.fill(msg)
	}
	return msg, host, len(text), nil
}

// node returns the reassembler of host, making it on first use.
func (st *run) node(host string) *node {
	if n, ok := st.nodes[host]; ok {
		return n
	}
	if len(st.nodes) >= maxNodes {
		st.flush()
		st.nodes = map[string]*node{}
		st.order = st.order[:0]
	}
	n := &node{r: st, host: host}
	n.re, _ = libaudit.NewReassembler(maxInFlight, reassemblyTimeout, n) // only fails on a nil stream
	st.nodes[host] = n
	st.order = append(st.order, n)
	return n
}

// flush emits every event still held.
func (st *run) flush() {
	for _, n := range st.order {
		_ = n.re.Close()
		n.bytes = 0
	}
}

// push adds one record to the node's reassembler.
func (n *node) push(msg *auparse.AuditMessage, size int) {
	switch {
	case !n.pushed || msg.Sequence > n.maxSeq:
		n.maxSeq, n.maxTime, n.pushed = msg.Sequence, msg.Timestamp, true
	case msg.Timestamp.After(n.maxTime) || (msg.Sequence == n.maxSeq && !msg.Timestamp.Equal(n.maxTime)):
		n.reset()
		n.maxSeq, n.maxTime = msg.Sequence, msg.Timestamp
	}
	n.bytes += size
	n.re.PushMessage(msg)
}

// reset flushes the node's reassembler and starts a fresh one.
func (n *node) reset() {
	_ = n.re.Close()
	n.bytes = 0
	n.re, _ = libaudit.NewReassembler(maxInFlight, reassemblyTimeout, n)
}

// EventsLost implements libaudit.Stream. The reassembler's own count is not
// used: it subtracts sequence numbers as uint32, so a log that restarts its
// sequence (auditd restarted) or repeats one (a record arriving after its
// event was flushed) reports billions of lost events. ReassemblyComplete
// counts gaps instead.
func (n *node) EventsLost(int) {}

// ReassemblyComplete implements libaudit.Stream: one audit event.
func (n *node) ReassemblyComplete(msgs []*auparse.AuditMessage) {
	st := n.r
	if st.err != nil || len(msgs) == 0 {
		return
	}
	for _, m := range msgs {
		if rec, ok := m.Payload.(*record); ok {
			n.bytes -= len(rec.text)
		}
	}
	if n.bytes < 0 {
		n.bytes = 0
	}
	seq := msgs[0].Sequence
	if n.seen && seq > n.lastSeq {
		st.gaps += int64(seq - n.lastSeq - 1)
	}
	// A lower sequence is the kernel's serials starting again (a reboot
	// without a DAEMON_START in the log, or a record later than the
	// reassembly window): no gap is counted, counting restarts from it.
	n.lastSeq, n.seen = seq, true
	n.emit(msgs)
}

// isDaemon says whether t is one of auditd's own records (DAEMON_START,
// DAEMON_END, DAEMON_ROTATE ...), numbered by auditd apart from the
// kernel's events.
func isDaemon(t auparse.AuditMessageType) bool {
	return t >= auparse.AUDIT_DAEMON_START && t <= auparse.AUDIT_LAST_DAEMON
}

// daemon emits one of auditd's own records as an event of its own. Its
// serial is auditd's, not the kernel's, so it takes no part in gap
// counting nor in reassembly (where it could merge with a kernel event of
// the same serial). DAEMON_START, DAEMON_END and DAEMON_ABORT bound a
// daemon run: what the kernel sent while no auditd listened was never
// meant to reach this log, and after a reboot the kernel's serials start
// again, so gaps are counted within one run only.
func (n *node) daemon(msg *auparse.AuditMessage) {
	switch msg.RecordType {
	case auparse.AUDIT_DAEMON_START, auparse.AUDIT_DAEMON_END, auparse.AUDIT_DAEMON_ABORT:
		n.reset() // emits the run's events, counting their gaps
		n.seen, n.pushed = false, false
	}
	n.emit([]*auparse.AuditMessage{msg})
}

// emit maps one audit event and hands it on.
func (n *node) emit(msgs []*auparse.AuditMessage) { n.r.emit(n.host, msgs) }

// emit maps one audit event of host and hands it on.
func (st *run) emit(host string, msgs []*auparse.AuditMessage) {
	if st.err != nil {
		return
	}
	if st.group != nil {
		st.groupOf(host, msgs)
		return
	}
	e, rej := st.mb.build(host, msgs)
	if rej != nil {
		st.out.Reject(*rej)
		return
	}
	if err := st.out.Event(e); err != nil {
		st.err = err
	}
}

// splitLine finds the start of the audit record in line ("type=" or "node="
// at the start or after a space) and returns the syslog hostname of the
// prefix before it, if any.
func splitLine(line string) (host, text string, ok bool) {
	if strings.HasPrefix(line, "type=") || strings.HasPrefix(line, "node=") {
		return "", line, true
	}
	i := recordStart(line)
	if i < 0 {
		return "", "", false
	}
	return syslogHost(line[:i]), line[i:], true
}

// recordStart returns the index of the first " type=" or " node=" field, plus
// one, or -1.
func recordStart(line string) int {
	for off := 0; ; {
		j := strings.Index(line[off:], "=")
		if j < 0 {
			return -1
		}
		j += off
		if j >= 4 {
			k := line[j-4 : j]
			if (k == "type" || k == "node") && (j == 4 || line[j-5] == ' ') {
				return j - 4
			}
		}
		off = j + 1
	}
}

// cutNode splits a leading "node=NAME " off s.
func cutNode(s string) (node, rest string, ok bool) {
	if !strings.HasPrefix(s, "node=") {
		return "", s, false
	}
	s = s[len("node="):]
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return "", s, false
	}
	return s[:i], strings.TrimLeft(s[i+1:], " "), true
}

var months = "JanFebMarAprMayJunJulAugSepOctNovDec"

// syslogHost returns the HOSTNAME of a syslog header (RFC 3164 "<13>Nov 10
// 07:48:12 host tag:", RFC 5424 "<13>1 2020-11-10T07:48:12Z host app - - -",
// or an ISO timestamp then the host, as rsyslog writes), "" when there is none.
func syslogHost(prefix string) string {
	p := prefix
	if strings.HasPrefix(p, "<") {
		if i := strings.IndexByte(p, '>'); i > 0 {
			p = p[i+1:]
		}
	}
	f := strings.Fields(p)
	var h string
	switch {
	case len(f) >= 3 && len(f[0]) <= 2 && isDigits(f[0]): // RFC 5424: VERSION TIMESTAMP HOSTNAME
		h = f[2]
	case len(f) >= 4 && len(f[0]) == 3 && strings.Contains(months, f[0]) && strings.Count(f[2], ":") == 2: // RFC 3164
		h = f[3]
	case len(f) >= 2 && len(f[0]) >= 10 && f[0][4] == '-' && isDigits(f[0][:4]): // ISO timestamp then host
		h = f[1]
	}
	if h == "-" || strings.HasSuffix(h, ":") {
		return "" // a nil host, or the tag of a header without one
	}
	return h
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// clip shortens a line for a rejection's detail.
func clip(s string) string {
	const n = 200
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// lineReader reads lines of at most max bytes with a fixed buffer.
type lineReader struct {
	br *bufio.Reader
	n  int64 // number of the line last returned
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, max)}
}

// next returns the next line (valid until the following call), or, for a
// line longer than the buffer, nil and its length, which it skips. It
// returns io.EOF at the end of input.
func (lr *lineReader) next() (line []byte, long int64, err error) {
	line, err = lr.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long = int64(len(line))
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = lr.br.ReadSlice('\n')
			long += int64(len(line))
		}
		lr.n++
		if err != nil && err != io.EOF {
			return nil, 0, err
		}
		return nil, long, nil
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			lr.n++
			return line, 0, nil
		}
		return nil, 0, err
	}
	lr.n++
	return line, 0, nil
}

// Detect reports whether head, the first bytes of an input, looks like an
// audit log: a line holding "type=NAME msg=audit(", maybe after a syslog
// prefix or a node= field.
func Detect(head []byte) bool {
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		i := bytes.Index(line, []byte("type="))
		for i >= 0 {
			if i == 0 || line[i-1] == ' ' {
				rest := line[i+len("type="):]
				sp := bytes.IndexByte(rest, ' ')
				if sp > 0 && bytes.HasPrefix(rest[sp+1:], []byte("msg=audit(")) {
					return true
				}
			}
			j := bytes.Index(line[i+1:], []byte("type="))
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	return false
}

// NeedHost makes host the host of records that name none, and makes such
// records an error (*parse.NoHostError) when host is "": the ingest calls
// it, so no auditd event is stored without a host.
func (d *Decoder) NeedHost(host string) { d.Host, d.RequireHost = host, true }
