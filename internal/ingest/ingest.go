// Package ingest reads telemetry files (Threat Stack events, auditd logs,
// Windows event logs, CloudTrail; plain, gzip, zstd or zip, and whole
// directories), recognises each one's format, and feeds their events,
// normalised, to a sink in parallel batches. Bad records are rejected with
// their file, line or record and reason; the rest of the input is kept.
package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
	"github.com/spoor-dev/spoor/internal/parse/formats"
)

// AppendFunc stores a batch durably and says how many were new and how many
// were already stored. It is called from several goroutines at once.
type AppendFunc func(ctx context.Context, evs []*event.Event) (stored, duplicates int, err error)

// Options tune a run. Zero values take the defaults.
type Options struct {
	Org string // organization of events that carry none
	// ForceOrg puts every event in Org, whatever it says (a server writes
	// into the caller's organization only).
	ForceOrg bool
	Workers  int // parsing goroutines (default GOMAXPROCS)
	// ChunkBytes is how much input one worker parses into one batch (default 4 MiB).
	ChunkBytes int
	// MaxSamples is how many rejections are kept with their details (default 50).
	MaxSamples int
	// Progress, when set, is called about every chunk with the running
	// totals; BytesRead reaches the inputs' total size at the end.
	Progress func(Progress)
	Now      func() int64
	// Format names the input format; "" or "auto" detects it per file.
	Format string
	// Host is the hostname of events whose data names none (raw auditd
	// logs, say). A raw audit log that names no host (no node=) is
	// refused without it: see Summary.Refused.
	Host string
	// HostFlag is how the caller names Host, for the message that refuses
	// an input without a host (default "--host").
	HostFlag string
	// Stdin is what the path "-" reads (default os.Stdin).
	Stdin io.Reader
}

// Progress is the running state of a run.
type Progress struct {
	BytesRead int64 // input bytes read, as on disk (compressed bytes for compressed files)
	Events    int64 // events handed to the sink
}

// Rejection is one refused line or record.
type Rejection struct {
	File string `json:"file"`
	Line int64  `json:"line,omitempty"`
	// Record is the record's position in its file, for formats that are
	// not read by lines (EVTX) or records that are not lines of their own.
	Record int64  `json:"record,omitempty"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

func (r Rejection) String() string {
	var s string
	switch {
	case r.Line > 0:
		s = fmt.Sprintf("%s:%d: %s", r.File, r.Line, r.Reason)
	case r.Record > 0:
		s = fmt.Sprintf("%s: record %d: %s", r.File, r.Record, r.Reason)
	default:
		s = fmt.Sprintf("%s: %s", r.File, r.Reason)
	}
	if r.Detail != "" {
		s += ": " + r.Detail
	}
	return s
}

// Summary is what a run did.
type Summary struct {
	Files int
	// Lines counts the lines of text inputs (every format but EVTX), as
	// wc -l does plus an unterminated last line; LinesBy, Records and
	// Events count per format.
	Lines int64
	// Bytes counts the bytes of the inputs read in a format, as they are
	// on disk (a .gz file's compressed bytes, a zip's whole size); files
	// skipped as not telemetry count nothing.
	Bytes      int64
	Stored     int64
	Duplicates int64
	Rejected   int64
	ByReason   map[string]int64
	Samples    []Rejection // the first MaxSamples rejections, in input order per file
	FileErrors []string    // files that could not be read to their end
	// Formats counts the inputs read in each format (a zip's entries one by one).
	Formats map[string]int64
	// Records counts per format the records read (auditd records, EVTX
	// records, JSON records; a line each for Threat Stack lines), Events
	// the events that came of them and went to the sink (new or
	// duplicates), LinesBy the lines of text formats.
	Records map[string]int64
	Events  map[string]int64
	LinesBy map[string]int64
	// Counts holds what decoders tally besides events (auditd sequence gaps).
	Counts map[string]int64
	// Skipped counts files found in directories or zips that are not in
	// a format spoor reads; Skips says what the first MaxSamples are.
	Skipped int64
	Skips   []Skip
	// Refused says why inputs were not read at all: a raw audit log that
	// names no host when none was given, say. Nothing of them is stored.
	Refused []string
}

// Skip is one input found in a directory or zip that is not telemetry.
type Skip struct {
	File string `json:"file"`
	What string `json:"what"` // what it looks like: "notebook JSON", "text"
}

func (s Skip) String() string { return s.File + ": not telemetry: " + s.What }

// chunk is one batch of work for a parsing goroutine: lines to normalise,
// records to convert, or events a decoder built.
type chunk struct {
	file      string
	format    string // the input's format, for the summary's counts
	firstLine int64
	data      []byte
	// recs are records within data (offsets), converted by conv.
	recs []recRef
	conv parse.Converter
	evs  []*event.Event
}

type recRef struct {
	off, end    int
	line, index int64
}

// Run ingests the files in order, directories recursively. It returns an
// error only when the sink fails (nothing acknowledged is lost: what the
// sink accepted is durable) or the format is unknown; unreadable files and
// bad records are reported in the summary.
func Run(ctx context.Context, paths []string, sink AppendFunc, opts Options) (Summary, error) {
	srcs, errs := expand(paths)
	for i, s := range srcs {
		if s.Name == "-" && opts.Stdin != nil {
			srcs[i] = ReaderSource("-", opts.Stdin)
		}
	}
	sum, err := RunSources(ctx, srcs, sink, opts)
	sum.FileErrors = append(errs, sum.FileErrors...)
	return sum, err
}

// Source is one input: a name for messages and a way to open it.
type Source struct {
	Name string
	Open func() (io.ReadCloser, error)
	// Found says the source was found in a directory rather than named:
	// if it is not telemetry (a README, a rule file) it is skipped, not an error.
	Found bool
}

// FileSource reads a file, or standard input for "-".
func FileSource(path string) Source {
	return Source{Name: path, Open: func() (io.ReadCloser, error) {
		if path == "-" {
			return io.NopCloser(os.Stdin), nil
		}
		return os.Open(path)
	}}
}

// ReaderSource reads r (an HTTP body, say) under a name.
func ReaderSource(name string, r io.Reader) Source {
	return Source{Name: name, Open: func() (io.ReadCloser, error) { return io.NopCloser(r), nil }}
}

// RunSources ingests the sources in order, like Run.
func RunSources(ctx context.Context, srcs []Source, sink AppendFunc, opts Options) (Summary, error) {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.ChunkBytes <= 0 {
		opts.ChunkBytes = 4 << 20
	}
	if opts.MaxSamples <= 0 {
		opts.MaxSamples = 50
	}
	forced, err := formats.ByName(opts.Format)
	if err != nil {
		return Summary{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu  sync.Mutex
		sum = Summary{ByReason: map[string]int64{}, Formats: map[string]int64{}, Counts: map[string]int64{},
			Records: map[string]int64{}, Events: map[string]int64{}, LinesBy: map[string]int64{}}
		sinkErr error
		bytesIn atomic.Int64
		events  atomic.Int64
	)
	reject := func(r Rejection) {
		mu.Lock()
		sum.Rejected++
		sum.ByReason[r.Reason]++
		if len(sum.Samples) < opts.MaxSamples {
			sum.Samples = append(sum.Samples, r)
		}
		mu.Unlock()
	}
	report := func() {
		if opts.Progress != nil {
			opts.Progress(Progress{BytesRead: bytesIn.Load(), Events: events.Load()})
		}
	}

	chunks := make(chan chunk, opts.Workers)
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			norm := event.Normalizer{Org: opts.Org, Now: opts.Now}
			for c := range chunks {
				if ctx.Err() != nil {
					continue
				}
				var evs []*event.Event
				switch {
				case c.conv != nil || c.recs != nil:
					evs = convertChunk(&norm, c, reject)
				case c.evs != nil:
					evs = completeEvents(&norm, c, reject)
				default:
					evs = parseChunk(&norm, c, reject)
				}
				for _, e := range evs {
					if opts.ForceOrg {
						e.SetString(event.OrganizationID, opts.Org)
					}
					if opts.Host != "" && !e.Has(event.Hostname) {
						setHost(e, opts.Host)
					}
				}
				if len(evs) == 0 {
					continue
				}
				stored, dups, err := sink(ctx, evs)
				mu.Lock()
				sum.Stored += int64(stored)
				sum.Duplicates += int64(dups)
				sum.Events[c.format] += int64(stored + dups)
				if err != nil && sinkErr == nil {
					sinkErr = err
					cancel()
				}
				mu.Unlock()
				events.Add(int64(len(evs)))
				report()
			}
		}()
	}

	if opts.HostFlag == "" {
		opts.HostFlag = "--host"
	}
	rd := &reader{ctx: ctx, chunkBytes: opts.ChunkBytes, out: chunks, bytesIn: &bytesIn, reject: reject, forced: forced,
		host: opts.Host, hostFlag: opts.HostFlag,
		counted: func(what string, n int64) {
			mu.Lock()
			sum.Counts[what] += n
			mu.Unlock()
		},
		skipped: func(s Skip) {
			mu.Lock()
			sum.Skipped++
			if len(sum.Skips) < opts.MaxSamples {
				sum.Skips = append(sum.Skips, s)
			}
			mu.Unlock()
		},
		refused: func(msg string) {
			mu.Lock()
			sum.Refused = append(sum.Refused, msg)
			mu.Unlock()
		},
		done: func(name, format string, lines, records int64, err error) {
			mu.Lock()
			if format != "" {
				sum.Formats[format]++
				sum.Records[format] += records
				if f, _ := formats.ByName(format); !f.Binary {
					sum.LinesBy[format] += lines
					sum.Lines += lines
				}
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				if lines > 0 {
					sum.FileErrors = append(sum.FileErrors, fmt.Sprintf("%s: %v (after line %d; what came before was read)", name, err, lines))
				} else {
					sum.FileErrors = append(sum.FileErrors, fmt.Sprintf("%s: %v", name, err))
				}
			}
			mu.Unlock()
		}}
	for _, p := range srcs {
		if ctx.Err() != nil {
			break
		}
		n := rd.source(p)
		mu.Lock()
		sum.Files++
		sum.Bytes += n
		mu.Unlock()
	}
	close(chunks)
	wg.Wait()
	report()
	sort.SliceStable(sum.Samples, func(i, j int) bool {
		a, b := sum.Samples[i], sum.Samples[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	if sinkErr != nil {
		return sum, sinkErr
	}
	return sum, ctx.Err()
}

// ParseLines normalises every line of data, NDJSON already in memory (an
// HTTP body, say), numbering lines from 1 and passing bad ones to reject.
// norm keeps its caches across calls: reuse one per goroutine.
func ParseLines(norm *event.Normalizer, name string, data []byte, reject func(Rejection)) []*event.Event {
	return parseChunk(norm, chunk{file: name, firstLine: 1, data: data}, reject)
}

// parseChunk normalises every line of a chunk.
func parseChunk(norm *event.Normalizer, c chunk, reject func(Rejection)) []*event.Event {
	norm.StartBatch()
	slab := make([]event.Event, bytes.Count(c.data, []byte{'\n'})+1)
	out := make([]*event.Event, 0, len(slab))
	line := c.firstLine
	data := c.data
	var env envelopes
	used := 0 // slab's events taken
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var l []byte
		if i < 0 {
			l, data = data, nil
		} else {
			l, data = data[:i], data[i+1:]
		}
		l = bytes.TrimRight(l, "\r")
		if len(bytes.TrimSpace(l)) == 0 {
			line++
			continue
		}
		var isEnv bool
		if out, isEnv = env.decode(norm, l, c.file, line, 0, out, reject); isEnv {
			line++
			continue
		}
		e := &slab[used]
		if err := norm.Normalize(l, e); err != nil {
			r := Rejection{File: c.file, Line: line, Reason: event.ReasonOf(err)}
			var re *event.RejectError
			if errors.As(err, &re) {
				r.Detail = re.Detail
			} else {
				r.Detail = err.Error()
			}
			reject(r)
			*e = event.Event{}
		} else {
			out = append(out, e)
			used++
		}
		line++
	}
	return out
}

// countingReader counts bytes read from the file itself.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
	t int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	c.t += int64(n)
	return n, err
}

// readLines splits one input into chunks of whole lines. Lines longer than
// event.MaxEventBytes are skipped without being held in memory, and rejected.
func readLines(ctx context.Context, path, format string, r io.Reader, chunkBytes int, out chan<- chunk, reject func(Rejection)) (lines int64, err error) {
	br := bufio.NewReaderSize(r, event.MaxEventBytes+64<<10)
	buf := make([]byte, 0, chunkBytes+event.MaxEventBytes)
	first := int64(1)
	send := func() bool {
		if len(buf) == 0 {
			return true
		}
		select {
		case out <- chunk{file: path, format: format, firstLine: first, data: buf}:
		case <-ctx.Done():
			return false
		}
		first = lines + 1
		buf = make([]byte, 0, chunkBytes+event.MaxEventBytes)
		return true
	}
	for {
		l, rerr := br.ReadSlice('\n')
		if errors.Is(rerr, bufio.ErrBufferFull) {
			// Too long for an event: skip to the end of the line.
			n := int64(len(l))
			for errors.Is(rerr, bufio.ErrBufferFull) {
				l, rerr = br.ReadSlice('\n')
				n += int64(len(l))
			}
			lines++
			// Keep line numbering: the chunk carries an empty line in its place.
			buf = append(buf, '\n')
			reject(Rejection{File: path, Line: lines, Reason: event.ReasonTooLarge, Detail: fmt.Sprintf("%d bytes, limit %d", n, event.MaxEventBytes)})
			if rerr != nil && !errors.Is(rerr, io.EOF) {
				send()
				return lines, rerr
			}
			if errors.Is(rerr, io.EOF) {
				break
			}
			continue
		}
		if len(l) > 0 {
			lines++
			buf = append(buf, l...)
			if l[len(l)-1] != '\n' {
				buf = append(buf, '\n')
			}
		}
		if rerr != nil {
			if !send() {
				return lines, ctx.Err()
			}
			if errors.Is(rerr, io.EOF) {
				return lines, nil
			}
			return lines, rerr
		}
		if len(buf) >= chunkBytes && !send() {
			return lines, ctx.Err()
		}
	}
	send()
	return lines, nil
}

// Decompress returns r decompressed when it starts with gzip or zstd magic
// bytes, else r itself, and a function that releases the decompressor.
func Decompress(r io.Reader) (io.Reader, func(), error) { return decompress(r) }

// decompress recognises gzip and zstd by their magic bytes.
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case len(magic) == 4 && bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}

// setHost names the host of an event whose record names none (--host,
// ?host=). The host is part of the source's identity, so an _id spoor
// derived (from the record's content, or a hash of it) is derived again
// with the host: one log sent as host A and then as host B is two hosts'
// events, stored twice, and sent as A again dedupes. An _id the record
// carries itself (Threat Stack's, lifted from its "_id") is kept.
func setHost(e *event.Event, host string) {
	e.SetString(event.Hostname, host)
	if e.Has(event.ID) && e.Lifted&(1<<event.ID) == 0 {
		e.SetString(event.ID, parse.HashID(e.Str[event.ID], "host", host))
	}
}
