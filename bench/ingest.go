package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

// ingestRow is one line of the ingest table: a command from the NDJSON file
// to bytes on disk, timed over cfg.ingestRuns runs.
type ingestRow struct {
	name    string
	command string
	note    string
	walls   []time.Duration
	cpus    []time.Duration
	maxRSS  int64 // of the last run; 0 when not measured
	events  int64 // events the command handled
	outSize int64 // bytes it wrote (last run)
}

func (r ingestRow) wall() time.Duration { return median(r.walls) }
func (r ingestRow) cpu() time.Duration  { return median(r.cpus) }
func (r ingestRow) rate() float64       { return float64(r.events) / r.wall().Seconds() }

// spoorIngest is what spoor's ingest summary said.
type spoorIngest struct {
	stored, duplicates, rejected int64
	parts                        int
	partBytes                    int64
}

var (
	reStored   = regexp.MustCompile(`stored:\s+(\d+)`)
	reDups     = regexp.MustCompile(`duplicates:\s+(\d+)`)
	reRejected = regexp.MustCompile(`rejected:\s+(\d+)`)
)

func parseSummary(out []byte) (spoorIngest, error) {
	var s spoorIngest
	for _, f := range []struct {
		re *regexp.Regexp
		v  *int64
	}{{reStored, &s.stored}, {reDups, &s.duplicates}, {reRejected, &s.rejected}} {
		m := f.re.FindSubmatch(out)
		if m == nil {
			return s, fmt.Errorf("spoor ingest summary lacks %s:\n%s", f.re, out)
		}
		*f.v, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	return s, nil
}

// ingest times spoor ingest, DuckDB's COPY to Parquet and zstd -3 on the
// generated file, then measures gzip -6 for the size table.
func (b *bench) ingest(ctx context.Context) error {
	rep := &b.rep
	n := rep.gen.events

	// A small untimed ingest first, so the timed runs do not pay for the
	// binary's first start.
	if err := b.warmIngest(ctx); err != nil {
		return err
	}
	// spoor ingest, a fresh data dir per run; the last one stays for the queries.
	row := ingestRow{name: "spoor ingest", command: "spoor ingest --data DIR events.ndjson", note: "NDJSON → WAL → zstd Parquet parts, fsynced; wall clock of the whole command"}
	for i := range b.cfg.ingestRuns {
		dir := filepath.Join(b.dir, fmt.Sprintf("data%d", i))
		if b.data != "" {
			dropDir(b.data)
		}
		b.data = dir
		if err := preRead(b.raw); err != nil {
			return err
		}
		logf("ingest %d/%d: spoor ingest --data %s %s", i+1, b.cfg.ingestRuns, dir, b.raw)
		r, err := runCmd(ctx, nil, b.spoor, "ingest", "--data", dir, b.raw)
		if err != nil {
			return err
		}
		s, err := parseSummary(r.stdout)
		if err != nil {
			return err
		}
		if s.partBytes, s.parts, err = dirBytes(filepath.Join(dir, "lake", "events"), ".parquet"); err != nil {
			return err
		}
		rep.spoor = s
		row.walls = append(row.walls, r.wall)
		row.cpus = append(row.cpus, r.cpu)
		row.maxRSS = r.maxRSS
		row.events = s.stored + s.duplicates
		row.outSize = s.partBytes
		logf("  %.1fs wall, %.1f CPU-s, %.0f events/s; stored %d, duplicates %d, rejected %d; %d parts, %s",
			r.wall.Seconds(), r.cpu.Seconds(), float64(row.events)/r.wall.Seconds(), s.stored, s.duplicates, s.rejected, s.parts, gib(s.partBytes))
	}
	if rep.spoor.stored+rep.spoor.duplicates+rep.spoor.rejected != n {
		logf("note: gen wrote %d events, spoor saw %d", n, rep.spoor.stored+rep.spoor.duplicates+rep.spoor.rejected)
	}
	rep.ingestRows = append(rep.ingestRows, row)

	// zstd -3: the I/O floor. It runs before DuckDB, while this process is
	// still small (see runCmd on peak RSS).
	var zrow ingestRow
	zout := filepath.Join(b.dir, "events.ndjson.zst")
	_, lookErr := exec.LookPath("zstd")
	if b.cfg.goZstd || lookErr != nil {
		why := "forced by -go-zstd"
		if lookErr != nil {
			why = "the zstd command is not installed (apt-get install -y zstd)"
		}
		zrow = ingestRow{name: "zstd level 3 (Go)", command: "klauspost/compress/zstd, level 3 (SpeedDefault), one goroutine",
			note: "the I/O floor: read, compress, write; " + why}
	} else {
		zrow = ingestRow{name: "zstd -3", command: "zstd -3 -q -f events.ndjson -o events.ndjson.zst",
			note: "the I/O floor: read, compress, write (single-threaded, zstd's default)"}
	}
	for i := range b.cfg.ingestRuns {
		if err := preRead(b.raw); err != nil {
			return err
		}
		logf("ingest baseline %d/%d: %s", i+1, b.cfg.ingestRuns, zrow.command)
		var r result
		var err error
		if zrow.name == "zstd -3" {
			r, err = runCmd(ctx, nil, "zstd", "-3", "-q", "-f", b.raw, "-o", zout)
		} else {
			r, err = goZstd(ctx, b.raw, zout)
		}
		if err != nil {
			return err
		}
		st, err := os.Stat(zout)
		if err != nil {
			return err
		}
		zrow.walls = append(zrow.walls, r.wall)
		zrow.cpus = append(zrow.cpus, r.cpu)
		zrow.maxRSS = r.maxRSS
		zrow.events = n
		zrow.outSize = st.Size()
		logf("  %.1fs wall, %.1f CPU-s, %.0f events/s, %s", r.wall.Seconds(), r.cpu.Seconds(), float64(n)/r.wall.Seconds(), gib(st.Size()))
	}
	os.Remove(zout)

	// DuckDB's own JSON → zstd Parquet. read_json_auto as written infers
	// its schema from the first rows and fails on a nested key it has not
	// seen (this data set has hundreds of CloudTrail request shapes); then
	// nested objects are read as JSON values, and last the schema is
	// inferred from the whole file.
	out := filepath.Join(b.dir, "duckdb.parquet")
	variants := []struct{ opts, why string }{
		{"", ""},
		{", maximum_depth = 1", "nested objects kept as JSON values"},
		{", maximum_depth = 1, sample_size = -1", "nested objects kept as JSON values, schema inferred from every row"},
	}
	drow := ingestRow{name: "DuckDB COPY"}
	v := 0
	var failed []string
	for i := 0; i < b.cfg.ingestRuns; {
		copySQL := fmt.Sprintf("COPY (SELECT * FROM read_json_auto(%s%s)) TO %s (FORMAT parquet, COMPRESSION zstd)", sqlQuote(b.raw), variants[v].opts, sqlQuote(out))
		drow.command = fmt.Sprintf("COPY (SELECT * FROM read_json_auto('events.ndjson'%s)) TO 'x.parquet' (FORMAT parquet, COMPRESSION zstd)", variants[v].opts)
		if err := preRead(b.raw); err != nil {
			return err
		}
		logf("ingest baseline %d/%d: DuckDB %s", i+1, b.cfg.ingestRuns, copySQL)
		db, err := openDuck(ctx, b.cfg.threads, filepath.Join(b.dir, "duck-tmp"))
		if err != nil {
			return err
		}
		stop := heartbeat("DuckDB COPY")
		c0, t0 := selfCPU(), time.Now()
		res, err := db.ExecContext(ctx, copySQL)
		wall, cpu := time.Since(t0), selfCPU()-c0
		stop()
		if err != nil {
			db.Close()
			os.Remove(out)
			if i == 0 && v+1 < len(variants) && ctx.Err() == nil && strings.Contains(err.Error(), "Invalid Input Error") {
				msg, _, _ := strings.Cut(strings.ReplaceAll(err.Error(), b.raw, "events.ndjson"), "\n")
				logf("  failed after %.1fs: %s", wall.Seconds(), msg)
				failed = append(failed, fmt.Sprintf("`read_json_auto('events.ndjson'%s)` failed after %.1f s (%s)", variants[v].opts, wall.Seconds(), clipText(msg, 160)))
				v++
				continue
			}
			return fmt.Errorf("duckdb COPY: %w", err)
		}
		rows, _ := res.RowsAffected()
		db.Close()
		st, err := os.Stat(out)
		if err != nil {
			return err
		}
		drow.walls = append(drow.walls, wall)
		drow.cpus = append(drow.cpus, cpu)
		drow.events = rows
		drow.outSize = st.Size()
		logf("  %.1fs wall, %.1f CPU-s, %.0f events/s, %d rows, %s", wall.Seconds(), cpu.Seconds(), float64(rows)/wall.Seconds(), rows, gib(st.Size()))
		i++
	}
	drow.note = fmt.Sprintf("in-process duckdb-go, threads = %d, preserve_insertion_order = false; the engine's own JSON→Parquet limit (no dedupe, no WAL, no fsync, no partitioning)", b.cfg.threads)
	if v > 0 {
		drow.note += "; " + variants[v].why + ", because " + strings.Join(failed, ", then ")
	}
	os.Remove(out)
	dropDir(filepath.Join(b.dir, "duck-tmp"))
	if drow.events != n {
		return mismatchError{[]string{fmt.Sprintf("DuckDB COPY wrote %d rows, gen wrote %d events", drow.events, n)}}
	}
	rep.ingestRows = append(rep.ingestRows, drow, zrow)

	logf("gzip -6 size of the raw file (klauspost gzip level 6, all cores)")
	stop := heartbeat("gzip")
	gz, err := gzipSize(ctx, b.raw)
	stop()
	if err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	rep.gzipBytes = gz
	logf("  %s", gib(gz))
	return nil
}

// warmIngest ingests the first 10,000 lines of the file into a throwaway
// data dir.
func (b *bench) warmIngest(ctx context.Context) error {
	in, err := os.Open(b.raw)
	if err != nil {
		return err
	}
	defer in.Close()
	path := filepath.Join(b.dir, "warm.ndjson")
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(in, 1<<20)
	for range 10_000 {
		l, err := br.ReadBytes('\n')
		out.Write(l)
		if err != nil {
			break
		}
	}
	if err := out.Close(); err != nil {
		return err
	}
	dir := filepath.Join(b.dir, "data-warm")
	logf("warm-up: spoor ingest of the first 10,000 lines (untimed)")
	_, err = runCmd(ctx, nil, b.spoor, "ingest", "--data", dir, path)
	os.Remove(path)
	dropDir(dir)
	return err
}

// goZstd compresses src to dst with klauspost zstd at level 3 on one
// goroutine: the fallback when the zstd command is missing.
func goZstd(ctx context.Context, src, dst string) (result, error) {
	in, err := os.Open(src)
	if err != nil {
		return result{}, err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return result{}, err
	}
	defer out.Close()
	c0, t0 := selfCPU(), time.Now()
	zw, err := zstd.NewWriter(out, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return result{}, err
	}
	if _, err := io.Copy(zw, ctxReader{ctx, in}); err != nil {
		zw.Close()
		return result{}, err
	}
	if err := zw.Close(); err != nil {
		return result{}, err
	}
	if err := out.Close(); err != nil {
		return result{}, err
	}
	return result{wall: time.Since(t0), cpu: selfCPU() - c0}, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// sizeColumn is one column's share of spoor's parts.
type sizeColumn struct {
	name  string
	bytes int64
}

// size reads where the bytes of spoor's parts go, from their Parquet
// metadata.
func (b *bench) size(ctx context.Context) error {
	logf("size: reading the parts' Parquet metadata")
	db, err := openDuck(ctx, b.cfg.threads, "")
	if err != nil {
		return err
	}
	defer db.Close()
	glob := filepath.Join(b.data, "lake", "events", "day=*", "*.parquet") // docs/lake.md
	rows, err := db.QueryContext(ctx, "SELECT path_in_schema, sum(total_compressed_size)::BIGINT AS b FROM parquet_metadata("+sqlQuote(glob)+") GROUP BY 1 ORDER BY b DESC")
	if err != nil {
		return fmt.Errorf("parquet_metadata: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c sizeColumn
		if err := rows.Scan(&c.name, &c.bytes); err != nil {
			return err
		}
		b.rep.columns = append(b.rep.columns, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return db.QueryRowContext(ctx, "SELECT count(DISTINCT file_name), sum(num_rows)::BIGINT FROM parquet_file_metadata("+sqlQuote(glob)+")").Scan(&b.rep.partFiles, &b.rep.partRows)
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
