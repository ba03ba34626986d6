package server

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
)

// Tests of clients that hold the server's capacity: answers nobody reads,
// queries whose client left, long queries, trickling bodies, shutdown.

// procCPU is the CPU time this process (server included) has used.
func procCPU(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip("no /proc/self/stat")
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// cpuIn is the CPU this process uses over d.
func cpuIn(t *testing.T, d time.Duration) time.Duration {
	c := procCPU(t)
	time.Sleep(d)
	return procCPU(t) - c
}

// waitIdle fails unless the process stops burning CPU within bound: some
// second-long window uses under 0.3 s of CPU.
func waitIdle(t *testing.T, bound time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var used time.Duration
	for time.Since(start) < bound {
		if used = cpuIn(t, time.Second); used < 300*time.Millisecond {
			return time.Since(start)
		}
	}
	t.Fatalf("still burning CPU %v after %v (%v in the last second)", bound, time.Since(start), used)
	return 0
}

// rawRequest sends one HTTP/1.1 request on its own connection and returns
// the connection, unread. Its receive buffer is tiny so an answer that is
// not read fills it at once.
func rawRequest(t *testing.T, url, method, path, token, body string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: nil}
	c, err := d.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).SetReadBuffer(4 << 10)
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		method, path, token, len(body), body)
	return c
}

// statusOf reads the status code of the answer on c.
func statusOf(t *testing.T, c net.Conn, within time.Duration) int {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	line, err := bufio.NewReaderSize(c, 16).ReadString('\n')
	if err != nil {
		t.Fatalf("no status line within %v: %v", within, err)
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		t.Fatalf("status line %q", line)
	}
	code, _ := strconv.Atoi(f[1])
	return code
}

func sqlBody(q string) string { return fmt.Sprintf(`{"sql": %q}`, q) }

// loadEvents ingests n events into orgA.
func loadEvents(t *testing.T, f fixture, n int) {
	t.Helper()
	for done := 0; done < n; done += 10_000 {
		if code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, eventsFrom(done, min(10_000, n-done))); code != 200 {
			t.Fatalf("ingest: %d %s", code, body)
		}
	}
}

// eventsFrom is events with _ids from..from+n-1 and varied pids.
func eventsFrom(from, n int) []byte {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, `{"_id":"e-%d","agent_id":"agent-%d","event_time":%d,"event_type":"audit","exe":"/usr/bin/curl","user":"root","pid":%d}`+"\n",
			i, i%10, 1600362902289+int64(i)*1000, i)
	}
	return []byte(b.String())
}

// Clients that send a query with a big answer and never read it hold
// their slot only until the answer stops moving (the write deadline); then
// the slot frees, for their own organization too. Another organization is
// served meanwhile.
func TestUnreadAnswersFreeTheirSlots(t *testing.T) {
	f := start(t, Options{WriteTimeout: time.Second, QueueWait: 200 * time.Millisecond})
	loadEvents(t, f, 1000)
	big := sqlBody("SELECT a.*, b._id AS b_id FROM events a, events b LIMIT 100000") // ~100 MB
	const hogs = 5                                                                   // one more than the slots
	var conns []net.Conn
	for range hogs {
		conns = append(conns, rawRequest(t, f.url, "POST", "/api/v1/sql", f.analystA, big))
	}
	served := 0
	for _, c := range conns {
		if statusOf(t, c, 10*time.Second) == 200 {
			served++ // answering, and never read from now on
		}
	}
	if served == 0 {
		t.Fatal("no hog was served")
	}
	start := time.Now()
	if code, body := call(t, "POST", f.url+"/api/v1/sql", f.analystB, []byte(sqlBody("SELECT count(*) AS n FROM events"))); code != 200 {
		t.Fatalf("orgB while orgA's answers sit unread: %d %s", code, body)
	}
	t.Logf("orgB served in %v with %d unread answers of orgA", time.Since(start), served)
	start = time.Now()
	for {
		code, body := call(t, "POST", f.url+"/api/v1/sql", f.analystA, []byte(sqlBody("SELECT count(*) AS n FROM events")))
		if code == 200 {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("orgA's own slots never freed: %d %s", code, body)
		}
	}
	t.Logf("orgA's slots freed after %v", time.Since(start))
}

// A long query whose client hangs up is interrupted: the CPU goes idle and
// the slot frees.
func TestQueryOfGoneClientStops(t *testing.T) {
	f := start(t, Options{MaxQueries: 1, MaxQueriesPerOrg: 1})
	loadEvents(t, f, 3000)
	long := sqlBody("SELECT count(*) AS n FROM events a, events b, events c WHERE a.pid + b.pid * c.pid = -1") // 2.7e10 rows
	c := rawRequest(t, f.url, "POST", "/api/v1/sql", f.analystA, long)
	waitHeld(t, f.srv.queries, "orgA", 1, "the long query never took the slot")
	c.Close()
	t.Logf("idle %v after the client left", waitIdle(t, 5*time.Second))
	waitHeld(t, f.srv.queries, "orgA", 0, "the slot of the query whose client left did not free")
	if code, body := call(t, "POST", f.url+"/api/v1/sql", f.analystA, []byte(sqlBody("SELECT count(*) AS n FROM events"))); code != 200 {
		t.Fatalf("after the slot freed: %d %s", code, body)
	}
}

// waitHeld waits until org holds n of slots; the bound only ends a wait
// that would never end.
func waitHeld(t *testing.T, slots *fairSlots, org string, n int, what string) {
	t.Helper()
	for start := time.Now(); ; time.Sleep(5 * time.Millisecond) {
		slots.mu.Lock()
		held := slots.held[org]
		slots.mu.Unlock()
		if held == n {
			return
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("%s: %s holds %d slots, want %d", what, org, held, n)
		}
	}
}

// A query past the engine's timeout stops using CPU, nested scalar
// subqueries included, and answers 504.
func TestTimedOutQueryStops(t *testing.T) {
	f := startWith(t, datadir.Options{Timeout: time.Second}, Options{})
	loadEvents(t, f, 3000)
	q := sqlBody(`SELECT (SELECT count(*) FROM events a, events b
		WHERE a.pid % 7 = (SELECT count(*) FROM events c, events d WHERE c.pid < d.pid + b.pid)) AS n`)
	start := time.Now()
	code, body := call(t, "POST", f.url+"/api/v1/sql", f.analystA, []byte(q))
	took := time.Since(start)
	if code != http.StatusGatewayTimeout {
		t.Fatalf("nested subqueries past a 1 s timeout: %d %s after %v", code, body, took)
	}
	if took > 5*time.Second {
		t.Errorf("answered 504 only after %v", took)
	}
	t.Logf("504 after %v; idle %v later", took, waitIdle(t, 3*time.Second))
}

// Shutdown ends within its bound even while a request holds on (a body
// that trickles in), instead of waiting out the read timeout.
func TestShutdownIsBounded(t *testing.T) {
	f := start(t, Options{ShutdownWait: time.Second})
	c, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n", f.ingestA)
	line := eventsFrom(0, 1)
	fmt.Fprintf(c, "%x\r\n%s\r\n", len(line), line)
	time.Sleep(100 * time.Millisecond) // let the handler start reading the body
	start := time.Now()
	if err := f.stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("shutdown took %v with a 1 s bound", took)
	} else {
		t.Logf("shutdown took %v", took)
	}
	if d := defaultOptions().ShutdownWait; d > 10*time.Second {
		t.Errorf("default shutdown bound %v, want at most 10 s", d)
	}
}
