// Package jsonrec splits a JSON input into records without decoding them:
// JSON lines, values one after another (pretty-printed or not), the
// elements of top-level arrays, and the elements of CloudTrail delivery
// files ({"Records":[...]}). It only tracks strings and brackets, so it
// runs at memory speed and holds one record at a time, at most Max bytes;
// the converters validate each record.
package jsonrec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Record is one JSON value of the input.
type Record struct {
	Data  []byte // the value's text; valid until the next call to Next
	Line  int64  // line where it starts, from 1
	Index int64  // its position among the records, from 1
}

// Error is a stretch of input that is not a record: too large, or not
// JSON. The reader has skipped it and can go on.
type Error struct {
	Line   int64
	Index  int64 // the record's position when it was one (too large), else 0
	Reason string
	Detail string
}

func (e *Error) Error() string {
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Reason, e.Detail)
}

// Reasons an Error gives.
const (
	ReasonTooLarge = "record too large"
	ReasonNotJSON  = "not JSON"
	ReasonTrailing = "unterminated JSON"
)

// Reader reads records from r.
type Reader struct {
	// Max bounds one record; larger ones are skipped, never held whole.
	Max int

	r     io.Reader
	buf   []byte
	pos   int
	end   int
	rerr  error
	line  int64
	index int64
	rec   []byte
	// arrays is how many enclosing arrays (top-level or a Records
	// wrapper) the reader is in; wrapper says the outermost is a wrapper
	// object's Records member, whose object must be closed after it.
	arrays  int
	wrapper bool
}

// NewReader reads from r with records of at most max bytes.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{Max: max, r: r, buf: make([]byte, 256<<10), line: 1}
}

// fill makes at least n bytes available after pos if the input has them.
func (r *Reader) fill(n int) bool {
	for r.end-r.pos < n && r.rerr == nil {
		if r.pos > 0 {
			copy(r.buf, r.buf[r.pos:r.end])
			r.end -= r.pos
			r.pos = 0
		}
		if r.end == len(r.buf) {
			return true // n > buffer: callers never ask that much
		}
		m, err := r.r.Read(r.buf[r.end:])
		r.end += m
		if err != nil {
			r.rerr = err
		}
	}
	return r.end-r.pos >= n
}

// Line is the line the reader is at.
func (r *Reader) Line() int64 { return r.line }

// Next returns the next record. At the end it returns io.EOF; a read error
// of the input is returned as is; a skipped stretch comes as *Error, after
// which Next can be called again.
func (r *Reader) Next() (Record, error) {
	for {
		c, ok := r.skipSpace()
		if !ok {
			if r.rerr != nil && r.rerr != io.EOF {
				return Record{}, r.rerr
			}
			if r.arrays > 0 {
				r.arrays = 0
				return Record{}, &Error{Line: r.line, Reason: ReasonTrailing, Detail: "the input ends inside an array"}
			}
			return Record{}, io.EOF
		}
		switch {
		case r.arrays > 0 && c == ']':
			r.pos++
			r.arrays--
			if r.arrays == 0 && r.wrapper {
				r.wrapper = false
				if err := r.closeWrapper(); err != nil {
					return Record{}, err
				}
			}
			continue
		case r.arrays == 0 && c == '[':
			r.pos++
			r.arrays++
			continue
		case r.arrays == 0 && c == '{' && r.isWrapper():
			continue
		case c == '{' || c == '[' || r.arrays > 0:
			return r.value()
		}
		// Not JSON at the top level: skip the line.
		line := r.line
		skipped := r.skipLine()
		return Record{}, &Error{Line: line, Reason: ReasonNotJSON, Detail: fmt.Sprintf("%q", skipped)}
	}
}

// skipSpace skips white space (and, inside arrays, the commas between
// elements) and returns the next byte.
func (r *Reader) skipSpace() (byte, bool) {
	for {
		if r.pos == r.end && !r.fill(1) {
			return 0, false
		}
		for r.pos < r.end {
			c := r.buf[r.pos]
			switch {
			case c == '\n':
				r.line++
			case c == ' ' || c == '\t' || c == '\r':
			case c == ',' && r.arrays > 0:
			case c == 0xEF && r.fill(3) && bytes.HasPrefix(r.buf[r.pos:r.end], []byte{0xEF, 0xBB, 0xBF}):
				r.pos += 2 // a byte order mark
			default:
				return c, true
			}
			r.pos++
		}
	}
}

// isWrapper consumes `{"Records":[` when it comes next.
func (r *Reader) isWrapper() bool {
	r.fill(64)
	b := r.buf[r.pos:r.end]
	i := 1
	sp := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
			i++
		}
	}
	sp()
	if !bytes.HasPrefix(b[i:], []byte(`"Records"`)) {
		return false
	}
	i += len(`"Records"`)
	sp()
	if i >= len(b) || b[i] != ':' {
		return false
	}
	i++
	sp()
	if i >= len(b) || b[i] != '[' {
		return false
	}
	r.line += int64(bytes.Count(b[:i+1], []byte{'\n'}))
	r.pos += i + 1
	r.arrays = 1
	r.wrapper = true
	return true
}

// closeWrapper skips what follows the Records array up to the end of its
// object (other members, if any, are not records).
func (r *Reader) closeWrapper() error {
	depth, inStr, esc := 1, false, false
	for {
		if r.pos == r.end && !r.fill(1) {
			return &Error{Line: r.line, Reason: ReasonTrailing, Detail: "the input ends inside the Records object"}
		}
		c := r.buf[r.pos]
		r.pos++
		switch {
		case c == '\n':
			r.line++
		case inStr:
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return nil
			}
		}
	}
}

// skipLine skips to the end of the line and returns its start (at most 64 bytes).
func (r *Reader) skipLine() []byte {
	var head []byte
	for {
		if r.pos == r.end && !r.fill(1) {
			return head
		}
		i := bytes.IndexByte(r.buf[r.pos:r.end], '\n')
		seg := r.buf[r.pos:r.end]
		if i >= 0 {
			seg = seg[:i]
		}
		if n := 64 - len(head); n > 0 {
			head = append(head, seg[:min(n, len(seg))]...)
		}
		if i >= 0 {
			r.pos += i + 1
			r.line++
			return head
		}
		r.pos = r.end
	}
}

// value reads one value starting at pos: an object or array by its
// brackets, or, inside an array, a scalar up to the next comma or bracket.
func (r *Reader) value() (Record, error) {
	r.index++
	start := r.line
	r.rec = r.rec[:0]
	large := false
	keep := func(b []byte) {
		if large {
			return
		}
		if len(r.rec)+len(b) > r.Max {
			large = true
			return
		}
		r.rec = append(r.rec, b...)
	}
	depth, inStr, esc := 0, false, false
	scalar := r.buf[r.pos] != '{' && r.buf[r.pos] != '['
	if scalar && (r.buf[r.pos] == '}' || r.buf[r.pos] == ',') {
		// A stray closer inside an array: skip it so the reader moves on.
		r.pos++
		return Record{}, &Error{Line: start, Reason: ReasonNotJSON, Detail: fmt.Sprintf("%q inside an array", r.buf[r.pos-1])}
	}
	done := false
	for !done {
		if r.pos == r.end && !r.fill(1) {
			break
		}
		b := r.buf[r.pos:r.end]
		i := 0
	scan:
		for ; i < len(b); i++ {
			c := b[i]
			if inStr && !esc && c != '"' && c != '\\' && c != '\n' {
				// Skip the plain run of a string at once.
				j := bytes.IndexAny(b[i:], "\"\\\n")
				if j < 0 {
					i = len(b) - 1
					continue
				}
				i += j
				c = b[i]
			}
			if inStr {
				if esc {
					esc = false
				} else if c == '\\' {
					esc = true
				} else if c == '"' {
					inStr = false
				} else if c == '\n' {
					r.line++
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				if scalar {
					done = true
					break scan
				}
				depth--
				if depth == 0 {
					i++
					done = true
					break scan
				}
			case ',':
				if scalar {
					done = true
					break scan
				}
			case '\n':
				r.line++
				// A line that starts with '{' inside a top-level object
				// begins the next JSON line: the current one is broken.
				if r.arrays == 0 && depth > 0 && i+1 < len(b) && b[i+1] == '{' {
					i++
					done = true
					break scan
				}
			}
		}
		keep(b[:i])
		r.pos += i
	}
	if large {
		return Record{}, &Error{Line: start, Index: r.index, Reason: ReasonTooLarge, Detail: fmt.Sprintf("over %d bytes", r.Max)}
	}
	if r.rerr != nil && r.rerr != io.EOF && !done {
		return Record{}, r.rerr
	}
	return Record{Data: bytes.TrimRight(r.rec, " \t\r\n"), Line: start, Index: r.index}, nil
}

// IsError reports whether err is a skipped stretch rather than the end or
// a read error.
func IsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
