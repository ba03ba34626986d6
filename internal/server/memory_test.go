package server

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/datadir"
)

// Memory bombs get a clear answer and the process stays within its budget;
// the server then answers a normal query.
func TestMemoryBombAnswered(t *testing.T) {
	if raceOn {
		t.Skip("under -race memory is the race detector's: the memory budget is tested without it (make test)")
	}
	f := startWith(t, datadir.Options{MemoryLimit: "1GB"}, Options{})
	loadEvents(t, f, 400)
	debug.FreeOSMemory() // what earlier tests of this process left
	resetPeak(t)
	// Folded into a constant of ~18 GB at plan time, where no limit or
	// interrupt reaches: refused.
	code, body := call(t, "POST", f.url+"/api/v1/sql", f.analystA, []byte(sqlBody("SELECT count(*) FROM (SELECT unnest(range(250000000)))")))
	if code != 400 || !strings.Contains(string(body), "range") {
		t.Errorf("unnest(range(250000000)): %d %s", code, body)
	}
	// 64M rows aggregated into one string: over DuckDB's limit.
	code, body = call(t, "POST", f.url+"/api/v1/sql", f.analystA,
		[]byte(sqlBody("SELECT length(string_agg(a._id || b._id || c._id, ',')) AS n FROM events a, events b, events c")))
	if code != 507 || !strings.Contains(string(body), "more memory than the server allows") {
		t.Errorf("string_agg over 64M rows: %d %.300s", code, body)
	}
	_, peak := rss(t)
	t.Logf("peak RSS %d MiB under a 1GB budget", peak>>20)
	if peak > 1e9 {
		t.Errorf("peak RSS %d MiB over the 1GB budget", peak>>20)
	}
	if code, body := call(t, "POST", f.url+"/api/v1/sql", f.analystA, []byte(sqlBody("SELECT count(*) AS n FROM events"))); code != 200 {
		t.Errorf("normal query after the bombs: %d %s", code, body)
	}
}

// A query that must spill more than the cap fails with a clear answer, and
// leaves nothing in DATA/tmp.
func TestSpillCap(t *testing.T) {
	if raceOn {
		t.Skip("under -race memory is the race detector's: the memory budget is tested without it (make test)")
	}
	f := startWith(t, datadir.Options{MemoryLimit: "300MB", MaxSpill: "1MB"}, Options{})
	loadEvents(t, f, 400)
	code, body := call(t, "POST", f.url+"/api/v1/sql", f.analystA,
		[]byte(sqlBody("SELECT count(*) AS n FROM (SELECT DISTINCT a._id || b._id || c._id FROM events a, events b, events c)")))
	if code != 507 || !strings.Contains(string(body), "more memory than the server allows") {
		t.Errorf("a query spilling over a 1MB cap: %d %.300s", code, body)
	}
	t.Logf("answer: %.300s", body)
	// DuckDB may keep its (emptied) temp file open for reuse; what it
	// holds never passes the cap.
	var held int64
	filepath.Walk(filepath.Join(f.dir, "tmp"), func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			held += fi.Size()
		}
		return nil
	})
	if held > 1e6 {
		t.Errorf("DATA/tmp holds %d bytes after the query, over the 1MB cap", held)
	}
	if code, body := call(t, "POST", f.url+"/api/v1/sql", f.analystA, []byte(sqlBody("SELECT count(*) AS n FROM events"))); code != 200 {
		t.Errorf("normal query after: %d %s", code, body)
	}
}
