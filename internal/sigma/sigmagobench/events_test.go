package sigmagobench

import (
	"archive/zip"
	"bufio"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse/cloudtrail"
	"github.com/spoor-dev/spoor/internal/parse/jsonrec"
	"github.com/spoor-dev/spoor/internal/parse/winevent"
)

// benchEvents is the same mix as internal/sigma's BenchmarkSet: the OTRF
// NXLog lines, the regression events and the Stratus CloudTrail records.
func benchEvents(tb testing.TB) []*event.Event {
	var out []*event.Event
	zips, _ := filepath.Glob(filepath.Join(datasets, "windows", "*.zip"))
	for _, z := range zips {
		zr, err := zip.OpenReader(z)
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range zr.File {
			rc, _ := f.Open()
			sc := bufio.NewScanner(rc)
			sc.Buffer(make([]byte, 1<<20), 4<<20)
			for sc.Scan() {
				e := &event.Event{}
				if winevent.Convert(sc.Bytes(), e) == nil {
					out = append(out, e)
				}
			}
			rc.Close()
		}
		zr.Close()
	}
	read := func(p string, conv func([]byte, *event.Event) error) {
		f, err := os.Open(p)
		if err != nil {
			tb.Fatal(err)
		}
		defer f.Close()
		rd := jsonrec.NewReader(f, 1<<20)
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				continue
			}
			e := &event.Event{}
			if conv(rec.Data, e) == nil {
				out = append(out, e)
			}
		}
	}
	filepath.WalkDir(filepath.Join(datasets, "sigma", "regression_data"), func(p string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() && filepath.Ext(p) == ".json" {
			read(p, winevent.Convert)
		}
		return nil
	})
	cts, _ := filepath.Glob(filepath.Join(datasets, "cloudtrail", "stratus", "CloudTrail", "*.json"))
	for _, p := range cts {
		read(p, cloudtrail.Convert)
	}
	return out
}
