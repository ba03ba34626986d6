package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/spoor-dev/spoor/internal/agent/audit/audittest"
)

// An air-gapped host: `spoor agent --out FILE` writes the events it would
// have sent (audit events as envelopes of their records), and `spoor
// ingest FILE` on the analysts' side decodes them as the server would.
func TestAgentOutFileIngested(t *testing.T) {
	if testing.Short() {
		t.Skip("a real agent process")
	}
	evs := audittest.Events(t, "../../../shared/datasets/linux")
	r := newFleetRig(t)
	log, out := filepath.Join(r.dir, "audit.log"), filepath.Join(r.dir, "agent.ndjson")
	w := &writer{t: t, path: log, evs: evs}
	w.write(30)
	ag := r.start("agent", "agent", "--out", out, "--audit-log", log, "--state", filepath.Join(r.dir, "state"),
		"--batch-age", "20ms", "--poll", "20ms", "--health-every", "1h", "--no-imds", "--fim", filepath.Join(r.dir, "fim"))
	r.waitFor("30 audit envelopes in the file", func() bool {
		b, _ := os.ReadFile(out)
		return strings.Count(string(b), `"audit_records":`) >= 30
	})
	if err := ag.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := ag.Wait(); err != nil {
		t.Fatalf("agent stopped with %v", err)
	}
	data := filepath.Join(r.dir, "lake")
	var sum bytes.Buffer
	o := ingestOptions{data: dataFlags{Dir: data}, format: "auto"}
	if err := runIngest(context.Background(), o, []string{out}, &sum, &sum); err != nil {
		t.Fatalf("ingest: %v\n%s", err, sum.String())
	}
	if !strings.Contains(sum.String(), "rejected:   0") && strings.Contains(sum.String(), "rejected:") {
		t.Errorf("ingest rejected lines of the agent's file:\n%s", sum.String())
	}
	q := exec.Command(r.exe, "sql", "--data", data, "--format", "csv",
		"SELECT count(*), count(DISTINCT _id), count(DISTINCT agent_id), count(exe), count(*) FILTER (WHERE syscall = 'execve') FROM events WHERE event_type = 'audit'")
	q.Env = append(os.Environ(), "SPOOR_TEST_AS_MAIN=1")
	got, err := q.CombinedOutput()
	if err != nil {
		t.Fatalf("sql: %v\n%s", err, got)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 2 || lines[1] != "30,30,1,30,30" {
		t.Fatalf("stored from the agent's file:\n%s\nwant 30 audit events, 30 _ids, one agent, 30 with exe, 30 execve", got)
	}
}
