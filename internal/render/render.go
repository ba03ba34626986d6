// Package render writes result rows as an aligned table, a JSON array,
// NDJSON (one object per row, keyed by column name) or CSV.
package render

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Formats lists the output formats.
var Formats = []string{"table", "json", "ndjson", "csv"}

// Valid reports whether f is a known format.
func Valid(f string) bool {
	for _, x := range Formats {
		if x == f {
			return true
		}
	}
	return false
}

// Writer writes rows in one format. Call Header once, Row per row, then Close.
type Writer interface {
	Header(cols []string) error
	Row(vals []any) error
	// RawRow writes a row that is already a JSON object (json and ndjson
	// only; the other formats fall back to Row of its columns).
	Close() error
}

// New returns a writer of format f on w. Table output buffers up to
// maxTableRows rows to size its columns, then streams.
func New(f string, w io.Writer) (Writer, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	switch f {
	case "table":
		return &table{w: bw}, nil
	case "json":
		return &jsonW{w: bw, array: true}, nil
	case "ndjson":
		return &jsonW{w: bw}, nil
	case "csv":
		return &csvW{bw: bw, w: csv.NewWriter(bw)}, nil
	}
	return nil, fmt.Errorf("unknown format %q (want one of %s)", f, strings.Join(Formats, ", "))
}

// Value converts a database value into what JSON should show.
func Value(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000Z")
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Value(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = Value(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Value(e)
		}
		return out
	case *big.Int:
		if x.IsInt64() {
			return x.Int64()
		}
		return x.String()
	case fmt.Stringer:
		return x.String()
	}
	return v
}

// Text renders a value for a table cell or a CSV field.
func Text(v any) string {
	switch x := Value(v).(type) {
	case nil:
		return ""
	case string:
		return x
	case []any, map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	default:
		return fmt.Sprint(x)
	}
}

type jsonW struct {
	w     *bufio.Writer
	cols  []string
	array bool
	n     int
}

func (j *jsonW) Header(cols []string) error {
	j.cols = cols
	if j.array {
		_, err := j.w.WriteString("[")
		return err
	}
	return nil
}

func (j *jsonW) Row(vals []any) error {
	var b []byte
	b = append(b, '{')
	for i, c := range j.cols {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(c)
		b = append(b, k...)
		b = append(b, ':')
		v, err := json.Marshal(Value(vals[i]))
		if err != nil {
			v, _ = json.Marshal(fmt.Sprint(vals[i]))
		}
		b = append(b, v...)
	}
	b = append(b, '}')
	return j.object(b)
}

// Object writes a row that is already a JSON object.
func (j *jsonW) object(b []byte) error {
	if j.array {
		if j.n > 0 {
			j.w.WriteString(",\n")
		} else {
			j.w.WriteString("\n")
		}
	}
	j.n++
	if _, err := j.w.Write(b); err != nil {
		return err
	}
	if !j.array {
		return j.w.WriteByte('\n')
	}
	return nil
}

func (j *jsonW) Close() error {
	if j.array {
		if j.cols == nil {
			j.w.WriteString("[")
		}
		if j.n > 0 {
			j.w.WriteString("\n")
		}
		j.w.WriteString("]\n")
	}
	return j.w.Flush()
}

// WriteObject writes a whole JSON object as one row when w is a JSON or
// NDJSON writer, and reports whether it could.
func WriteObject(w Writer, obj []byte) (bool, error) {
	if j, ok := w.(*jsonW); ok {
		return true, j.object(obj)
	}
	return false, nil
}

type csvW struct {
	bw *bufio.Writer
	w  *csv.Writer
}

func (c *csvW) Header(cols []string) error { return c.w.Write(cols) }

func (c *csvW) Row(vals []any) error {
	rec := make([]string, len(vals))
	for i, v := range vals {
		rec[i] = Text(v)
	}
	return c.w.Write(rec)
}

func (c *csvW) Close() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.bw.Flush()
}

const (
	maxTableRows = 1000 // rows buffered to size the columns
	maxCellWidth = 80
)

type table struct {
	w      *bufio.Writer
	cols   []string
	rows   [][]string
	widths []int
	flowed bool
	n      int
}

func (t *table) Header(cols []string) error {
	t.cols = cols
	t.widths = make([]int, len(cols))
	for i, c := range cols {
		t.widths[i] = utf8.RuneCountInString(c)
	}
	return nil
}

func (t *table) Row(vals []any) error {
	rec := make([]string, len(vals))
	for i, v := range vals {
		s := strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == '\t' {
				return ' '
			}
			return r
		}, Text(v))
		if utf8.RuneCountInString(s) > maxCellWidth {
			s = string([]rune(s)[:maxCellWidth-1]) + "…"
		}
		rec[i] = s
	}
	t.n++
	if t.flowed {
		return t.line(rec)
	}
	for i, s := range rec {
		t.widths[i] = max(t.widths[i], utf8.RuneCountInString(s))
	}
	t.rows = append(t.rows, rec)
	if len(t.rows) >= maxTableRows {
		return t.flow()
	}
	return nil
}

func (t *table) flow() error {
	t.flowed = true
	if err := t.line(t.cols); err != nil {
		return err
	}
	for _, r := range t.rows {
		if err := t.line(r); err != nil {
			return err
		}
	}
	t.rows = nil
	return nil
}

func (t *table) line(rec []string) error {
	for i, s := range rec {
		if i > 0 {
			t.w.WriteString("  ")
		}
		t.w.WriteString(s)
		if i < len(rec)-1 {
			t.w.WriteString(strings.Repeat(" ", max(0, t.widths[i]-utf8.RuneCountInString(s))))
		}
	}
	_, err := t.w.WriteString("\n")
	return err
}

func (t *table) Close() error {
	if !t.flowed && t.cols != nil {
		if err := t.flow(); err != nil {
			return err
		}
	}
	fmt.Fprintf(t.w, "(%d rows)\n", t.n)
	return t.w.Flush()
}

// ScanTargets returns n values and pointers to them, for rows.Scan.
func ScanTargets(n int) (vals, ptrs []any) {
	vals = make([]any, n)
	ptrs = make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	return vals, ptrs
}
