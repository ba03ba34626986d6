package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// serveProcess runs `spoor serve --data data` as a process of its own (the
// test binary doubles as spoor) on a free loopback port, waits until it
// answers, and stops it with SIGTERM when the test ends. It returns the
// server's URL.
func serveProcess(t *testing.T, data string, args ...string) string {
	t.Helper()
	return startServe(t, data, args...).url
}

// served is a running `spoor serve` process.
type served struct {
	url string
	cmd *exec.Cmd
	log *bytes.Buffer // its stdout and stderr; read it only after stop
}

// stop sends SIGTERM and waits for the process to end; it returns the exit
// code and what the process wrote.
func (s *served) stop(t *testing.T) (int, string) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s.cmd.Wait()
	return s.cmd.ProcessState.ExitCode(), s.log.String()
}

// startServe is serveProcess, returning the process to stop and its log.
func startServe(t *testing.T, data string, args ...string) *served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	exe, _ := os.Executable()
	srv := exec.Command(exe, append([]string{"serve", "--data", data, "--listen", addr}, args...)...)
	srv.Env = append(os.Environ(), "SPOOR_TEST_AS_MAIN=1")
	var log bytes.Buffer
	srv.Stdout, srv.Stderr = &log, &log
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if srv.ProcessState == nil {
			srv.Process.Signal(syscall.SIGTERM)
			srv.Wait()
		}
	})
	for i := 0; ; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return &served{url: "http://" + addr, cmd: srv, log: &log}
		}
		if i > 500 {
			t.Fatalf("server did not come up:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
