package ingest

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func runFiles(t *testing.T, opts Options, paths ...string) (Summary, *collector) {
	t.Helper()
	c := &collector{}
	if opts.Org == "" {
		opts.Org = "o"
	}
	sum, err := Run(context.Background(), paths, c.sink, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sum, c
}

const ctRecord = `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"},"eventTime":"2023-07-10T11:42:36Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","eventID":"ID"}`

const auditLines = `type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=8 items=1 ppid=29002 pid=1631 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=104 comm="arp" exe="/usr/sbin/arp" key=(null)
type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0="arp" a1="-a"
type=CWD msg=audit(1604994496.155:92733): cwd="/home/wardog"
type=PROCTITLE msg=audit(1604994496.155:92733): proctitle=617270002D61
`

// Formats are recognised by content inside gzip, zip and directories,
// whatever the files are called.
func TestFormatsInContainers(t *testing.T) {
	dir := t.TempDir()
	// A CloudTrail delivery file, gzipped as AWS writes it, named .log.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, `{"Records":[`+strings.ReplaceAll(ctRecord, "ID", "1")+","+strings.ReplaceAll(ctRecord, "ID", "2")+`]}`)
	zw.Close()
	if err := os.MkdirAll(filepath.Join(dir, "in", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in", "deep", "ct.log"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// A zip holding an audit log and a README.
	var zb bytes.Buffer
	z := zip.NewWriter(&zb)
	w, _ := z.Create("audit/audit.log")
	io.WriteString(w, auditLines)
	w, _ = z.Create("README.txt")
	io.WriteString(w, "not telemetry\n")
	z.Close()
	if err := os.WriteFile(filepath.Join(dir, "in", "logs.zip"), zb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in", ".hidden.json"), []byte(`{"event_time":1,"_id":"h"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	sum, c := runFiles(t, Options{Host: "box1"}, filepath.Join(dir, "in"))
	if sum.Formats["cloudtrail"] != 1 || sum.Formats["auditd"] != 1 || len(sum.Formats) != 2 {
		t.Errorf("formats %v, want cloudtrail 1 and auditd 1", sum.Formats)
	}
	if len(c.ids) != 3 || sum.Rejected != 0 || len(sum.FileErrors) != 0 {
		t.Errorf("%d events, %d rejected, errors %v", len(c.ids), sum.Rejected, sum.FileErrors)
	}
	if sum.Skipped != 1 || !strings.HasSuffix(sum.Skips[0].File, "logs.zip:README.txt") {
		t.Errorf("skipped %d %v, want the zip's README", sum.Skipped, sum.Skips)
	}

	// A file named on the command line that is not telemetry is an error.
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, _ = runFiles(t, Options{}, filepath.Join(dir, "notes.txt"))
	if len(sum.FileErrors) != 1 || !strings.Contains(sum.FileErrors[0], "unrecognised format") {
		t.Errorf("errors %v", sum.FileErrors)
	}
	// --format names it instead, and a wrong one is refused up front.
	if _, err := Run(context.Background(), nil, (&collector{}).sink, Options{Format: "xml"}); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("unknown format: %v", err)
	}
	sum, c = runFiles(t, Options{Format: "cloudtrail"}, filepath.Join(dir, "in", "deep", "ct.log"))
	if len(c.ids) != 2 || sum.Formats["cloudtrail"] != 1 {
		t.Errorf("forced cloudtrail: %d events, %v", len(c.ids), sum.Formats)
	}
}

// A zip whose entry inflates hundreds of times over is refused without
// being inflated, and memory stays bounded; a zip nested too deep is not
// opened.
func TestZipBombRefused(t *testing.T) {
	dir := t.TempDir()
	var zb bytes.Buffer
	z := zip.NewWriter(&zb)
	w, _ := z.Create("bomb.json")
	zero := make([]byte, 1<<20)
	for range 300 {
		w.Write(zero)
	}
	w, _ = z.Create("ok.json")
	io.WriteString(w, ctRecord+"\n")
	z.Close()
	bomb := filepath.Join(dir, "bomb.zip")
	if err := os.WriteFile(bomb, zb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	// A zip in a zip in a zip.
	nest := zb.Bytes()
	for i := range 3 {
		var b bytes.Buffer
		z := zip.NewWriter(&b)
		w, _ := z.Create("inner" + string(rune('0'+i)) + ".zip")
		w.Write(nest)
		z.Close()
		nest = b.Bytes()
	}
	nested := filepath.Join(dir, "nested.zip")
	if err := os.WriteFile(nested, nest, 0o644); err != nil {
		t.Fatal(err)
	}

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	sum, c := runFiles(t, Options{}, bomb)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if len(sum.FileErrors) != 1 || !strings.Contains(sum.FileErrors[0], "zip bomb") || len(c.ids) != 1 {
		t.Errorf("errors %v, %d events; want the bomb refused and the other entry read", sum.FileErrors, len(c.ids))
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("reading the bomb allocated %d MiB", grew>>20)
	}
	sum, _ = runFiles(t, Options{}, nested)
	if len(sum.FileErrors) != 1 || !strings.Contains(sum.FileErrors[0], "nested deeper") {
		t.Errorf("nested zips: %v", sum.FileErrors)
	}
}
