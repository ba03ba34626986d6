package auditd

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/output/*.golden from the decoder's output")

// TestOutputGolden pins the decoder's whole output, byte for byte: every
// event's typed fields and its Raw, every rejection and every count, over
// all of the linux datasets, the enriched log of testdata and go-libaudit's
// own test logs. Speed-ups of the decoder must leave it unchanged; a
// deliberate change of output is made with -update and reviewed in the
// diff.
func TestOutputGolden(t *testing.T) {
	zips, _ := filepath.Glob(filepath.Join(datasets, "*.zip"))
	if len(zips) == 0 {
		testenv.Missing(t, "no audit datasets in %s", datasets)
	}
	for _, z := range zips {
		name := strings.TrimSuffix(filepath.Base(z), ".zip")
		t.Run(name, func(t *testing.T) {
			checkOutput(t, name, renderOutput(t, readZip(t, filepath.Base(z))))
		})
	}
	t.Run("enriched", func(t *testing.T) {
		checkOutput(t, "enriched", renderOutput(t, readTestdata(t, "enriched.log")))
	})
	dir := libauditDir()
	if dir == "" {
		t.Skip("go-libaudit module directory not found (go list -m failed)")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "aucoalesce", "testdata", "*.yaml"))
	if len(files) == 0 {
		t.Fatalf("no aucoalesce testdata under %s", dir)
	}
	for _, file := range files {
		name := "libaudit-" + strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			cases := readYAMLCases(t, file)
			names := make([]string, 0, len(cases))
			for n := range cases {
				names = append(names, n)
			}
			slices.Sort(names)
			var out []byte
			for _, n := range names {
				out = append(out, "# "+n+"\n"...)
				out = append(out, renderOutput(t, cases[n])...)
			}
			checkOutput(t, name, out)
		})
	}
}

// renderOutput decodes text and renders what came out, one line each.
func renderOutput(t *testing.T, text string) []byte {
	t.Helper()
	c := decode(t, text)
	var b []byte
	for _, e := range c.events {
		b = append(b, "event"...)
		for _, f := range event.Catalog() {
			v, ok := e.Value(f.ID)
			if !ok {
				continue
			}
			b = append(b, ' ')
			b = append(b, f.Name...)
			b = append(b, '=')
			b = strconv.AppendQuote(b, v.String())
		}
		b = append(b, "\n raw="...)
		b = append(b, e.Raw...)
		b = append(b, '\n')
	}
	for _, r := range c.rejects {
		b = append(b, "reject line="...)
		b = strconv.AppendInt(b, r.Line, 10)
		b = append(b, " reason="...)
		b = strconv.AppendQuote(b, r.Reason)
		b = append(b, " detail="...)
		b = strconv.AppendQuote(b, r.Detail)
		b = append(b, '\n')
	}
	keys := make([]string, 0, len(c.counts))
	for k := range c.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = append(b, "count "...)
		b = strconv.AppendQuote(b, k)
		b = append(b, ' ')
		b = strconv.AppendInt(b, c.counts[k], 10)
		b = append(b, '\n')
	}
	return b
}

// checkOutput compares got with testdata/output/name.golden (or writes it
// with -update), naming the first line that differs.
func checkOutput(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "output", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestOutputGolden -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Fatalf("%s line %d differs:\n got: %s\nwant: %s", path, i+1, gl, wl)
		}
	}
}
