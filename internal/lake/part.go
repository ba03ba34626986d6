package lake

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/spoor-dev/spoor/internal/atomicfile"
	"github.com/spoor-dev/spoor/internal/event"
)

// File and directory names of the lake (docs/lake.md):
// lake/events/day=YYYY-MM-DD/part-<ULID>.parquet, each part holding the
// events of any number of organizations for one day of event_time, sorted
// by organization. Lakes written before kept a part per organization and
// hour under organization_id=ORG/date_key=YYYY-MM-DD-HH; Open migrates them
// (legacy.go), and `spoor export` writes that Hive layout for other engines.
const (
	lakeDir     = "lake"
	eventsDir   = "events"
	dayPrefix   = "day="
	orgPrefix   = "organization_id="
	datePrefix  = "date_key="
	partPrefix  = "part-"
	partSuffix  = ".parquet"
	tmpSuffix   = atomicfile.TempSuffix
	quarantine  = "quarantine"
	rowsPerPage = 8 << 10
)

// Part is one immutable Parquet file of a day partition.
type Part struct {
	Path string
	Day  string // YYYY-MM-DD of its events' event_time
	ULID ulid.ULID
	Size int64

	// orgs counts the part's rows per organization (its footer's index),
	// nil until read: a query over a day reads the index of that day's
	// parts only.
	orgs map[string]int64
	rows int64
}

// indexed reports whether the part's organizations are known.
func (p *Part) indexed() bool { return p.orgs != nil }

// dayOf is the day partition of a date key (YYYY-MM-DD-HH).
func dayOf(dateKey string) string {
	if len(dateKey) < 10 {
		return dateKey
	}
	return dateKey[:10]
}

// Written reports when the part was written (its ULID time).
func (p Part) Written() time.Time { return ulid.Time(p.ULID.Time()) }

func partitionDir(root, day string) string {
	return filepath.Join(root, lakeDir, eventsDir, dayPrefix+day)
}

// escapePathValue keeps an organization id a single safe path element, the
// way Hive escapes partition values.
// EscapePathValue makes a partition value (an organization, say) safe as
// a directory name, the Hive way; UnescapePathValue undoes it.
func EscapePathValue(s string) string { return escapePathValue(s) }

// UnescapePathValue undoes EscapePathValue.
func UnescapePathValue(s string) string { return unescapePathValue(s) }

func escapePathValue(s string) string {
	if s == "" {
		return "__HIVE_DEFAULT_PARTITION__"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '/' || c == '\\' || c == '=' || c == '%' || c == ':' || c < 0x20 || c == 0x7f || (c == '.' && (s == "." || s == "..")) {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// sortForPart orders events as parts require: organization_id, agent_id,
// then event_time (and _id, for a stable order).
func sortForPart(evs []*event.Event) { slices.SortFunc(evs, comparePart) }

// comparePart is the order of a part's rows.
func comparePart(a, b *event.Event) int {
	if c := strings.Compare(a.Str[event.OrganizationID], b.Str[event.OrganizationID]); c != 0 {
		return c
	}
	if c := strings.Compare(a.Str[event.AgentID], b.Str[event.AgentID]); c != 0 {
		return c
	}
	if a.Int[event.EventTime] != b.Int[event.EventTime] {
		if a.Int[event.EventTime] < b.Int[event.EventTime] {
			return -1
		}
		return 1
	}
	return strings.Compare(a.Str[event.ID], b.Str[event.ID])
}

// partWriter writes sorted events of one partition to a new part: a
// temporary name, fsync, rename, fsync of the directory.
type partWriter struct {
	schema *partSchema
	codec  *zstd.Codec
	noSync bool
	fault  func(op, path string) error // Options.Fault
	rows   []partRow                   // a batch of rows, reused
}

// create starts the part file final: a temporary file, and the writer to
// write it through (Options.Fault's, when a test set one).
func (w *partWriter) create(final string) (*atomicfile.File, io.Writer, error) {
	if w.fault != nil {
		if err := w.fault("create", final); err != nil {
			return nil, nil, err
		}
	}
	f, err := atomicfile.Create(final, 0o644)
	if err != nil || w.fault == nil {
		return f, f, err
	}
	return f, faultWriter{f, w.fault}, nil
}

// commit publishes a part file that create started.
func (w *partWriter) commit(f *atomicfile.File) error {
	if w.noSync {
		return f.CommitNoSync()
	}
	if w.fault != nil {
		if err := w.fault("sync", f.Name()); err != nil {
			return err // the deferred Abort removes the file
		}
	}
	return f.Commit()
}

// faultWriter asks a fault seam before every write.
type faultWriter struct {
	f     *atomicfile.File
	fault func(op, path string) error
}

func (w faultWriter) Write(p []byte) (int, error) {
	if err := w.fault("write", w.f.Name()); err != nil {
		return 0, err
	}
	return w.f.Write(p)
}

func newPartWriter(ps *partSchema) *partWriter {
	return &partWriter{schema: ps, codec: &zstd.Codec{Level: zstd.SpeedDefault}}
}

func (w *partWriter) options() []parquet.WriterOption {
	return []parquet.WriterOption{
		w.schema.schema,
		parquet.Compression(w.codec),
		parquet.PageBufferSize(512 << 10),
		parquet.WriteBufferSize(1 << 20),
		parquet.MaxRowsPerRowGroup(128 << 10),
		parquet.CreatedBy("spoor", "1", ""),
	}
}

// parquetWriter writes generic rows (compaction copies rows between parts).
func (w *partWriter) parquetWriter(f io.Writer) *parquet.Writer {
	return parquet.NewWriter(f, w.options()...)
}

// write stores evs (already sorted) as a new part in the partition
// directory dir and returns it.
func (w *partWriter) write(ctx context.Context, dir, day string, evs []*event.Event) (Part, error) {
	return w.writeFrom(ctx, dir, day, func(batch []*event.Event) ([]*event.Event, error) {
		n := min(cap(batch)-len(batch), len(evs))
		batch, evs = append(batch, evs[:n]...), evs[n:]
		return batch, nil
	})
}

// writeFrom stores the events next appends to the batch it is given, in
// part order, until it appends none, as a new part in the partition
// directory dir and returns it. When ctx ends first, the part is not
// published and its temporary file goes: a shutdown out of time stops
// within a batch of rows, not at the end of a large part.
func (w *partWriter) writeFrom(ctx context.Context, dir, day string, next func(batch []*event.Event) ([]*event.Event, error)) (Part, error) {
	if err := ctx.Err(); err != nil {
		return Part{}, err
	}
	// The partition's directory entry is fsynced before the part is
	// published, so a WAL trimmed after the flush never leaves its events
	// in a directory a crash forgets.
	if err := atomicfile.MkdirAll(dir, 0o755); err != nil {
		return Part{}, fmt.Errorf("make partition dir: %w", err)
	}
	id := ulid.MustNew(ulid.Now(), rand.Reader)
	final := filepath.Join(dir, partPrefix+id.String()+partSuffix)
	f, out, err := w.create(final)
	if err != nil {
		return Part{}, fmt.Errorf("create part: %w", err)
	}
	defer f.Abort()
	orgs := map[string]int64{}
	// Events go in through partRow, column by column (see partrow.go).
	pw := parquet.NewGenericWriter[partRow](out, w.options()...)
	const batch = 1024
	if cap(w.rows) < batch {
		w.rows = make([]partRow, batch)
	}
	evs := make([]*event.Event, 0, batch)
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return Part{}, err
		}
		if evs, err = next(evs[:0]); err != nil {
			return Part{}, err
		}
		if len(evs) == 0 {
			break
		}
		rows := w.rows[:len(evs)]
		for j, e := range evs {
			rows[j].fill(e)
			orgs[e.Str[event.OrganizationID]]++
		}
		if _, err := pw.Write(rows); err != nil {
			return Part{}, fmt.Errorf("write part rows: %w", err)
		}
		n += len(evs)
	}
	pw.SetKeyValueMetadata(orgsKey, encodeOrgs(orgs))
	if err := pw.Close(); err != nil {
		return Part{}, fmt.Errorf("close part writer: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		return Part{}, fmt.Errorf("stat part: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Part{}, err // closing the writer took what time was left
	}
	if err := w.commit(f); err != nil {
		return Part{}, fmt.Errorf("publish part: %w", err)
	}
	return Part{Path: final, Day: day, ULID: id, Size: st.Size(), orgs: orgs, rows: int64(n)}, nil
}
