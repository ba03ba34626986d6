package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/server"
)

// spoor logins on the synthetic brute forces (SSH in raw auditd, RDP in
// Windows Security), from a local data directory and over a server: the
// sources that got in after failing say so.
func TestHuntLogins(t *testing.T) {
	files := []string{"../../internal/hunt/logins/testdata/bruteforce_audit.log", "../../internal/hunt/logins/testdata/bruteforce_security.json"}
	dir := t.TempDir()
	ingestInto(t, dir, files...)
	rowsOf := func(data dataFlags, host string) map[string]map[string]any {
		t.Helper()
		var out bytes.Buffer
		o := huntOptions{data: data, format: "ndjson"}
		o.req.Host = host
		if err := runHunt(context.Background(), "logins", o, &out); err != nil {
			t.Fatalf("logins: %v", err)
		}
		rows := map[string]map[string]any{}
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var r map[string]any
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("row %q: %v", l, err)
			}
			rows[r["src_ip"].(string)+" "+r["user"].(string)] = r
		}
		return rows
	}
	check := func(where string, rows map[string]map[string]any) {
		t.Helper()
		for k, after := range map[string]float64{"198.51.100.7 ubuntu": 8, "198.51.100.8 Administrator": 10} {
			if r := rows[k]; r == nil || r["succeeded_after_failures"] != after || r["external"] != true {
				t.Errorf("%s: %s = %v, want succeeded after %v failures, external", where, k, r, after)
			}
		}
		if r := rows["10.0.0.5 ubuntu"]; r == nil || r["succeeded_after_failures"] != nil || r["external"] != false {
			t.Errorf("%s: the clean internal logon: %v", where, r)
		}
	}
	local := rowsOf(dataFlags{Dir: dir}, "")
	check("local", local)
	if len(local) != 7 {
		t.Errorf("local: %d rows, want 7", len(local))
	}
	if only := rowsOf(dataFlags{Dir: dir}, "dc01.corp.example"); len(only) != 2 {
		t.Errorf("--host dc01: %d rows, want its 2", len(only))
	}
	remote, _ := serveInProcess(t, t.TempDir(), 0, server.Options{})
	var out bytes.Buffer
	if err := runIngest(context.Background(), ingestOptions{data: remote, format: "auto"}, files, &out, &out); err != nil {
		t.Fatalf("ingest over the server: %v\n%s", err, out.String())
	}
	check("over the server", rowsOf(remote, ""))
}
