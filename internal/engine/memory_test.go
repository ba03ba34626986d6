package engine

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

func TestParseBytes(t *testing.T) {
	f := func(s string, want int64) {
		t.Helper()
		got, err := ParseBytes(s)
		if err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	f("2GB", 2e9)
	f("512MB", 512e6)
	f("4GiB", 4<<30)
	f("1.5 gb", 1.5e9)
	f("1024", 1024)
	f("10KiB", 10<<10)
	for _, bad := range []string{"", "GB", "-1GB", "2XB", "two GB"} {
		if _, err := ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q) accepted", bad)
		}
	}
}

// The budget bounds the process: DuckDB gets two thirds, Go a quarter;
// by default DuckDB gets 40% of RAM.
func TestMemoryBudget(t *testing.T) {
	m, err := MemoryBudget("3GB")
	if err != nil || m.Process != 3e9 || m.DuckDB != 2e9 || m.Go != 750e6 {
		t.Errorf("3GB: %+v, %v", m, err)
	}
	ram, err := physicalMemory()
	if err != nil {
		t.Skip(err)
	}
	m, err = MemoryBudget("")
	if err != nil {
		t.Fatal(err)
	}
	if share := float64(m.DuckDB) / float64(ram); share < 0.39 || share > 0.41 {
		t.Errorf("default DuckDB limit %d of %d RAM: %.2f, want 0.40", m.DuckDB, ram, share)
	}
	if m.DuckDB+m.Go > m.Process {
		t.Errorf("DuckDB and Go limits %d + %d over the budget %d", m.DuckDB, m.Go, m.Process)
	}
	if _, err := MemoryBudget("1MB"); err == nil {
		t.Error("a 1MB budget accepted")
	}
}

// The settings are in force: lock_configuration keeps them from changing.
func TestLimitsApplied(t *testing.T) {
	e := openEngine(t, Options{MemoryLimit: "3GB", MaxSpill: "1GiB", TempDir: t.TempDir()})
	var mem, spill string
	if err := e.db.QueryRow("SELECT current_setting('memory_limit'), current_setting('max_temp_directory_size')").Scan(&mem, &spill); err != nil {
		t.Fatal(err)
	}
	if mem != "1.8 GiB" || spill != "1.0 GiB" {
		t.Errorf("memory_limit %s, max_temp_directory_size %s; want 1.8 GiB (2 GB) and 1.0 GiB", mem, spill)
	}
}

// The watchdog interrupts running queries while the process is over its
// budget, and they fail with ErrMemory. The test holds 100 MiB itself, so
// the process is over a 64MB budget whatever the query does.
func TestWatchdogInterrupts(t *testing.T) {
	e := openEngine(t, Options{MemoryLimit: "64MB", Timeout: 20 * time.Second})
	ballast := make([]byte, 100<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	defer runtime.KeepAlive(ballast)
	start := time.Now()
	if err := drain(e.Query(context.Background(), Scope{Org: "o"}, "SELECT count(*) FROM range(10000000000) a, range(1000) b")); !errors.Is(err, ErrMemory) {
		t.Fatalf("got %v, want ErrMemory", err)
	}
	t.Logf("interrupted after %v", time.Since(start))
}

// Functions whose result's size an argument sets are refused before they
// run: range(250000000) would be folded into a constant of tens of GB.
func TestAmplifiersRefused(t *testing.T) {
	e := openEngine(t, Options{})
	for _, q := range []string{
		"SELECT count(*) FROM (SELECT unnest(range(250000000)))",
		"SELECT count(*) FROM (SELECT unnest(generate_series(1, 250000000)))",
		"SELECT length(repeat('x', 1000000000000))",
		"SELECT length(lpad('x', 1000000000, 'y'))",
		"SELECT len(list_resize([1], 1000000000))",
		"SELECT list_sum(list_transform(RANGE(200000000), x -> x % 7))",
	} {
		var se *SQLError
		if err := e.Check(context.Background(), q); !errors.As(err, &se) {
			t.Errorf("%s: got %v, want a refusal", q, err)
		}
	}
}

// drain reads a query's rows to the end and returns what failed.
func drain(rows *Rows, err error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}
