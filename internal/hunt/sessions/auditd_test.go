package sessions

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/ingest"
	"github.com/spoor-dev/spoor/internal/testenv"
)

// auditFiles are the real auditd logs: OTRF's (zipped) from the shared
// datasets folder and go-libaudit's test logs.
func auditFiles(t *testing.T) []string {
	var files []string
	zips, _ := filepath.Glob("../../../../shared/datasets/linux/*.zip")
	files = append(files, zips...)
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		dir := filepath.Join(strings.TrimSpace(string(out)), "github.com/elastic/go-libaudit/v2@v2.6.2")
		for _, g := range []string{"auparse/testdata/*.log", "aucoalesce/testdata/*.log", "testdata/*.log"} {
			m, _ := filepath.Glob(filepath.Join(dir, g))
			files = append(files, m...)
		}
	}
	if len(files) == 0 {
		testenv.Missing(t, "no real auditd logs: neither shared/datasets/linux beside the project nor go-libaudit v2.6.2 in the module cache")
	}
	return files
}

// rawText is a log's text, the zip's members concatenated.
func rawText(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(path, ".zip") {
		return b
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		m, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		all = append(append(all, m...), '\n')
	}
	return all
}

var (
	msgRe  = regexp.MustCompile(`msg=audit\(([0-9.]+:[0-9]+)\)`)
	typeRe = regexp.MustCompile(`(?:^|\s)type=([A-Z_]+)`)
	sesRe  = regexp.MustCompile(`(?:^|\s)ses=([0-9]+)`)
	nodeRe = regexp.MustCompile(`(?:^|\s)node=(\S+)`)
	succRe = regexp.MustCompile(`(?:^|\s)success=(\S+)`)
	// execve and execveat on x86_64 (arch=c000003e), or by name
	execRe = regexp.MustCompile(`(?:^|\s)arch=c000003e syscall=(?:59|322)\s|(?:^|\s)syscall=execve(?:at)?\s`)
)

// sessionTypes are the record types whose events carry a logon session.
var sessionTypes = map[string]bool{
	"USER_LOGIN": true, "USER_AUTH": true, "USER_START": true, "USER_ACCT": true, "CRED_ACQ": true,
	"CRED_REFR": true, "LOGIN": true, "USER_END": true, "USER_LOGOUT": true, "CRED_DISP": true,
}

// rawSessions counts, straight from the log lines, the sessions (host,
// ses) of login and execve events and the successful execve events of
// each.
func rawSessions(text []byte, defHost string) map[string]int {
	type ev struct {
		types   map[string]bool
		ses     string
		node    string
		success string
		execve  bool
	}
	evs := map[string]*ev{}
	for _, line := range strings.Split(string(text), "\n") {
		m := msgRe.FindStringSubmatch(line)
		tm := typeRe.FindStringSubmatch(line)
		if m == nil || tm == nil {
			continue
		}
		e := evs[m[1]]
		if e == nil {
			e = &ev{types: map[string]bool{}}
			evs[m[1]] = e
		}
		e.types[tm[1]] = true
		if s := sesRe.FindStringSubmatch(line); s != nil {
			e.ses = s[1]
		}
		if n := nodeRe.FindStringSubmatch(line); n != nil {
			e.node = n[1]
		}
		if s := succRe.FindStringSubmatch(line); s != nil {
			e.success = s[1]
		}
		if tm[1] == "EXECVE" || (tm[1] == "SYSCALL" && execRe.MatchString(line)) {
			e.execve = true
		}
	}
	out := map[string]int{}
	for _, e := range evs {
		if e.ses == "" || e.ses == "0" || e.ses == "4294967295" {
			continue
		}
		login := false
		for ty := range e.types {
			login = login || sessionTypes[ty]
		}
		execve := e.types["SYSCALL"] && e.execve
		if !login && !execve {
			continue
		}
		host := e.node
		if host == "" {
			host = defHost
		}
		k := host + " " + e.ses
		out[k] += 0
		if execve && e.success != "no" {
			out[k]++
		}
	}
	return out
}

// On real auditd logs the sessions and the processes of each agree with
// the raw records, and each session's tree holds its processes.
func TestRealAuditd(t *testing.T) {
	ctx := context.Background()
	total := 0
	for _, path := range auditFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			const defHost = "audit-host"
			want := rawSessions(rawText(t, path), defHost)
			db := openDB(t)
			load(t, db, defHost, ingest.FileSource(path))
			hosts := query(t, db, "SELECT DISTINCT hostname FROM events WHERE hostname IS NOT NULL ORDER BY 1")
			got := map[string]int{}
			for _, h := range hosts.Rows {
				host := h[0].(string)
				tb, err := Sessions(ctx, db, org, host, 0, allTime)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range tb.Rows {
					k := fmt.Sprintf("%s %d", host, r[0])
					got[k] = int(r[6].(int64))
					tr, err := Tree(ctx, db, org, host, r[0].(int64), 0, 0, allTime)
					if err != nil {
						t.Fatal(err)
					}
					if len(tr.Rows) != got[k] {
						t.Errorf("session %s: tree of %d processes, sessions counts %d", k, len(tr.Rows), got[k])
					}
				}
			}
			for k, n := range want {
				if g, ok := got[k]; !ok {
					t.Errorf("session %s (%d execve) not found", k, n)
				} else if g != n {
					t.Errorf("session %s: %d processes, the raw log has %d execve", k, g, n)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("session %s not in the raw log", k)
				}
			}
			t.Logf("%d sessions: %v", len(got), got)
			total += len(want)
		})
	}
	t.Logf("%d sessions over all the logs", total)
}
