package lake

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cespare/xxhash/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/spoor-dev/spoor/internal/event"
)

// idSet holds the hashes of the _ids stored in one day partition, for
// dedupe within an organization and hour: each hash covers the
// organization, the date key and the _id. 64-bit xxhash: a false duplicate
// needs two such keys of one day to collide (about 1e-8 at 10 million
// events a day).
type idSet map[uint64]struct{}

// hashID is the dedupe key of an event.
func hashID(org, dateKey, id string) uint64 {
	var d xxhash.Digest
	d.Reset()
	d.WriteString(org)
	d.WriteString("\x00")
	d.WriteString(dateKey)
	d.WriteString("\x00")
	d.WriteString(id)
	return d.Sum64()
}

func hashEvent(e *event.Event) uint64 {
	return hashID(e.Str[event.OrganizationID], e.Str[event.DateKey], e.Str[event.ID])
}

// readIDs adds the dedupe keys of a part's rows to set.
func readIDs(path string, set idSet) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("read part %s: %w", path, err)
	}
	var cols [3]int
	for i, id := range []event.FieldID{event.OrganizationID, event.DateKey, event.ID} {
		leaf, ok := pf.Schema().Lookup(event.Get(id).Name)
		if !ok {
			return fmt.Errorf("read part %s: no %s column", path, event.Get(id).Name)
		}
		cols[i] = leaf.ColumnIndex
	}
	// The organization and date key of each row of a row group, interned
	// (both are dictionary encoded, with few distinct values).
	intern := map[string]string{}
	var orgs, keys []string
	for _, rg := range pf.RowGroups() {
		orgs, keys = orgs[:0], keys[:0]
		err := columnValues(rg, cols[0], func(v parquet.Value) { orgs = append(orgs, internBytes(intern, v.ByteArray())) })
		if err == nil {
			err = columnValues(rg, cols[1], func(v parquet.Value) { keys = append(keys, internBytes(intern, v.ByteArray())) })
		}
		i := 0
		if err == nil {
			err = columnValues(rg, cols[2], func(v parquet.Value) {
				if i < len(orgs) && i < len(keys) {
					set[hashID(orgs[i], keys[i], unsafeString(v.ByteArray()))] = struct{}{}
				}
				i++
			})
		}
		if err != nil {
			return fmt.Errorf("read part %s: %w", path, err)
		}
		if i != len(orgs) || i != len(keys) {
			return fmt.Errorf("read part %s: columns of %d, %d and %d values in one row group", path, len(orgs), len(keys), i)
		}
	}
	return nil
}

func internBytes(m map[string]string, b []byte) string {
	if s, ok := m[string(b)]; ok {
		return s
	}
	s := string(b)
	m[s] = s
	return s
}

// columnValues calls fn with each value of column col of a row group.
func columnValues(rg parquet.RowGroup, col int, fn func(parquet.Value)) error {
	pages := rg.ColumnChunks()[col].Pages()
	defer pages.Close()
	vals := make([]parquet.Value, 4096)
	for {
		p, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		vr := p.Values()
		for {
			n, err := vr.ReadValues(vals)
			for _, v := range vals[:n] {
				fn(v)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				parquet.Release(p)
				return err
			}
		}
		parquet.Release(p)
	}
}
