package ingest

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

const k8sRecord = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"ID","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/secrets/db","verb":"get","user":{"username":"bob"},"sourceIPs":["10.0.0.7"],"userAgent":"kubectl/v1.29.1","objectRef":{"resource":"secrets","namespace":"default","name":"db","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2024-03-05T10:15:01.000000Z","stageTimestamp":"2024-03-05T10:15:01.004000Z"}`

// A Kubernetes audit log is recognised by its content in a directory: the
// API server's JSON lines, and an EKS export's array gzipped, beside a
// CloudTrail file.
func TestKubernetesInDirectory(t *testing.T) {
	dir := t.TempDir()
	rec := func(id string) string { return strings.ReplaceAll(k8sRecord, `"ID"`, `"`+id+`"`) }
	if err := os.WriteFile(filepath.Join(dir, "kube-apiserver-audit.log"), []byte(rec("a")+"\n"+rec("b")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, "[\n  "+rec("c")+",\n  "+rec("d")+",\n  "+rec("e")+"\n]\n")
	zw.Close()
	if err := os.WriteFile(filepath.Join(dir, "eks-export.json.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ct.json"), []byte(`{"Records":[`+strings.ReplaceAll(ctRecord, "ID", "1")+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}

	sum, c := runFiles(t, Options{}, dir)
	if sum.Formats["kubernetes"] != 2 || sum.Formats["cloudtrail"] != 1 || len(sum.Formats) != 2 {
		t.Errorf("formats %v, want kubernetes 2 and cloudtrail 1", sum.Formats)
	}
	if len(c.ids) != 6 || sum.Rejected != 0 || len(sum.FileErrors) != 0 {
		t.Errorf("%d events, %d rejected, errors %v; want 6, 0, none", len(c.ids), sum.Rejected, sum.FileErrors)
	}
}
