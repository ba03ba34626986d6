package lake

import (
	"container/heap"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/oklog/ulid/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/spoor-dev/spoor/internal/event"
)

// mergeKeys are the leaf columns a merge orders rows by and filters on.
type mergeKeys struct{ org, agent, time, insert int }

func (s *Store) mergeKeys() mergeKeys {
	k := mergeKeys{-1, -1, -1, -1}
	for _, c := range s.schema.columns {
		switch {
		case c.raw || c.lift || c.meta:
		case c.field == event.OrganizationID:
			k.org = c.index
		case c.field == event.AgentID:
			k.agent = c.index
		case c.field == event.EventTime:
			k.time = c.index
		case c.field == event.InsertTime:
			k.insert = c.index
		}
	}
	return k
}

// mergeParts streams the rows of sorted parts into one sorted part, dropping
// events ingested before cutoff, and returns its row count (0, and no part,
// when every row expired).
//
// Rows are not copied: each source's rows stay valid until it reads its
// next batch, so the rows chosen so far are written out just before any
// source does (mergeSource.refill).
func (s *Store) mergeParts(day string, parts []Part, cutoff int64) (int, error) {
	dir := partitionDir(s.dir, day)
	id := ulid.MustNew(ulid.Now(), rand.Reader)
	final := filepath.Join(dir, partPrefix+id.String()+partSuffix)
	w := newPartWriter(s.schema)
	w.noSync, w.fault = s.opts.NoSync, s.opts.Fault
	f, out, err := w.create(final)
	if err != nil {
		return 0, err
	}
	defer f.Abort()
	pw := w.parquetWriter(out)
	var pending []parquet.Row
	writeOut := func() error {
		if len(pending) == 0 {
			return nil
		}
		_, err := pw.WriteRows(pending)
		pending = pending[:0]
		return err
	}

	keys := s.mergeKeys()
	var srcs []*mergeSource
	defer func() {
		for _, src := range srcs {
			src.close()
		}
	}()
	h := &mergeHeap{}
	for _, p := range parts {
		src, err := openMergeSource(p.Path, keys, writeOut)
		if err != nil {
			return 0, err
		}
		srcs = append(srcs, src)
		ok, err := src.next()
		if err != nil {
			return 0, err
		}
		if ok {
			h.srcs = append(h.srcs, src)
		}
	}
	heap.Init(h)

	// Rows come out sorted by organization: count each run of one.
	orgs := map[string]int64{}
	org, run := "", int64(0)
	n := 0
	for h.Len() > 0 {
		src := h.srcs[0]
		if src.insert >= cutoff {
			if run > 0 && src.org != org {
				orgs[org] += run
				run = 0
			}
			if run == 0 {
				org = strings.Clone(src.org) // src.org points into the row
			}
			run++
			pending = append(pending, src.row)
			n++
		}
		ok, err := src.next()
		if err != nil {
			return 0, err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	if run > 0 {
		orgs[org] += run
	}
	if err := writeOut(); err != nil {
		return 0, err
	}
	pw.SetKeyValueMetadata(orgsKey, encodeOrgs(orgs))
	if err := pw.Close(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, s.dropParts(day, parts, nil)
	}
	np := Part{Path: final, Day: day, ULID: id, Size: st.Size(), orgs: orgs, rows: int64(n)}
	old := make([]string, len(parts))
	for i, p := range parts {
		old[i] = p.Path
	}
	err = s.journaled(id, final, old, func() error { return w.commit(f) }, func() error {
		return s.dropParts(day, parts, &np)
	})
	return n, err
}

// mergeSource reads one sorted part row by row, with the row's sort keys.
type mergeSource struct {
	f      *os.File
	r      *parquet.Reader
	buf    []parquet.Row
	i, n   int
	keys   mergeKeys
	refill func() error // before buf is read over: rows handed out are written

	row          parquet.Row
	org, agent   string // views into row: valid while it is current
	time, insert int64
}

func openMergeSource(path string, keys mergeKeys, refill func() error) (*mergeSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &mergeSource{f: f, r: parquet.NewReader(f), buf: make([]parquet.Row, 256), keys: keys, refill: refill}, nil
}

func (m *mergeSource) next() (bool, error) {
	if m.i >= m.n {
		if err := m.refill(); err != nil {
			return false, err
		}
		n, err := m.r.ReadRows(m.buf)
		if n == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, err
		}
		m.i, m.n = 0, n
	}
	m.row = m.buf[m.i]
	m.i++
	m.org, m.agent = "", ""
	for _, v := range m.row {
		switch v.Column() {
		case m.keys.org:
			m.org = unsafeString(v.ByteArray())
		case m.keys.agent:
			m.agent = unsafeString(v.ByteArray())
		case m.keys.time:
			m.time = v.Int64()
		case m.keys.insert:
			m.insert = v.Int64()
		}
	}
	return true, nil
}

func (m *mergeSource) close() {
	m.r.Close()
	m.f.Close()
}

type mergeHeap struct{ srcs []*mergeSource }

func (h *mergeHeap) Len() int { return len(h.srcs) }
func (h *mergeHeap) Less(i, j int) bool {
	a, b := h.srcs[i], h.srcs[j]
	if a.org != b.org {
		return a.org < b.org
	}
	if a.agent != b.agent {
		return a.agent < b.agent
	}
	return a.time < b.time
}
func (h *mergeHeap) Swap(i, j int) { h.srcs[i], h.srcs[j] = h.srcs[j], h.srcs[i] }
func (h *mergeHeap) Push(x any)    { h.srcs = append(h.srcs, x.(*mergeSource)) }
func (h *mergeHeap) Pop() any {
	x := h.srcs[len(h.srcs)-1]
	h.srcs = h.srcs[:len(h.srcs)-1]
	return x
}
