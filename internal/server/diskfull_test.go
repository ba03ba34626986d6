package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/diskspace"
	"github.com/spoor-dev/spoor/internal/lake"
)

// smallDisk is a filesystem of a few MiB the test can fill and free: a
// tmpfs mounted for the test where mounting is allowed (root), else a
// directory whose lake sees a simulated disk through lake.Options' Space
// and Fault seams.
type smallDisk struct {
	dir     string
	ballast string
	hooks   lake.Options // the simulated disk's seams; zero on a real one
	// simulated: free bytes reported, and whether writes fail
	fakeFree atomic.Uint64
	fakeFull atomic.Bool
}

const smallDiskSize = 64 << 20

func newSmallDisk(t *testing.T, simulate bool) *smallDisk {
	t.Helper()
	d := &smallDisk{dir: t.TempDir()}
	var out []byte
	err := errors.New("simulated")
	if !simulate {
		out, err = exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", smallDiskSize), "tmpfs", d.dir).CombinedOutput()
	}
	if err == nil {
		t.Cleanup(func() {
			if out, err := exec.Command("umount", "-l", d.dir).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v %s", d.dir, err, out)
			}
		})
		d.ballast = filepath.Join(d.dir, "ballast")
		return d
	}
	if !simulate {
		t.Logf("cannot mount a tmpfs (%v: %s): simulating a full disk through the lake's Space and Fault seams instead", err, bytes.TrimSpace(out))
	}
	d.fakeFree.Store(smallDiskSize / 2)
	d.hooks.Space = func(string) (diskspace.Space, error) {
		return diskspace.Space{Free: d.fakeFree.Load(), Total: smallDiskSize}, nil
	}
	d.hooks.Fault = func(op, path string) error {
		if d.fakeFull.Load() {
			return syscall.ENOSPC
		}
		return nil
	}
	return d
}

// fill leaves left bytes free (0: the disk is full and writes fail).
func (d *smallDisk) fill(t *testing.T, left uint64) {
	t.Helper()
	if d.ballast == "" {
		d.fakeFree.Store(left)
		d.fakeFull.Store(left == 0)
		return
	}
	sp, err := diskspace.Of(d.dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(d.ballast)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size := int64(sp.Free) - int64(left)
	if left == 0 {
		size = smallDiskSize // until ENOSPC
	}
	chunk := make([]byte, 1<<20)
	for size > 0 {
		n, err := f.Write(chunk[:min(int64(len(chunk)), size)])
		size -= int64(n)
		if errors.Is(err, syscall.ENOSPC) && left == 0 {
			return
		}
		if err != nil {
			t.Fatalf("ballast: %v", err)
		}
	}
}

func (d *smallDisk) free(t *testing.T) {
	t.Helper()
	if d.ballast == "" {
		d.fakeFree.Store(smallDiskSize / 2)
		d.fakeFull.Store(false)
		return
	}
	if err := os.Remove(d.ballast); err != nil {
		t.Fatal(err)
	}
}

// postUntilTaken sends a batch as a sender does, again after each 503 or
// 507, until it is taken; it returns the events accepted and how long that
// took.
func postUntilTaken(t *testing.T, f fixture, batch []byte) (int64, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		resp, body := callResp(t, "POST", f.url+"/api/v1/events", f.ingestA, batch)
		switch resp.StatusCode {
		case 200:
			var ans ingestAnswer
			if err := json.Unmarshal(body, &ans); err != nil {
				t.Fatal(err)
			}
			return ans.Accepted, time.Since(start)
		case 503, 507:
			if resp.Header.Get("Retry-After") == "" {
				t.Fatalf("%d without Retry-After: %s", resp.StatusCode, body)
			}
		default:
			t.Fatalf("ingest: %d %s", resp.StatusCode, body)
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("ingest still refused %s after space came back: %d %s", time.Since(start), resp.StatusCode, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func metricValue(t *testing.T, f fixture, name string) string {
	t.Helper()
	code, body := call(t, "GET", f.url+"/metrics", f.analystA, nil)
	if code != 200 {
		t.Fatalf("metrics: %d %s", code, body)
	}
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	t.Fatalf("no %s in /metrics:\n%s", name, body)
	return ""
}

// A disk that fills stops ingest only while it is full: below the reserve
// new batches get 507 (and /readyz 503, the gauge 0) while the head can
// still be flushed; with no reserve the WAL's write fails (503). Either
// way, once space is freed the same server takes the batches again, and
// every acknowledged event is stored exactly once.
func TestDiskFullRecovers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		reserve  diskspace.Reserve
		simulate bool
	}{
		{"reserve", diskspace.Reserve{}, false},
		{"no reserve", diskspace.Reserve{Off: true}, false},
		{"reserve simulated", diskspace.Reserve{}, true},
		{"no reserve simulated", diskspace.Reserve{Off: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newSmallDisk(t, tc.simulate)
			lopts := d.hooks
			lopts.DiskReserve = tc.reserve
			f := startIn(t, d.dir, datadir.Options{Lake: lopts}, Options{OperatorOrg: "orgA", FlushEvery: time.Hour})
			const batch = 500
			var sent, acked int64
			next := func() []byte {
				b := eventsFrom(int(sent), batch)
				sent += batch
				return b
			}
			for range 4 {
				n, _ := postUntilTaken(t, f, next())
				acked += n
			}

			pending := next()
			if tc.reserve.Off {
				// Something of the server's own may give space back just
				// after the disk was filled (a temporary file removed when
				// its write failed): a batch that still fits is taken, and
				// counted; the disk is filled again.
				refused := false
				for try := 0; try < 5 && !refused; try++ {
					d.fill(t, 0)
					code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, pending)
					switch {
					case code == 503 && strings.Contains(string(body), "no space left"):
						refused = true
					case code == 200:
						acked += batch
						pending = next()
					default:
						t.Fatalf("ingest on a full disk: %d %s, want 503 naming the full disk", code, body)
					}
				}
				if !refused {
					t.Fatal("ingest on a disk filled five times over never answered 503")
				}
				if err := f.db.Lake.Flush(context.Background()); err == nil {
					t.Fatal("flush on a full disk succeeded")
				}
			} else {
				reserve := diskspace.Reserve{}.Of(smallDiskSize)
				d.fill(t, reserve/2)
				resp, body := callResp(t, "POST", f.url+"/api/v1/events", f.ingestA, pending)
				if resp.StatusCode != 507 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "reserve") {
					t.Fatalf("ingest below the reserve: %d (Retry-After %q) %s, want 507 with Retry-After naming the reserve",
						resp.StatusCode, resp.Header.Get("Retry-After"), body)
				}
				code, body := call(t, "GET", f.url+"/readyz", f.analystA, nil)
				if code != 503 || !strings.Contains(string(body), "disk almost full") {
					t.Fatalf("readyz below the reserve: %d %s, want 503 with the reason", code, body)
				}
				if v := metricValue(t, f, "spoor_store_writable"); v != "0" {
					t.Fatalf("spoor_store_writable = %s below the reserve, want 0", v)
				}
				if v := metricValue(t, f, "spoor_disk_free_bytes"); v == "0" {
					t.Fatalf("spoor_disk_free_bytes = %s", v)
				}
				// What was accepted can still be written (the reserve is for
				// this), and the WAL never failed: the flush needs it.
				if err := f.db.Lake.Flush(context.Background()); err != nil {
					t.Fatalf("flush below the reserve: %v", err)
				}
			}

			d.free(t)
			n, took := postUntilTaken(t, f, pending)
			acked += n
			t.Logf("ingest resumed %s after space was freed", took.Round(time.Millisecond))
			code, body := call(t, "GET", f.url+"/readyz", f.analystA, nil)
			if code != 200 {
				t.Fatalf("readyz after space came back: %d %s", code, body)
			}
			if v := metricValue(t, f, "spoor_store_writable"); v != "1" {
				t.Fatalf("spoor_store_writable = %s after space came back, want 1", v)
			}
			for range 2 {
				n, _ := postUntilTaken(t, f, next())
				acked += n
			}
			if acked != sent {
				t.Fatalf("acknowledged %d of %d distinct events", acked, sent)
			}
			if err := f.db.Lake.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			stored, _ := sqlCount(t, f, "")
			distinct := sqlValue(t, f, "count(DISTINCT _id)")
			if int64(stored) != acked || int64(distinct) != acked {
				t.Fatalf("stored %d events, %d distinct; %d were acknowledged", stored, distinct, acked)
			}
		})
	}
}

// sqlValue is the integer expr computes over orgA's events.
func sqlValue(t *testing.T, f fixture, expr string) int {
	t.Helper()
	resp, body := callResp(t, "POST", f.url+"/api/v1/sql?format=csv", f.analystA, []byte(sqlBody("SELECT "+expr+" AS n FROM events")))
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	var n int
	if resp.StatusCode != 200 || len(lines) != 2 {
		t.Fatalf("%s: %d %s", expr, resp.StatusCode, body)
	}
	if _, err := fmt.Sscan(lines[1], &n); err != nil {
		t.Fatalf("%s: %q", expr, body)
	}
	return n
}
