package diskspace

import (
	"errors"
	"strconv"
	"testing"
)

func TestReserve(t *testing.T) {
	bytes := func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
	f := func(flag string, total, want uint64) {
		t.Helper()
		r, err := ParseReserve(flag, bytes)
		if err != nil {
			t.Fatalf("ParseReserve(%q): %v", flag, err)
		}
		if got := r.Of(total); got != want {
			t.Fatalf("reserve %q of %d bytes = %d, want %d", flag, total, got, want)
		}
	}
	f("", 10<<30, 512<<20) // 5% of a 10 GiB disk
	f("", 2<<40, 1<<30)    // 1 GiB of a 2 TiB disk
	f("", 0, 0)            // nothing of nothing
	f("10%", 1000, 100)    // a percentage
	f("4096", 1<<40, 4096) // a size
	f("0", 1<<40, 0)       // off
	f("0%", 1<<40, 0)      // off
	for _, bad := range []string{"x%", "-1%", "100%", "lots"} {
		if _, err := ParseReserve(bad, bytes); err == nil {
			t.Errorf("ParseReserve(%q) accepted", bad)
		}
	}
	err := Check("/d", Space{Free: 10, Total: 1000}, Reserve{Bytes: 11})
	if !errors.Is(err, ErrLow) {
		t.Fatalf("10 bytes free under an 11-byte reserve: %v, want ErrLow", err)
	}
	if err := Check("/d", Space{Free: 11, Total: 1000}, Reserve{Bytes: 11}); err != nil {
		t.Fatalf("free space at the reserve: %v", err)
	}
}

func TestOf(t *testing.T) {
	sp, err := Of(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if sp.Total == 0 || sp.Free > sp.Total {
		t.Fatalf("space of a temp dir: %+v", sp)
	}
}
