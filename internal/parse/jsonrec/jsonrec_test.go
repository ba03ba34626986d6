package jsonrec

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// all reads every record and skipped stretch, as text.
func all(t *testing.T, in string, max int) (recs []Record, errs []*Error) {
	t.Helper()
	r := NewReader(strings.NewReader(in), max)
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return recs, errs
		}
		if e, ok := IsError(err); ok {
			errs = append(errs, e)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		rec.Data = bytes.Clone(rec.Data)
		recs = append(recs, rec)
	}
}

func TestShapes(t *testing.T) {
	f := func(name, in string, want []string, wantLines []int64) {
		t.Helper()
		recs, errs := all(t, in, 1<<20)
		if len(errs) != 0 {
			t.Errorf("%s: unexpected errors %v", name, errs[0])
		}
		if len(recs) != len(want) {
			t.Fatalf("%s: %d records, want %d: %v", name, len(recs), len(want), recs)
		}
		for i, r := range recs {
			if string(r.Data) != want[i] {
				t.Errorf("%s: record %d = %q, want %q", name, i, r.Data, want[i])
			}
			if r.Index != int64(i+1) {
				t.Errorf("%s: record %d index %d", name, i, r.Index)
			}
			if wantLines != nil && r.Line != wantLines[i] {
				t.Errorf("%s: record %d line %d, want %d", name, i, r.Line, wantLines[i])
			}
		}
	}
	f("lines", "{\"a\":1}\n{\"b\":\"}\\\"{\"}\n\n{\"c\":[1,{\"d\":2}]}\n", []string{`{"a":1}`, `{"b":"}\"{"}`, `{"c":[1,{"d":2}]}`}, []int64{1, 2, 4})
	f("pretty", "{\n  \"Event\": {\n    \"System\": {}\n  }\n}\n{\n  \"x\": 1\n}", []string{"{\n  \"Event\": {\n    \"System\": {}\n  }\n}", "{\n  \"x\": 1\n}"}, []int64{1, 6})
	f("array", "[{\"a\":1},\n {\"b\":2}]\n[{\"c\":3}]", []string{`{"a":1}`, `{"b":2}`, `{"c":3}`}, []int64{1, 2, 3})
	f("records", "\xef\xbb\xbf{\"Records\":[{\"eventName\":\"A\"},{\"eventName\":\"B\",\"x\":[\"]\"]}]}\n{\"Records\": [ ]}", []string{`{"eventName":"A"}`, `{"eventName":"B","x":["]"]}`}, nil)
	f("records then members", `{"Records":[{"a":1}],"Digest":{"b":[2]}}{"c":3}`, []string{`{"a":1}`, `{"c":3}`}, nil)
	f("not a wrapper", `{"Recordsx":[1]}`, []string{`{"Recordsx":[1]}`}, nil)
	f("scalars in array", `[1, "x", {"a":1}]`, []string{`1`, `"x"`, `{"a":1}`}, nil)
}

func TestBadInputIsSkipped(t *testing.T) {
	in := "{\"a\":1}\nnot json at all\n{\"b\":\n{\"c\":3}\n" + `{"d":"` + strings.Repeat("x", 100) + "\"}\n{\"e\":5}\n"
	recs, errs := all(t, in, 64)
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Data))
	}
	// The broken line 3 comes out as its own (malformed) record: the
	// converters reject it; line 4 is not swallowed by it.
	want := []string{`{"a":1}`, `{"b":`, `{"c":3}`, `{"e":5}`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("records %q, want %q", got, want)
	}
	if len(errs) != 2 || errs[0].Reason != ReasonNotJSON || errs[0].Line != 2 || errs[1].Reason != ReasonTooLarge || errs[1].Line != 5 {
		t.Fatalf("errors %+v", errs)
	}
}

func TestUnterminatedArray(t *testing.T) {
	recs, errs := all(t, `[{"a":1},{"b":2}`, 1<<20)
	if len(recs) != 2 || len(errs) != 1 || errs[0].Reason != ReasonTrailing {
		t.Fatalf("records %d, errors %+v", len(recs), errs)
	}
}

// A 1 GiB record (a 1 GiB line) is skipped in bounded memory, never held,
// and the records after it are read.
func TestHugeRecordBounded(t *testing.T) {
	huge := io.MultiReader(strings.NewReader(`{"a":"`), io.LimitReader(repeat('x'), 1<<30), strings.NewReader("\"}\n{\"b\":1}\n"))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	defer func() {
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
			t.Errorf("reading a 1 GiB record allocated %d MiB", grew>>20)
		}
	}()
	r := NewReader(huge, 1<<20)
	_, err := r.Next()
	if e, ok := IsError(err); !ok || e.Reason != ReasonTooLarge {
		t.Fatalf("got %v, want too large", err)
	}
	rec, err := r.Next()
	if err != nil || string(rec.Data) != `{"b":1}` || rec.Line != 2 {
		t.Fatalf("after the huge record: %q line %d, %v", rec.Data, rec.Line, err)
	}
	if cap(r.rec) > 2<<20 {
		t.Fatalf("record buffer grew to %d bytes", cap(r.rec))
	}
}

// Deep nesting costs no stack: the reader counts brackets.
func TestDeepNesting(t *testing.T) {
	in := strings.Repeat("[", 1<<20) + strings.Repeat("]", 1<<20)
	recs, errs := all(t, "{\"a\":"+in+"}\n{\"b\":1}", 4<<20)
	if len(errs) != 0 || len(recs) != 2 || string(recs[1].Data) != `{"b":1}` {
		t.Fatalf("%d records, errors %v", len(recs), errs)
	}
}

type repeat byte

// xs is what repeat('x') copies from.
var xs = bytes.Repeat([]byte{'x'}, 64<<10)

func (b repeat) Read(p []byte) (int, error) {
	if b != 'x' {
		for i := range p {
			p[i] = byte(b)
		}
		return len(p), nil
	}
	n := 0
	for n < len(p) {
		n += copy(p[n:], xs)
	}
	return n, nil
}

func FuzzNext(f *testing.F) {
	for _, s := range []string{`{"Records":[{"a":1}]}`, "[1,2]\n{\"a\":\"\\\"\"}", "{\n\"a\"\n:\n{\n}}", "x\n{", `{"Records" : [ {}, [], "x" ] , "z": {}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in), 256)
		total := 0
		for range len(in) + 2 {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if _, ok := IsError(err); ok {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Data) > 256 {
				t.Fatalf("record of %d bytes over Max", len(rec.Data))
			}
			total += len(rec.Data)
			if total > len(in) {
				t.Fatalf("records hold %d bytes of a %d-byte input", total, len(in))
			}
		}
		t.Fatalf("no end after %d calls", len(in)+2)
	})
}
