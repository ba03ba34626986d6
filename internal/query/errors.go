package query

import (
	"errors"
	"strconv"
	"strings"
)

// Pos is a position in the query text.
type Pos struct {
	Offset int // byte offset, from 0
	Line   int // from 1
	Col    int // in characters (runes), from 1
}

func (p Pos) String() string { return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col) }

// Error is a syntax or compile error at a position of the query: what was
// found there and what was expected, or a free message.
type Error struct {
	Pos      Pos
	Found    string // "end of input", `"="`, "string 'x'"
	Expected string // `a value after "="`
	Msg      string // used when Expected is empty
	// Src is the query text when known; Caret renders it. Parse sets it;
	// errors from ToSQL and Compile get it through WithSource.
	Src string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.message() }

func (e *Error) message() string {
	if e.Expected == "" {
		return e.Msg
	}
	return "expected " + e.Expected + ", found " + e.Found
}

// Caret renders the error under the query line it points into:
//
//	event_type = "login" AND agent_id =
//	                                   ^ expected a value after "=", found end of input
//
// Without the query text it is the same as Error.
func (e *Error) Caret() string {
	if e.Src == "" {
		return e.Error()
	}
	off := min(e.Pos.Offset, len(e.Src))
	start := strings.LastIndexByte(e.Src[:off], '\n') + 1
	end := strings.IndexByte(e.Src[off:], '\n')
	if end < 0 {
		end = len(e.Src)
	} else {
		end += off
	}
	line := e.Src[start:end]
	var b strings.Builder
	b.WriteString(line)
	b.WriteByte('\n')
	for _, r := range e.Src[start:off] {
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteString("^ ")
	b.WriteString(e.message())
	return b.String()
}

// WithSource attaches the query text to err when it is an *Error, so that
// Caret can show it; other errors are returned unchanged.
func WithSource(err error, src string) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Src = src
		return &c
	}
	return err
}
