// Package audittest makes audit.log text for the agent's tests and
// benchmarks out of the real records of the shared datasets (OTRF's raw
// audit.log of two Atomic tests): their events, renumbered so that a log of
// any length has distinct, increasing serials.
package audittest

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/testenv"
)

// Events returns the audit events of the linux datasets under dir
// (../shared/datasets/linux from the repository root), each as its record
// lines; it skips tb where they are absent.
func Events(tb testing.TB, dir string) [][]string {
	tb.Helper()
	zips, _ := filepath.Glob(filepath.Join(dir, "*.zip"))
	if len(zips) == 0 {
		testenv.Missing(tb, "no audit datasets in %s", dir)
	}
	var out [][]string
	for _, z := range zips {
		zr, err := zip.OpenReader(z)
		if err != nil {
			tb.Fatalf("dataset %s: %v", z, err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, group(rc)...)
			rc.Close()
		}
		zr.Close()
	}
	return out
}

// group cuts a log into events by their msg=audit(...) stamp.
func group(r io.Reader) [][]string {
	var out [][]string
	last := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		st, ok := stamp(line)
		if !ok {
			continue
		}
		if st != last || len(out) == 0 {
			out = append(out, nil)
			last = st
		}
		out[len(out)-1] = append(out[len(out)-1], line)
	}
	return out
}

// stamp returns the "time:serial" of a record line.
func stamp(line string) (string, bool) {
	i := strings.Index(line, "msg=audit(")
	if i < 0 {
		return "", false
	}
	j := strings.IndexByte(line[i:], ')')
	if j < 0 {
		return "", false
	}
	return line[i+len("msg=audit(") : i+j], true
}

// Log renders n events cycling through evs, the k-th stamped
// audit(sec+k/1000:seq+k): distinct serials, one millisecond apart.
func Log(evs [][]string, seq, sec int64, n int) string {
	var sb strings.Builder
	for k := 0; k < n; k++ {
		ev := evs[k%len(evs)]
		ms := sec*1000 + int64(k)
		st := fmt.Sprintf("%d.%03d:%d", ms/1000, ms%1000, seq+int64(k))
		for _, line := range ev {
			old, _ := stamp(line)
			sb.WriteString(strings.Replace(line, "audit("+old+")", "audit("+st+")", 1))
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// CopyExe copies the executable src to dir/name, so that what the copy
// does (its executions, its connections) is told apart from the rest of
// the host's activity; it skips tb where src is absent.
func CopyExe(tb testing.TB, src, dir, name string) string {
	tb.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		tb.Skipf("no %s to run: %v", src, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o755); err != nil {
		tb.Fatal(err)
	}
	return path
}
