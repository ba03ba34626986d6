package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/auth"
	"github.com/spoor-dev/spoor/internal/engine/gatetest"
)

// gateLake is a data directory of two organizations, served by a spoor
// process over loopback. orgB's events carry markers no answer to orgA may
// hold.
type gateLake struct {
	data, url, analystA string
	local               string // a copy of data for spoor sql --data, which the server does not hold
	paths               gatetest.Paths
}

const gateMarker = "b-secret"

func newGateLake(t *testing.T) gateLake {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	for _, org := range []string{"orgA", "orgB"} {
		var b bytes.Buffer
		exe, host := "/usr/bin/a-own", "a-host"
		if org == "orgB" {
			exe, host = "/usr/bin/"+gateMarker, "b-host"
		}
		for i := range 30 {
			fmt.Fprintf(&b, `{"_id":"%s-%d","organization_id":%q,"agent_id":"%s-agent","hostname":%q,"event_time":%d,"event_type":"audit","exe":%q,"args":["-c","%s"],"user":"root"}`+"\n",
				org, i, org, host, host, 1600362902289+int64(i)*1000, exe, exe)
		}
		file := filepath.Join(dir, org+".ndjson")
		if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := runIngest(context.Background(), ingestOptions{data: dataFlags{Dir: data, Org: org}, format: "auto"}, []string{file}, &out, &out); err != nil {
			t.Fatalf("ingest %s: %v\n%s", org, err, out.String())
		}
	}
	lakeDir := filepath.Join(data, "lake")
	// Both organizations' events share the day's part (docs/lake.md).
	parts, _ := filepath.Glob(filepath.Join(lakeDir, "events", "day=*", "*.parquet"))
	if len(parts) != 1 {
		t.Fatalf("%d parts on disk, want the one both organizations share", len(parts))
	}
	local := filepath.Join(dir, "local")
	if err := os.CopyFS(local, os.DirFS(data)); err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.Open(filepath.Join(data, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	analyst, _, err := tokens.Create("orgA", auth.Analyst, "attacker")
	if err != nil {
		t.Fatal(err)
	}
	url := serveProcess(t, data)
	return gateLake{data: data, local: local, url: url, analystA: analyst,
		paths: gatetest.Paths{Lake: lakeDir, VictimOrg: "orgB", Part: parts[0]}}
}

// leaks reports what of orgB (or of the server's lake path, for a refused
// statement) an answer holds.
func leaks(answer string) string {
	for _, m := range []string{gateMarker, "b-host", "b-agent", `"orgB"`, ",orgB\n"} {
		if strings.Contains(answer, m) {
			return m
		}
	}
	return ""
}

// Every attack of the corpus, as an analyst of orgA sends it over HTTP
// (POST /api/v1/sql in JSON and Parquet, GET), with `spoor sql --server`,
// and with `spoor sql --data` on the command line: refused with 400 / exit
// 2 naming why, or answered with orgA's rows only.
func TestSQLGateOverHTTPAndCLI(t *testing.T) {
	l := newGateLake(t)
	ctx := context.Background()
	remote := dataFlags{Server: l.url, Token: l.analystA}
	local := dataFlags{Dir: l.local, Org: "orgA"}
	attacks := gatetest.Attacks(l.paths)
	for _, a := range attacks {
		// HTTP, JSON answer.
		code, ans := l.postSQL(t, "json", a.SQL)
		switch {
		case a.Refuse && code != 400:
			t.Errorf("HTTP %s: %d %.200s; want 400\n%s", a.Name, code, ans, a.SQL)
		case a.Refuse && strings.Contains(string(ans), l.data) && !strings.Contains(a.SQL, l.data):
			t.Errorf("HTTP %s: the refusal shows the server's data directory: %s", a.Name, ans)
		case !a.Refuse && (code != 200 || !strings.Contains(string(ans), "orgA")):
			t.Errorf("HTTP %s: %d %.300s; want orgA's rows", a.Name, code, ans)
		}
		if m := leaks(string(ans)); m != "" {
			t.Errorf("HTTP %s: the answer holds orgB's %q: %.300s", a.Name, m, ans)
		}

		// The command line, against the server and on the data directory.
		// The local command reads its own copy of the lake: the attack names
		// that copy's paths.
		for _, c := range []struct {
			name, sql string
			data      dataFlags
		}{{"spoor sql --server", a.SQL, remote}, {"spoor sql --data", strings.ReplaceAll(a.SQL, l.data, l.local), local}} {
			var out bytes.Buffer
			err := runSQL(ctx, sqlOptions{data: c.data, format: "csv"}, c.sql, &out)
			var u usageError
			switch {
			case a.Refuse && !errors.As(err, &u):
				t.Errorf("%s %s: %v, %.200q; want a usage error (exit 2)", c.name, a.Name, err, out.String())
			case !a.Refuse && (err != nil || !strings.Contains(out.String(), "orgA")):
				t.Errorf("%s %s: %v %.300q; want orgA's rows", c.name, a.Name, err, out.String())
			}
			if m := leaks(out.String()); m != "" {
				t.Errorf("%s %s: the answer holds orgB's %q", c.name, a.Name, m)
			}
		}
	}
	// Parquet answers go through COPY: the same gate.
	for _, a := range attacks[:8] {
		if code, ans := l.postSQL(t, "parquet", a.SQL); code != 400 || bytes.Contains(ans, []byte(gateMarker)) {
			t.Errorf("parquet %s: %d; want 400 and nothing of orgB", a.Name, code)
		}
	}
}

// postSQL sends a statement as orgA's analyst and returns the answer.
func (l gateLake) postSQL(t *testing.T, format, sql string) (int, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"sql": sql})
	req, _ := http.NewRequest("POST", l.url+"/api/v1/sql?format="+format, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+l.analystA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ans, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, ans
}
