package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
)

// The seed-000 investigation with the hunting commands on the generated
// fleet: diff finds the attack's executables on the compromised host, the
// sweep finds exactly the attacked hosts, connections show the download.
func TestSeed000WithHuntCommands(t *testing.T) {
	f := testFleet(t)
	run := func(name string, o huntOptions) [][]string {
		t.Helper()
		o.data = dataFlags{Dir: f.dir}
		o.format = "csv"
		var out bytes.Buffer
		if err := runHunt(context.Background(), name, o, &out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rec, err := csv.NewReader(&out).ReadAll()
		if err != nil || len(rec) == 0 {
			t.Fatalf("%s: csv %v", name, err)
		}
		return rec
	}
	host := "b0f6bdb2-9904-11e9-b036-25972ec55a45"
	var o huntOptions
	o.req.Host, o.req.Baseline, o.req.Window, o.req.Categories = host, "2020-02-05..2020-02-14", "2020-02-14..2020-02-17", []string{"executable"}
	var exes []string
	for _, r := range run("diff", o)[1:] {
		exes = append(exes, r[1])
	}
	for _, want := range []string{"/tmp/nmap", "/tmp/sliver", "/usr/bin/wget", "/usr/bin/scp"} {
		if !slices.Contains(exes, want) {
			t.Errorf("diff lacks %s: %v", want, exes)
		}
	}
	attacked := map[string]bool{}
	for _, l := range f.labels {
		if l.Scenario == "seed000" {
			attacked[l.AgentID] = true
		}
	}
	o = huntOptions{}
	o.req.IoCs = []string{"nmap", "sliver"}
	swept := map[string]bool{}
	for _, r := range run("sweep", o)[1:] {
		swept[r[1]] = true
	}
	if len(swept) != len(attacked) || len(attacked) != 3 {
		t.Errorf("sweep found hosts %v, the labels name %v", swept, attacked)
	}
	for h := range swept {
		if !attacked[h] {
			t.Errorf("sweep found %s, not attacked", h)
		}
	}
	o = huntOptions{}
	o.req.Host, o.req.Since, o.req.Until = host, "2020-02-14", "2020-02-17"
	conns := run("connections", o)
	if !strings.Contains(conns[0][0], "dst_ip") || len(conns) < 2 {
		t.Errorf("connections: %v", conns)
	}
	// A bad request is the user's mistake: exit 2, not a crash.
	var out bytes.Buffer
	err := runHunt(context.Background(), "diff", huntOptions{data: dataFlags{Dir: f.dir}, format: "table"}, &out)
	if _, ok := err.(usageError); !ok {
		t.Errorf("diff without --host: %T %v", err, err)
	}
}
