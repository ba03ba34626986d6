package lake

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/parquet-go/parquet-go"
)

// A part's footer names the organizations whose events it holds, with
// their row counts, so a query of one organization opens only the parts
// that hold some of its events, and per-organization statistics need no
// scan. Rows are sorted by organization, so DuckDB's row-group statistics
// on organization_id skip the other organizations' rows within a part.
const orgsKey = "spoor.orgs"

func encodeOrgs(orgs map[string]int64) string {
	b, _ := json.Marshal(orgs) // map keys sorted: the same index, the same bytes
	return string(b)
}

// readIndex reads the organization index of a part from its footer; an
// error means the part is not sound Parquet (or not one spoor wrote).
func readIndex(path string) (map[string]int64, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if err := checkParquetFrame(path); err != nil {
		return nil, 0, err
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, 0, fmt.Errorf("read footer: %w", err)
	}
	v, ok := pf.Lookup(orgsKey)
	if !ok {
		return nil, 0, fmt.Errorf("no %s index in the footer", orgsKey)
	}
	orgs := map[string]int64{}
	if err := json.Unmarshal([]byte(v), &orgs); err != nil {
		return nil, 0, fmt.Errorf("bad %s index: %w", orgsKey, err)
	}
	var sum int64
	for _, n := range orgs {
		sum += n
	}
	if sum != pf.NumRows() {
		return nil, 0, fmt.Errorf("%s index counts %d rows of %d", orgsKey, sum, pf.NumRows())
	}
	return orgs, pf.NumRows(), nil
}
