package main

import (
	"bytes"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// SIGTERM stops a long spoor gen (a fleet of 10,000 hosts takes seconds
// to build before the first event) at once, with a runtime error.
func TestGenStopsOnSIGTERM(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(exe, "gen", "--hosts", "10000", "--orgs", "1", "--scenarios", "none", "--days", "1", "--out", os.DevNull)
	c.Env = append(os.Environ(), "SPOOR_TEST_AS_MAIN=1")
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	time.Sleep(500 * time.Millisecond) // let it get into building the fleet
	sent := time.Now()
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Logf("stopped %s after SIGTERM: %v %s", time.Since(sent).Round(time.Millisecond), err, bytes.TrimSpace(out.Bytes()))
		if c.ProcessState.ExitCode() != 1 {
			t.Fatalf("exit code %d after SIGTERM, want 1: %s", c.ProcessState.ExitCode(), out.Bytes())
		}
	case <-time.After(5 * time.Second):
		c.Process.Kill()
		t.Fatalf("spoor gen still running 5 s after SIGTERM")
	}
}
