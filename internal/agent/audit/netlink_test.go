package audit

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	libaudit "github.com/elastic/go-libaudit/v2"

	"github.com/spoor-dev/spoor/internal/agent/audit/audittest"

	"github.com/spoor-dev/spoor/internal/agent/source"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv("SPOOR_TEST_CONNECT"); addr != "" {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		c.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The kernel's own audit events of what the test does (it runs a marker
// binary and connects to a loopback port) come out of the netlink source,
// decoded; where the kernel refuses audit (no CAP_AUDIT_CONTROL, a
// container without audit) the test says so and skips.
func TestNetlinkSeesExecAndConnect(t *testing.T) {
	pid := os.Getpid()
	rules := []string{
		fmt.Sprintf("-a always,exit -F arch=b64 -S execve -F ppid=%d -k spoor_test", pid),
		fmt.Sprintf("-a always,exit -F arch=b64 -S connect -F ppid=%d -k spoor_test", pid),
	}
	before := ruleCount(t)
	n, err := OpenNetlink(NetlinkConfig{Host: "test-host", Rules: rules})
	if err != nil {
		t.Skipf("the kernel refuses audit netlink here (%v): run as root with CAP_AUDIT_CONTROL and CAP_AUDIT_READ", err)
	}
	t.Cleanup(func() { n.Close() }) // the rules go even if the test fails (a no-op after Run's)
	t.Logf("audit netlink open, multicast=%v", n.Multicast())
	var mu sync.Mutex
	var events []source.Event
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- n.Run(ctx, func(e source.Event) { e = flat(t, e); mu.Lock(); events = append(events, e); mu.Unlock() })
	}()
	marker := audittest.CopyExe(t, "/bin/true", t.TempDir(), fmt.Sprintf("spoor-marker-%d", time.Now().UnixNano()))
	if err := exec.Command(marker, "--spoor-test").Run(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	// A process started before audit was enabled is never audited (the
	// kernel gives it no audit context): a new one connects.
	exe, _ := os.Executable()
	connect := exec.Command(exe, "-test.run", "^$")
	connect.Env = append(os.Environ(), "SPOOR_TEST_CONNECT="+ln.Addr().String())
	if out, err := connect.CombinedOutput(); err != nil {
		t.Fatalf("connect: %v %s", err, out)
	}
	var sawExec, sawConnect bool
	for i := 0; !(sawExec && sawConnect); i++ {
		if i > 1000 {
			for _, e := range events {
				t.Logf("%v %v %v %v %s", e["syscall"], e["exe"], e["dst_ip"], e["dst_port"], e["records"])
			}
			t.Fatalf("after 10s: exec seen %v, connect seen %v, in %d events", sawExec, sawConnect, len(events))
		}
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		for _, e := range events {
			if e["exe"] == marker && e["syscall"] == "execve" {
				sawExec = true
			}
			if e["syscall"] == "connect" && e["dst_port"] == int64(port) && e["dst_ip"] == "127.0.0.1" {
				sawConnect = true
			}
		}
		mu.Unlock()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("stop: %v", err)
	}
	if l := n.Losses(); l["backlog"] != 0 {
		t.Errorf("losses %v", l)
	}
	if after := ruleCount(t); after != before {
		t.Fatalf("%d audit rules after the source stopped, %d before: its rules were left behind", after, before)
	}
}

// ruleCount is how many audit rules the kernel holds, -1 where it will not say.
func ruleCount(t *testing.T) int {
	c, err := libaudit.NewAuditClient(nil)
	if err != nil {
		return -1
	}
	defer c.Close()
	rules, err := c.GetRules()
	if err != nil {
		return -1
	}
	return len(rules)
}

func TestParseRules(t *testing.T) {
	wfs, err := ParseRules(append([]string{"# comment", "", "-D"}, DefaultRules...))
	if err != nil {
		t.Fatal(err)
	}
	if len(wfs) != len(DefaultRules) {
		t.Fatalf("%d rules from %d lines", len(wfs), len(DefaultRules))
	}
	if _, err := ParseRules([]string{"-a always,exit -S nosuchcall"}); err == nil {
		t.Fatal("a rule naming no syscall was taken")
	}
}
