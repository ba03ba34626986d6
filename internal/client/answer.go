package client

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"slices"

	"github.com/spoor-dev/spoor/internal/render"
)

// Answer is a streamed search or SQL answer in json, ndjson or csv, as the
// server sent it but for its error marker: read it to its end, then Err
// says whether the server ended it early. The server's Spoor-Error trailer
// decides; the marker in the body (render.Fail) is taken for one only when
// the trailers did not come through (a proxy dropped them), so that a row
// that looks like a marker is never taken for one.
type Answer struct {
	// Warnings are the server's Spoor-Warning headers: events the answer
	// lacks, fields of the query no event has.
	Warnings []string

	resp   *http.Response
	format string
	br     *bufio.Reader
	keep   int      // lines held back: the marker and what follows it
	held   [][]byte // the last lines read, not yet given out
	ready  []byte   // bytes to give out
	done   bool
	lines  int  // lines given out; for csv, records
	quoted bool // csv: inside a quoted field that holds a newline
	err    error
}

func newAnswer(resp *http.Response, format string) *Answer {
	keep := 1 // ndjson, csv: the marker is the last line
	if format == "json" {
		keep = 3 // "{row},", the marker, "]"
	}
	return &Answer{Warnings: resp.Header.Values("Spoor-Warning"), resp: resp, format: format,
		br: bufio.NewReaderSize(resp.Body, 64<<10), keep: keep}
}

// StreamError is an answer the server ended early, after its first rows.
type StreamError struct{ Msg string }

func (e *StreamError) Error() string { return "the answer is incomplete: " + e.Msg }

func (a *Answer) Read(p []byte) (int, error) {
	for len(a.ready) == 0 {
		if a.done {
			return 0, io.EOF
		}
		line, err := a.br.ReadBytes('\n')
		if len(line) > 0 {
			a.held = append(a.held, line)
			if len(a.held) > a.keep {
				a.give(a.held[0])
				a.held = a.held[1:]
			}
		}
		if err == io.EOF {
			a.finish()
		} else if err != nil {
			return 0, err
		}
	}
	n := copy(p, a.ready)
	a.ready = a.ready[n:]
	return n, nil
}

func (a *Answer) give(line []byte) {
	a.ready = append(a.ready, line...)
	if a.format == "csv" && bytes.Count(line, []byte(`"`))%2 == 1 {
		a.quoted = !a.quoted
	}
	if !a.quoted {
		a.lines++
	}
}

// Rows counts the rows given out so far.
func (a *Answer) Rows() int {
	switch a.format {
	case "json":
		return max(a.lines-2, 0) // "[" and "]"
	case "csv":
		return max(a.lines-1, 0) // the header
	}
	return a.lines
}

// finish reads the trailers and takes the marker out of the held lines.
func (a *Answer) finish() {
	a.done = true
	msg := a.resp.Trailer.Get("Spoor-Error")
	_, declared := a.resp.Trailer["Spoor-Error"]
	i := len(a.held) - 1
	if a.format == "json" {
		i-- // before the closing ]
	}
	if i >= 0 {
		if m, ok := render.ErrorLine(a.format, a.held[i]); ok && (msg != "" || !declared) {
			if msg == "" {
				msg = m
			}
			a.held = slices.Delete(a.held, i, i+1)
			if a.format == "json" && i > 0 {
				// The row before the marker was not the last one: drop its comma.
				prev := bytes.TrimRight(a.held[i-1], "\r\n")
				a.held[i-1] = append(bytes.TrimSuffix(prev, []byte(",")), '\n')
			}
		}
	}
	if msg != "" {
		a.err = &StreamError{Msg: msg}
	}
	for _, l := range a.held {
		a.give(l)
	}
	a.held = nil
}

// Err is the server's error that ended the answer early; call it after
// reading to the end.
func (a *Answer) Err() error { return a.err }

// Truncated reports whether the server's row limit cut the answer, and the
// cursor of the rest where there is one (searches); call it after reading
// to the end.
func (a *Answer) Truncated() (bool, string) {
	return a.resp.Trailer.Get("Spoor-Truncated") == "true", a.resp.Trailer.Get("Spoor-Next-Cursor")
}

// Close releases the answer.
func (a *Answer) Close() error { return a.resp.Body.Close() }
