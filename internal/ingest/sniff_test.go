package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// notebook is a Jupyter notebook as Jupyter writes it: pretty-printed,
// keys sorted, with code and outputs that mention event fields.
func notebook(cells int) string {
	var b strings.Builder
	b.WriteString("{\n \"cells\": [\n")
	for i := range cells {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `  {
   "cell_type": "code",
   "execution_count": %d,
   "id": "c%d",
   "metadata": {},
   "outputs": [
    {
     "name": "stdout",
     "output_type": "stream",
     "text": [
      "{\"event_type\": \"audit\", \"timestamp\": 1600000000000}\n"
     ]
    }
   ],
   "source": [
    "df = spark.sql(\"SELECT event_time, hostname FROM events\")\n",
    "df.show()"
   ]
  }`, i+1, i)
	}
	b.WriteString("\n ],\n \"metadata\": {\n  \"kernelspec\": {\"display_name\": \"Python 3\", \"language\": \"python\", \"name\": \"python3\"}\n },\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}\n")
	return b.String()
}

// A folder of an investigation holds events beside notebooks and notes:
// the events are read, the rest is skipped with one line each saying what
// it is, and nothing is rejected (so --strict passes).
func TestFolderWithNotebook(t *testing.T) {
	for _, cells := range []int{3, 400} { // the notebook within the sniffed head, and far beyond it
		t.Run(fmt.Sprintf("%d cells", cells), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "hunt.ipynb"), []byte(notebook(cells)), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# Case 42\n\nEvents from web01.\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "events.ndjson"), lines(10, nil), 0o644); err != nil {
				t.Fatal(err)
			}
			sum, c := runFiles(t, Options{}, dir)
			if len(c.ids) != 10 || sum.Rejected != 0 || len(sum.FileErrors) != 0 {
				t.Fatalf("%d events, %d rejected, errors %v; want the 10 events and no rejection", len(c.ids), sum.Rejected, sum.FileErrors)
			}
			if sum.Formats["threatstack"] != 1 || len(sum.Formats) != 1 {
				t.Errorf("formats %v, want threatstack 1", sum.Formats)
			}
			got := map[string]string{}
			for _, s := range sum.Skips {
				got[filepath.Base(s.File)] = s.String()
			}
			if sum.Skipped != 2 || len(got) != 2 {
				t.Fatalf("skipped %d %v, want the notebook and the README", sum.Skipped, sum.Skips)
			}
			if want := filepath.Join(dir, "hunt.ipynb") + ": not telemetry: notebook JSON"; got["hunt.ipynb"] != want {
				t.Errorf("notebook: %q, want %q", got["hunt.ipynb"], want)
			}
			if !strings.HasPrefix(got["README.md"], filepath.Join(dir, "README.md")+": not telemetry: ") {
				t.Errorf("README: %q", got["README.md"])
			}
		})
	}
}
