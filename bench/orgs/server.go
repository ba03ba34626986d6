package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// server is a child process serving HTTP on loopback.
type server struct {
	*proc
	base    string // http://127.0.0.1:PORT
	stopped bool
}

// startServer starts name with args(addr) on a free loopback address and
// waits for GET health to answer 200.
func startServer(ctx context.Context, name, health string, args func(addr string) []string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := startProc(ctx, io.Discard, name, args(addr)...)
	if err != nil {
		return nil, err
	}
	s := &server{proc: p, base: "http://" + addr}
	if err := waitHTTP(ctx, s.base+health); err != nil {
		s.close()
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	return s, nil
}

// stop ends the server (SIGTERM) and returns what it cost.
func (s *server) stop() (measured, error) {
	s.stopped = true
	return s.proc.stop()
}

// close stops the server unless stopped already, for defers.
func (s *server) close() {
	if !s.stopped {
		s.stop()
	}
}

// freeAddr picks a free port on loopback.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHTTP waits up to a minute for url to answer 200.
func waitHTTP(ctx context.Context, url string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within a minute (last: %v)", url, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
