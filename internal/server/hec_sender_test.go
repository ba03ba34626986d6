package server

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Splunk's own Node.js HEC client (splunk-logging, from npm) sends to
// spoor unchanged. .ci/run installs it; without node or the package the
// test skips and says so.
func TestHECRealSenderSplunkLogging(t *testing.T) {
	dir, _ := filepath.Abs("testdata/hec-sender")
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: cannot run Splunk's splunk-logging HEC client")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "splunk-logging")); err != nil {
		t.Skip("splunk-logging is not installed: run npm install in internal/server/testdata/hec-sender (.ci/run does)")
	}
	f := start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "send.js"), f.url, f.ingestA, "25")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("splunk-logging sender: %v\n%s", err, out)
	}
	code, body := call(t, "POST", f.url+"/api/v1/sql?format=csv", f.analystA, []byte(
		`{"sql": "SELECT count(*) AS n, count(DISTINCT raw->'message'->>'seq') AS seqs, min(hostname) AS host FROM events WHERE (raw->'message'->>'exe') = '/usr/bin/node'"}`))
	if code != 200 || strings.TrimSpace(string(body)) != "n,seqs,host\n25,25,sender-host" {
		t.Fatalf("events from splunk-logging: %d %q", code, body)
	}
}
