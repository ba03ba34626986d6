package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/agent/audit/audittest"
)

// The agent on the kernel's audit socket (as root with the audit
// capabilities, as in CI): a marker binary's execution and a connection to
// a loopback port, both done by the test, reach the server as audit events.
// Where the kernel refuses the audit socket the agent says so and the test
// skips.
func TestAgentNetlinkEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	r := newFleetRig(t)
	r.serve()
	bin := t.TempDir()
	marker := audittest.CopyExe(t, "/bin/true", bin, fmt.Sprintf("spoor-marker-%d", os.Getpid()))
	dialer := audittest.CopyExe(t, "/bin/bash", bin, fmt.Sprintf("spoor-dialer-%d", os.Getpid()))
	rules := filepath.Join(r.dir, "audit.rules")
	os.WriteFile(rules, []byte(fmt.Sprintf("# only what the test does\n"+
		"-a always,exit -F arch=b64 -S execve -F ppid=%d -k spoor_test\n"+
		"-a always,exit -F arch=b64 -S connect -F exe=%s -k spoor_test\n", os.Getpid(), dialer)), 0o600)
	state := filepath.Join(r.dir, "agent-nl")
	r.start("agent netlink", "agent", "--server", "http://"+r.addr, "--token", r.ingest, "--state", state,
		"--no-default-rules", "--audit-rules", rules, "--batch-age", "20ms", "--max-backoff", "100ms", "--no-imds", "--no-fim")
	var opened bool
	r.waitFor("the agent to choose its audit source", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		log := r.logs["agent netlink"].String()
		opened = strings.Contains(log, "reading the kernel's audit socket")
		return opened || strings.Contains(log, "audit socket unavailable")
	})
	if !opened {
		r.mu.Lock()
		log := r.logs["agent netlink"].String()
		r.mu.Unlock()
		t.Skipf("the kernel refuses the audit socket here; the agent fell back to auditd's log:\n%s", log)
	}
	id := agentIDOf(t, state)

	if err := exec.Command(marker).Run(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	var out bytes.Buffer
	dial := exec.Command(dialer, "-c", fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d", port))
	dial.Stdout, dial.Stderr = &out, &out
	if err := dial.Run(); err != nil {
		t.Fatalf("connect: %v %s", err, out.String())
	}
	r.waitFor("the marker's execution on the server", func() bool {
		n, _ := r.counts(id, fmt.Sprintf("and event_type = 'audit' and syscall = 'execve' and exe = '%s'", marker))
		return n > 0
	})
	r.waitFor("the connection on the server", func() bool {
		n, _ := r.counts(id, fmt.Sprintf("and syscall = 'connect' and dst_ip = '127.0.0.1' and dst_port = %d and exe = '%s'", port, dialer))
		return n > 0
	})
}
