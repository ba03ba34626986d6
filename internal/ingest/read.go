package ingest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
	"github.com/spoor-dev/spoor/internal/parse/formats"
	"github.com/spoor-dev/spoor/internal/parse/jsonrec"
)

// Limits on archives: what a zip may hold before it is taken for a bomb.
const (
	// maxZipInMemory bounds a zip that does not come from a file (standard
	// input, an HTTP body): zip needs random access, so it is held whole.
	maxZipInMemory = 512 << 20
	// maxZipRatio and minBombBytes: an entry that declares more than
	// maxZipRatio times its compressed size, and over minBombBytes, is
	// refused unread.
	maxZipRatio  = 200
	minBombBytes = 256 << 20
	// maxZipDepth is how deep zips inside zips are opened.
	maxZipDepth = 2
	// sniffBytes is how much of an input format detection looks at.
	sniffBytes = 64 << 10
	// streamBatch is how many decoded events go to the sink together.
	streamBatch = 2048
)

// reader reads sources into chunks for the parsing goroutines.
type reader struct {
	ctx        context.Context
	chunkBytes int
	out        chan<- chunk
	bytesIn    *atomic.Int64
	reject     func(Rejection)
	counted    func(what string, n int64)
	// done ends an input: its format ("" when none), its lines (for
	// messages) and records read.
	done    func(name, format string, lines, records int64, err error)
	skipped func(Skip)
	refused func(msg string)
	forced  formats.Format
	// host and hostFlag are Options.Host and how the caller names it.
	host, hostFlag string
}

// source reads one source and returns the bytes of it read in a format,
// as they are on disk (a zip file's whole size); none when it is not
// telemetry. Progress counts every byte looked at, and a file's whole size
// once it is done, so it ends at the inputs' total size.
func (rd *reader) source(s Source) int64 {
	f, err := s.Open()
	if err != nil {
		rd.done(s.Name, "", 0, 0, err)
		return 0
	}
	defer f.Close()
	file, _ := f.(*os.File)
	n, looked := rd.content(s, file, &countingReader{r: f, n: rd.bytesIn})
	if file != nil {
		if st, err := file.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > looked {
			rd.bytesIn.Add(st.Size() - looked)
		}
	}
	return n
}

// content reads a source through cr: n is the bytes read in a format,
// looked all the bytes progress has counted.
func (rd *reader) content(s Source, file *os.File, cr *countingReader) (n, looked int64) {
	r, release, err := decompress(cr)
	if err != nil {
		rd.done(s.Name, "", 0, 0, err)
		return 0, cr.t
	}
	defer release()
	// decompress hands back its own bufio.Reader when the input is plain.
	_, plain := r.(*bufio.Reader)
	br := bufio.NewReaderSize(r, sniffBytes)
	if isZip(br) {
		if file != nil && plain {
			size, entries := rd.zipFile(s.Name, file, 1, cr.t)
			return size, cr.t + entries
		}
		rd.zipStream(s.Name, br, 1)
		return cr.t, cr.t
	}
	if rd.stream(s.Name, br, s.Found) == "" {
		return 0, cr.t
	}
	return cr.t, cr.t
}

func isZip(br *bufio.Reader) bool {
	b, _ := br.Peek(4)
	return bytes.Equal(b, []byte("PK\x03\x04")) || bytes.Equal(b, []byte("PK\x05\x06"))
}

// zipFile reads the entries of a zip on disk, of which progress counted
// looked bytes already. It returns the zip's size and the bytes its
// entries added to progress as they were read.
func (rd *reader) zipFile(name string, f *os.File, depth int, looked int64) (size, read int64) {
	st, err := f.Stat()
	if err != nil {
		rd.done(name, "", 0, 0, err)
		return 0, 0
	}
	ra := &countingReaderAt{r: f}
	zr, err := zip.NewReader(ra, st.Size())
	if err != nil {
		rd.done(name, "", 0, 0, fmt.Errorf("zip: %w", err))
		return st.Size(), 0
	}
	// The directory is read above; from here on the entries count, up to
	// the zip's size.
	ra.n, ra.budget = rd.bytesIn, st.Size()-looked
	rd.zipEntries(name, zr, depth)
	return st.Size(), ra.t
}

// countingReaderAt adds the bytes read through it to n, once n is set,
// up to budget in all.
type countingReaderAt struct {
	r         io.ReaderAt
	n         *atomic.Int64
	t, budget int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	k, err := c.r.ReadAt(p, off)
	if add := min(int64(k), c.budget-c.t); c.n != nil && add > 0 {
		c.n.Add(add)
		c.t += add
	}
	return k, err
}

// zipStream reads a zip that is not a plain file, held in memory.
func (rd *reader) zipStream(name string, r io.Reader, depth int) {
	b, err := io.ReadAll(io.LimitReader(r, maxZipInMemory+1))
	if err != nil {
		rd.done(name, "", 0, 0, err)
		return
	}
	if len(b) > maxZipInMemory {
		rd.done(name, "", 0, 0, fmt.Errorf("a zip over %d MiB that is not a plain file: unpack it, or give the file itself", maxZipInMemory>>20))
		return
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		rd.done(name, "", 0, 0, fmt.Errorf("zip: %w", err))
		return
	}
	rd.zipEntries(name, zr, depth)
}

func (rd *reader) zipEntries(name string, zr *zip.Reader, depth int) {
	for _, zf := range zr.File {
		if rd.ctx.Err() != nil {
			return
		}
		entry := name + ":" + zf.Name
		if zf.FileInfo().IsDir() || strings.HasPrefix(filepath.Base(zf.Name), ".") || strings.HasPrefix(zf.Name, "__MACOSX/") {
			continue
		}
		if zf.UncompressedSize64 > minBombBytes && zf.UncompressedSize64 > maxZipRatio*max(zf.CompressedSize64, 1) {
			rd.done(entry, "", 0, 0, fmt.Errorf("refused: declares %d bytes from %d compressed, a zip bomb", zf.UncompressedSize64, zf.CompressedSize64))
			continue
		}
		ef, err := zf.Open()
		if err != nil {
			rd.done(entry, "", 0, 0, fmt.Errorf("zip entry: %w", err))
			continue
		}
		// archive/zip fails an entry that inflates past its declared size,
		// so the check above holds for what is read too.
		r, release, err := decompress(ef)
		if err != nil {
			ef.Close()
			rd.done(entry, "", 0, 0, err)
			continue
		}
		br := bufio.NewReaderSize(r, sniffBytes)
		if isZip(br) {
			if depth >= maxZipDepth {
				rd.done(entry, "", 0, 0, fmt.Errorf("zips nested deeper than %d are not opened", maxZipDepth))
			} else {
				rd.zipStream(entry, br, depth+1)
			}
		} else {
			rd.stream(entry, br, true)
		}
		release()
		ef.Close()
	}
}

// stream reads one decompressed input in its format and returns the
// format's name, "" when it read none. found says it was found in a
// directory or a zip: then it is skipped, not an error, when it is not in
// a format spoor reads.
func (rd *reader) stream(name string, br *bufio.Reader, found bool) string {
	f := rd.forced
	if f.Name == "" {
		head, _ := br.Peek(sniffBytes)
		if len(bytes.TrimSpace(head)) == 0 {
			rd.done(name, "", 0, 0, nil) // empty: nothing to read
			return ""
		}
		var ok bool
		if f, ok = formats.Detect(head); !ok {
			if found {
				rd.skipped(Skip{File: name, What: formats.Describe(head)})
				rd.done(name, "", 0, 0, nil)
				return ""
			}
			rd.done(name, "", 0, 0, fmt.Errorf("unrecognised format: %s (first bytes %q); name one with --format", formats.Describe(head), firstLine(head)))
			return ""
		}
	}
	var (
		lines, records int64
		err            error
	)
	// Text is counted in lines as it is read, whatever reads it.
	lc := &lineCounter{r: br}
	in := io.Reader(lc)
	if f.Binary {
		in = br
	}
	switch f.Kind {
	case formats.Lines:
		if head, _ := br.Peek(sniffBytes); !LineShaped(head) {
			// A top-level array or pretty-printed objects: split into
			// records as the other JSON formats are, one event each.
			records, err = rd.records(name, f.Name, in, nil)
			break
		}
		lines, err = readLines(rd.ctx, name, f.Name, br, rd.chunkBytes, rd.out, rd.reject)
		records = lines
	case formats.Records:
		records, err = rd.records(name, f.Name, in, f.Convert)
	case formats.Stream:
		out := &decoded{rd: rd, name: name, format: f.Name}
		dec := f.New()
		if h, ok := dec.(hostNeeder); ok {
			h.NeedHost(rd.host)
		}
		err = dec.Decode(rd.ctx, in, out)
		if err == nil {
			err = out.send()
		} else {
			out.send()
		}
		records = out.records()
		var nh *parse.NoHostError
		if errors.As(err, &nh) {
			rd.refused(fmt.Sprintf("%s in %s has no %s field: name its host with %s", nh.Format, name, nh.Field, rd.hostFlag))
			rd.done(name, "", 0, 0, nil)
			return ""
		}
	}
	if lc.bytes > 0 {
		lines = lc.lines()
	}
	rd.done(name, f.Name, lines, records, err)
	return f.Name
}

// lineCounter counts the lines read through it: newlines, and a last
// line without one, as wc -l counts them plus that last line.
type lineCounter struct {
	r         io.Reader
	bytes, nl int64
	endsInNL  bool
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.bytes += int64(n)
		c.nl += int64(bytes.Count(p[:n], []byte{'\n'}))
		c.endsInNL = p[n-1] == '\n'
	}
	return n, err
}

func (c *lineCounter) lines() int64 {
	if c.bytes > 0 && !c.endsInNL {
		return c.nl + 1
	}
	return c.nl
}

// LineShaped reports whether Threat Stack input is one JSON object a line
// (read line by line, the fast path), judging by its first record: not when
// it opens an array, or when its first object spans lines.
func LineShaped(head []byte) bool {
	b := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	if len(b) == 0 || b[0] == '[' {
		return len(b) == 0
	}
	first, _, _ := bytes.Cut(b, []byte{'\n'})
	first = bytes.TrimSpace(first)
	// A whole object on the first line, or a broken line of JSON lines (its
	// rejection is line-numbered either way): line shaped. An object whose
	// first line is only its opening is pretty-printed.
	return !(bytes.Equal(first, []byte{'{'}) || (first[0] == '{' && !json.Valid(first) && bytes.HasSuffix(first, []byte{','})))
}

// hostNeeder is a decoder whose records may name no host (raw auditd
// without node=): it takes the host the caller named, and refuses such
// records with a *parse.NoHostError when that is "".
type hostNeeder interface {
	NeedHost(host string)
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) > 48 {
		b = b[:48]
	}
	return b
}

// records splits JSON input into chunks of records for conv. It returns
// the records read.
func (rd *reader) records(name, format string, r io.Reader, conv parse.Converter) (int64, error) {
	jr := jsonrec.NewReader(r, event.MaxEventBytes)
	c := chunk{file: name, format: format, conv: conv}
	var n int64
	send := func() bool {
		if len(c.recs) == 0 {
			return true
		}
		select {
		case rd.out <- c:
		case <-rd.ctx.Done():
			return false
		}
		c = chunk{file: name, format: format, conv: conv, data: make([]byte, 0, rd.chunkBytes+64<<10)}
		return true
	}
	c.data = make([]byte, 0, rd.chunkBytes+64<<10)
	for {
		rec, err := jr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if e, ok := jsonrec.IsError(err); ok {
			n++
			rd.reject(Rejection{File: name, Line: e.Line, Record: e.Index, Reason: recReason(e.Reason), Detail: e.Detail})
			continue
		}
		if err != nil {
			send()
			return n, err
		}
		n++
		off := len(c.data)
		c.data = append(c.data, rec.Data...)
		c.recs = append(c.recs, recRef{off: off, end: len(c.data), line: rec.Line, index: rec.Index})
		if len(c.data) >= rd.chunkBytes && !send() {
			return n, rd.ctx.Err()
		}
	}
	send()
	return n, nil
}

// recReason maps the splitter's reasons onto the normaliser's, so one
// reason counts one kind of fault whatever the format.
func recReason(r string) string {
	switch r {
	case jsonrec.ReasonTooLarge:
		return event.ReasonTooLarge
	case jsonrec.ReasonNotJSON, jsonrec.ReasonTrailing:
		return event.ReasonMalformed
	}
	return r
}

// convertChunk converts each record of a chunk: with the chunk's converter
// and then the normaliser's completion, or, for Threat Stack records (no
// converter), with the normaliser alone.
func convertChunk(norm *event.Normalizer, c chunk, reject func(Rejection)) []*event.Event {
	norm.StartBatch()
	slab := make([]event.Event, len(c.recs))
	out := make([]*event.Event, 0, len(c.recs))
	var env envelopes
	for i, ref := range c.recs {
		e := &slab[i]
		var err error
		if c.conv == nil {
			var isEnv bool
			if out, isEnv = env.decode(norm, c.data[ref.off:ref.end], c.file, ref.line, ref.index, out, reject); isEnv {
				continue
			}
			err = norm.Normalize(c.data[ref.off:ref.end], e)
		} else if err = c.conv(c.data[ref.off:ref.end], e); err == nil {
			err = norm.Complete(e)
		}
		if err != nil {
			reject(rejection(c.file, ref.line, ref.index, err))
			*e = event.Event{}
			continue
		}
		out = append(out, e)
	}
	return out
}

// completeEvents fills what the ingest owes a decoder's events.
func completeEvents(norm *event.Normalizer, c chunk, reject func(Rejection)) []*event.Event {
	norm.StartBatch()
	out := c.evs[:0]
	for _, e := range c.evs {
		if err := norm.Complete(e); err != nil {
			reject(rejection(c.file, 0, 0, err))
			continue
		}
		out = append(out, e)
	}
	return out
}

func rejection(file string, line, index int64, err error) Rejection {
	r := Rejection{File: file, Line: line, Record: index, Reason: event.ReasonOf(err)}
	var re *event.RejectError
	if errors.As(err, &re) {
		r.Detail = re.Detail
	} else {
		r.Detail = err.Error()
	}
	return r
}

// decoded is the Output a stream decoder writes to: it batches events for
// the sink goroutines.
type decoded struct {
	rd     *reader
	name   string
	format string
	evs    []*event.Event
	// events and rejects count what the decoder gave, reported the
	// records it said it read (parse.CountRecords).
	events, rejects, reported int64
	didReport                 bool
}

func (d *decoded) Event(e *event.Event) error {
	d.events++
	d.evs = append(d.evs, e)
	if len(d.evs) >= streamBatch {
		return d.send()
	}
	return nil
}

func (d *decoded) send() error {
	if len(d.evs) == 0 {
		return nil
	}
	select {
	case d.rd.out <- chunk{file: d.name, format: d.format, evs: d.evs}:
	case <-d.rd.ctx.Done():
		return d.rd.ctx.Err()
	}
	d.evs = make([]*event.Event, 0, streamBatch)
	return nil
}

func (d *decoded) Reject(r parse.Rejection) {
	d.rejects++
	d.rd.reject(Rejection{File: d.name, Line: r.Line, Record: r.Record, Reason: r.Reason, Detail: r.Detail})
}

func (d *decoded) Count(what string, n int64) {
	if what == parse.CountRecords {
		d.reported += n
		d.didReport = true
		return
	}
	d.rd.counted(what, n)
}

// records is how many records the decoder read: what it reported, else
// one per event or rejection (EVTX: one record, one event).
func (d *decoded) records() int64 {
	if d.didReport {
		return d.reported
	}
	return d.events + d.rejects
}

// Expand lists the files to read for paths: directories recursively (sorted,
// hidden files skipped), files as given, "-" for standard input. It returns
// what could not be listed as messages.
func Expand(paths []string) ([]Source, []string) { return expand(paths) }

// expand turns directories into the files under them, sorted, skipping
// hidden ones; files are kept as given.
func expand(paths []string) ([]Source, []string) {
	var srcs []Source
	var errs []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if p == "-" || err != nil || !st.IsDir() {
			srcs = append(srcs, FileSource(p))
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", path, err))
				return nil
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", p, err))
		}
		sort.Strings(files)
		for _, f := range files {
			src := FileSource(f)
			src.Found = true
			srcs = append(srcs, src)
		}
	}
	return srcs, errs
}
