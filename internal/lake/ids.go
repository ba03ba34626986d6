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

// idSet holds the hashes of the _ids stored in one partition, for dedupe.
// 64-bit xxhash within one hour-partition: a false duplicate needs two ids of
// the same org and hour to collide (about 1e-9 at a million events an hour).
type idSet map[uint64]struct{}

func hashID(id string) uint64 { return xxhash.Sum64String(id) }

// readIDs adds the _id hashes of a part to set.
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
	leaf, ok := pf.Schema().Lookup(event.Get(event.ID).Name)
	if !ok {
		return fmt.Errorf("read part %s: no _id column", path)
	}
	vals := make([]parquet.Value, 4096)
	for _, rg := range pf.RowGroups() {
		pages := rg.ColumnChunks()[leaf.ColumnIndex].Pages()
		for {
			p, err := pages.ReadPage()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				pages.Close()
				return fmt.Errorf("read part %s: %w", path, err)
			}
			vr := p.Values()
			for {
				n, err := vr.ReadValues(vals)
				for _, v := range vals[:n] {
					set[xxhash.Sum64(v.ByteArray())] = struct{}{}
				}
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					parquet.Release(p)
					pages.Close()
					return fmt.Errorf("read part %s: %w", path, err)
				}
			}
			parquet.Release(p)
		}
		pages.Close()
	}
	return nil
}
