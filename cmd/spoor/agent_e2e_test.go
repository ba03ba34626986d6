package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/agent"
	"github.com/spoor-dev/spoor/internal/agent/audit/audittest"
	"github.com/spoor-dev/spoor/internal/auth"
)

// fleetRig is a real `spoor serve` on a fixed loopback address that can be
// killed and restarted, and real `spoor agent` processes shipping to it.
type fleetRig struct {
	t                 *testing.T
	dir, data, addr   string
	ingest, analyst   string
	srv               *exec.Cmd
	mu                sync.Mutex
	logs              map[string]*bytes.Buffer
	exe               string
	agents, processes []*exec.Cmd
}

func newFleetRig(t *testing.T) *fleetRig {
	t.Helper()
	dir := t.TempDir()
	r := &fleetRig{t: t, dir: dir, data: filepath.Join(dir, "data"), logs: map[string]*bytes.Buffer{}}
	tokens, err := auth.Open(filepath.Join(r.data, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.ingest, _, err = tokens.Create("acme", auth.Ingest, "agents"); err != nil {
		t.Fatal(err)
	}
	if r.analyst, _, err = tokens.Create("acme", auth.Analyst, "test"); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	ln.Close()
	r.exe, _ = os.Executable()
	t.Cleanup(func() {
		for i := len(r.processes) - 1; i >= 0; i-- { // agents before the server they send to
			if c := r.processes[i]; c.ProcessState == nil {
				c.Process.Signal(syscall.SIGTERM)
				c.Wait()
			}
		}
		if t.Failed() {
			for name, b := range r.logs {
				t.Logf("--- %s:\n%s", name, b.String())
			}
		}
	})
	return r
}

func (r *fleetRig) start(name string, args ...string) *exec.Cmd {
	r.t.Helper()
	c := exec.Command(r.exe, args...)
	c.Env = append(os.Environ(), "SPOOR_TEST_AS_MAIN=1")
	r.mu.Lock()
	b := r.logs[name]
	if b == nil {
		b = &bytes.Buffer{}
		r.logs[name] = b
	}
	r.mu.Unlock()
	c.Stdout, c.Stderr = b, b
	if err := c.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.processes = append(r.processes, c)
	return c
}

// serve starts the server and waits until it answers.
func (r *fleetRig) serve() {
	r.t.Helper()
	r.srv = r.start("serve", "serve", "--data", r.data, "--listen", r.addr, "--flush-every", "500ms", "--no-detect")
	r.waitFor("the server to come up", func() bool {
		resp, err := http.Get("http://" + r.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
}

func kill9(t *testing.T, c *exec.Cmd) {
	t.Helper()
	if err := c.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.Wait()
}

// agent starts `spoor agent` following log with state in state.
func (r *fleetRig) agent(state, log string, extra ...string) *exec.Cmd {
	args := append([]string{"agent", "--server", "http://" + r.addr, "--token", r.ingest, "--audit-log", log, "--state", state,
		"--batch-events", "25", "--batch-age", "20ms", "--poll", "20ms", "--max-backoff", "100ms", "--status-every", "50ms",
		"--health-every", "1h", "--no-imds", "--fim", filepath.Join(r.dir, "fim")}, extra...)
	return r.start("agent "+filepath.Base(state), args...)
}

func (r *fleetRig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// counts returns the events of an agent on the server, and how many
// distinct _ids they have; -1 while the server does not answer.
func (r *fleetRig) counts(agentID, where string) (n, distinct int) {
	q := fmt.Sprintf("select count(*) as n, count(distinct _id) as d from events where agent_id = '%s' %s", agentID, where)
	req, _ := http.NewRequest("GET", "http://"+r.addr+"/api/v1/sql?format=ndjson&sql="+url.QueryEscape(q), nil)
	req.Header.Set("Authorization", "Bearer "+r.analyst)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1, -1
	}
	defer resp.Body.Close()
	var row struct{ N, D int }
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&row) != nil {
		return -1, -1
	}
	return row.N, row.D
}

// sql returns the server's answer to q as NDJSON text.
func (r *fleetRig) sql(q string) string {
	req, _ := http.NewRequest("GET", "http://"+r.addr+"/api/v1/sql?format=ndjson&sql="+url.QueryEscape(q), nil)
	req.Header.Set("Authorization", "Bearer "+r.analyst)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return b.String()
}

func agentIDOf(t *testing.T, state string) string {
	t.Helper()
	var id struct {
		AgentID string `json:"agent_id"`
	}
	b, err := os.ReadFile(filepath.Join(state, "agent-id.json"))
	if err != nil || json.Unmarshal(b, &id) != nil {
		t.Fatalf("agent id in %s: %v", state, err)
	}
	return id.AgentID
}

// writer appends renumbered real audit events to a log in small bursts.
type writer struct {
	t    *testing.T
	path string
	evs  [][]string
	next int64
}

func (w *writer) write(n int) {
	w.t.Helper()
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	bw.WriteString(audittest.Log(w.evs, 5000+w.next, 1700000000+w.next, n))
	if err := bw.Flush(); err != nil {
		w.t.Fatal(err)
	}
	w.next += int64(n)
}

// The agent against a server killed with SIGKILL mid-stream, then itself
// killed with SIGKILL mid-stream: every audit event written to the log is
// on the server exactly once.
func TestAgentEndToEndSurvivesKills(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes killed and restarted")
	}
	evs := audittest.Events(t, "../../../shared/datasets/linux")
	r := newFleetRig(t)
	r.serve()
	state, log := filepath.Join(r.dir, "agent1"), filepath.Join(r.dir, "audit.log")
	w := &writer{t: t, path: log, evs: evs}
	ag := r.agent(state, log)
	r.waitFor("the agent id", func() bool { _, err := os.Stat(filepath.Join(state, "agent-id.json")); return err == nil })
	id := agentIDOf(t, state)
	audits := "and event_type = 'audit'"
	exactly := func(want int) {
		t.Helper()
		// An event stored twice would leave more rows than _ids for good.
		// (While the server writes its head to a part, a query may briefly
		// count rows of both: hence the wait for rows and _ids to agree.)
		var n, d int
		r.waitFor(fmt.Sprintf("%d audit events on the server, each once", want), func() bool {
			n, d = r.counts(id, audits)
			return d >= want && n == d
		})
		if d != want {
			t.Fatalf("server holds %d audit events (%d distinct), want %d exactly once", n, d, want)
		}
	}

	// The server dies mid-stream and comes back.
	w.write(40)
	r.waitFor("the first events", func() bool { n, _ := r.counts(id, audits); return n > 0 })
	w.write(40)
	kill9(t, r.srv)
	w.write(60)
	r.serve()
	w.write(30)
	exactly(170)

	// The agent dies mid-stream and comes back.
	for range 5 {
		w.write(20)
		time.Sleep(10 * time.Millisecond)
	}
	kill9(t, ag)
	w.write(50)
	ag = r.agent(state, log)
	w.write(30)
	exactly(350)
	if err := ag.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := ag.Wait(); err != nil {
		t.Fatalf("agent stopped with %v", err)
	}
}

// A spool that fills while the server is down drops its oldest events and
// counts each: what the server lacks is exactly what the agent reports
// dropped.
func TestAgentEndToEndCountsSpoolDrops(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	evs := audittest.Events(t, "../../../shared/datasets/linux")
	r := newFleetRig(t)
	state, log := filepath.Join(r.dir, "agent2"), filepath.Join(r.dir, "audit.log")
	w := &writer{t: t, path: log, evs: evs}
	r.agent(state, log, "--spool-size", "64KiB") // the server is not up yet
	r.waitFor("the agent id", func() bool { _, err := os.Stat(filepath.Join(state, "agent-id.json")); return err == nil })
	id := agentIDOf(t, state)
	const written = 400
	w.write(written)
	// Everything read into the spool: the saved read position is the end.
	size := func() int64 { st, _ := os.Stat(log); return st.Size() }
	r.waitFor("the agent to read the whole log", func() bool {
		var p struct{ Offset int64 }
		b, err := os.ReadFile(filepath.Join(state, "audit-log-position.json"))
		return err == nil && json.Unmarshal(b, &p) == nil && p.Offset == size()
	})
	r.serve()
	var st agent.Status
	r.waitFor("the spool to drain", func() bool {
		var err error
		st, err = agent.ReadStatus(filepath.Join(state, agent.StatusFile))
		return err == nil && st.SpoolEvents == 0 && st.LastSend > 0
	})
	dropped := st.Losses["spool_dropped"]
	if dropped == 0 {
		t.Fatalf("a 64KiB spool took %d events without dropping any: %+v", written, st)
	}
	// The agent emitted the audit events, its host metadata and its start
	// health event (the next is an hour away).
	emitted := written + 2
	var n, d int
	r.waitFor("rows and _ids on the server to agree", func() bool { // see exactly in the test above
		n, d = r.counts(id, "")
		return n == d && int64(d) >= int64(emitted)-dropped
	})
	if int64(d) != int64(emitted)-dropped {
		t.Fatalf("server holds %d events (%d distinct); the agent emitted %d and reports %d dropped", n, d, emitted, dropped)
	}
	if st.LostTotal != dropped {
		t.Fatalf("lost_total %d, want the %d dropped", st.LostTotal, dropped)
	}
}
