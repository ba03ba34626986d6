package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/agent"
	"github.com/spoor-dev/spoor/internal/atomicfile"
)

// A repeatable flag takes a YAML list in --config; a flag on the command
// line still wins.
func TestAgentConfigTakesLists(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "agent.yml")
	os.WriteFile(conf, []byte("fim: [/etc, /srv/app]\nspool-size: 2MiB\nno-imds: true\nbatch-events: 10\n"), 0o600)
	cmd := newAgentCmd()
	if err := cmd.ParseFlags([]string{"--batch-events", "20"}); err != nil {
		t.Fatal(err)
	}
	if err := applyConfig(cmd.Flags(), conf); err != nil {
		t.Fatal(err)
	}
	fim, _ := cmd.Flags().GetStringArray("fim")
	size, _ := cmd.Flags().GetString("spool-size")
	noIMDS, _ := cmd.Flags().GetBool("no-imds")
	batch, _ := cmd.Flags().GetInt("batch-events")
	if !slices.Equal(fim, []string{"/etc", "/srv/app"}) || size != "2MiB" || !noIMDS || batch != 20 {
		t.Fatalf("fim %q, spool-size %q, no-imds %v, batch-events %d", fim, size, noIMDS, batch)
	}
}

func TestAgentUsageErrors(t *testing.T) {
	for _, o := range []agentOptions{
		{},                                  // nowhere to send
		{server: "http://127.0.0.1:1"},      // no token
		{out: "x", server: "http://h:1"},    // two destinations
		{out: "x", cert: "c"},               // a certificate without its key
		{out: "x", spoolSize: "12 parsecs"}, // not a size
	} {
		o.state = t.TempDir()
		if o.spoolSize == "" {
			o.spoolSize = "1GiB"
		}
		err := runAgent(context.Background(), o, &bytes.Buffer{})
		var u usageError
		if !errors.As(err, &u) {
			t.Errorf("%+v: %v, want a usage error", o, err)
		}
	}
}

func TestAgentStatusPrintsLosses(t *testing.T) {
	state := t.TempDir()
	st := agent.Status{AgentID: "0b5c3f5e-1111-4222-8333-444455556666", Hostname: "web-1", SpoolEvents: 12, SpoolBytes: 4096,
		LagMS: 1500, Losses: map[string]int64{"spool_dropped": 7, "kernel_lost": 0}, LostTotal: 7}
	b, _ := json.Marshal(st)
	if _, err := atomicfile.Write(filepath.Join(state, agent.StatusFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runAgentStatus(state, "table", &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"web-1", "12 events, 4096 bytes", "1.5s", "stopped", "spool dropped 7", "lost         7"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "kernel lost") {
		t.Errorf("a zero loss is printed:\n%s", out.String())
	}
	if err := runAgentStatus(t.TempDir(), "table", &out); err == nil || !strings.Contains(err.Error(), "no agent status") {
		t.Errorf("missing status file: %v", err)
	}
}
