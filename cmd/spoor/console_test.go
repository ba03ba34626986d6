package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// `spoor serve` serves the console at / beside the API.
func TestServeConsole(t *testing.T) {
	url := serveProcess(t, t.TempDir())
	resp, err := http.Get(url + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `<form method="post" action="/login">`) || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("GET /login: %d %v\n%s", resp.StatusCode, resp.Header, b)
	}
	resp, err = http.Get(url + "/api/v1/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("an unknown API path under the console: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
