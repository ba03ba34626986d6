package audit

import (
	"bytes"
	"context"
	"strconv"

	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse/auditd"
)

const (
	// chunkBytes is how much complete record text is decoded at once.
	chunkBytes = 256 << 10
	// maxGroupBytes bounds one event's records held while waiting for the
	// next event; past it the event is decoded as it is.
	maxGroupBytes = 2 * event.MaxEventBytes
	// lateWindow is how far behind the last sequence a record may come and
	// still fill a gap (records of CPUs racing); further back is a new run
	// of sequence numbers (auditd or the kernel restarted).
	lateWindow = 4096
)

// grouper cuts audit log lines into whole events (the records sharing one
// "msg=audit(time:serial)") and hands them, a chunk at a time, to the
// auditd decoder's first half (Group: go-libaudit's reassembler, the
// same one `spoor ingest` uses), which sends each event's records on as an
// audit envelope (output). An event is whole when a record of another
// event follows it or the log has been quiet (flush), so the offset after
// a chunk is a point where nothing is held: a safe read position.
type grouper struct {
	dec  *auditd.Decoder
	emit source.Emit
	recs []byte // the envelope's records, JSON

	cur    []byte // records of the event being read
	curKey []byte
	keyBuf []byte
	chunk  []byte // whole events not decoded yet
	// chunkEnd and curEnd are the file offsets after chunk's and cur's
	// last line; safe is the offset after the last decoded chunk.
	chunkEnd, curEnd, safe int64

	lastSeq uint64
	seqSet  bool
	gaps    int64 // sequence numbers never seen
	rejects int64 // records the decoder could not read
	events  int64
}

func newGrouper(host string, emit source.Emit) *grouper {
	d := auditd.New()
	d.Host = host
	return &grouper{dec: d, emit: emit}
}

// line takes one record line (without its newline) that ends at file
// offset end.
func (g *grouper) line(ctx context.Context, b []byte, end int64) {
	key := groupKey(g.keyBuf, b)
	g.keyBuf = key
	if len(g.cur) > 0 && (!bytes.Equal(key, g.curKey) || len(g.cur)+len(b) > maxGroupBytes) {
		g.close()
		if len(g.chunk) >= chunkBytes {
			g.decode(ctx)
		}
	}
	if len(g.cur) == 0 {
		g.curKey = append(g.curKey[:0], key...)
		g.sequence(b, key)
	}
	g.cur = append(append(g.cur, b...), '\n')
	g.curEnd = end
}

// skipped notes a line that was not read (too long) ending at end.
func (g *grouper) skipped(end int64) {
	g.rejects++
	if len(g.cur) == 0 {
		g.chunkEnd = end
		if len(g.chunk) == 0 {
			g.safe = end
		}
	} else {
		g.curEnd = end
	}
}

// close moves the event being read into the chunk.
func (g *grouper) close() {
	g.chunk = append(g.chunk, g.cur...)
	g.chunkEnd = g.curEnd
	g.cur = g.cur[:0]
}

// flush decodes what is whole; with all, the event being read too.
func (g *grouper) flush(ctx context.Context, all bool) {
	if all && len(g.cur) > 0 {
		g.close()
	}
	g.decode(ctx)
}

// reset forgets what is held (the file was truncated under us).
func (g *grouper) reset() {
	g.cur, g.chunk = g.cur[:0], g.chunk[:0]
	g.curEnd, g.chunkEnd, g.safe = 0, 0, 0
}

func (g *grouper) decode(ctx context.Context) {
	if len(g.chunk) > 0 {
		if err := g.dec.Group(ctx, bytes.NewReader(g.chunk), output{g}); err != nil {
			// Only ctx ends Group early: the agent is stopping. The chunk
			// stays, and the read position before it; the last flush
			// hands it over whole (the events already handed over again:
			// their _ids are the same, the server keeps them once).
			return
		}
		g.chunk = g.chunk[:0]
	}
	g.safe = g.chunkEnd
	if len(g.cur) == 0 {
		g.safe = max(g.safe, g.curEnd)
	}
}

// sequence counts the serials skipped between events: the kernel numbers
// every event it sends, so a gap is an event lost before the log.
func (g *grouper) sequence(line, key []byte) {
	if bytes.Contains(line, []byte("type=DAEMON_")) {
		return // auditd's own records have auditd's serials
	}
	i := bytes.LastIndexByte(key, ':')
	if i < 0 {
		return
	}
	seq, err := strconv.ParseUint(string(key[i+1:]), 10, 64)
	if err != nil {
		return
	}
	switch {
	case !g.seqSet || seq > g.lastSeq+lateWindow || seq+lateWindow < g.lastSeq:
		g.lastSeq, g.seqSet = seq, true
	case seq > g.lastSeq:
		g.gaps += int64(seq - g.lastSeq - 1)
		g.lastSeq = seq
	case seq < g.lastSeq && g.gaps > 0:
		g.gaps-- // a late event fills a gap counted before
	}
}

// groupKey is what the records of one event share: the node (if any) and
// "time:serial" of msg=audit(...), written into buf. A line without one has
// the empty key.
func groupKey(buf, b []byte) []byte {
	buf = buf[:0]
	i := bytes.Index(b, []byte("msg=audit("))
	if i < 0 {
		return buf
	}
	j := bytes.IndexByte(b[i:], ')')
	if j < 0 {
		return buf
	}
	if k := bytes.Index(b[:i], []byte("node=")); k >= 0 {
		node := b[k+len("node="):]
		if sp := bytes.IndexByte(node, ' '); sp >= 0 {
			node = node[:sp]
		}
		buf = append(buf, node...)
	}
	buf = append(buf, '|')
	return append(buf, b[i+len("msg=audit("):i+j]...)
}
