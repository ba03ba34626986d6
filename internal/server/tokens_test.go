package server

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/auth"
)

// A token created or revoked by another Store on the same file, as
// `spoor token create|revoke` does from another process, takes effect on
// the running server within a second, with no restart.
func TestTokenCreateRevokeLive(t *testing.T) {
	f := start(t, Options{})
	cli, err := auth.Open(filepath.Join(f.dir, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	secret, made, err := cli.Create("orgA", auth.Analyst, "made while serving")
	if err != nil {
		t.Fatal(err)
	}
	took := waitStatus(t, f.url+"/readyz", secret, 200)
	t.Logf("new token admitted after %v", took)

	if err := cli.Revoke(made.ID); err != nil {
		t.Fatal(err)
	}
	took = waitStatus(t, f.url+"/readyz", secret, 401)
	t.Logf("revoked token refused after %v", took)

	// A token the server knew since its start is revoked the same way.
	if code, _ := call(t, "GET", f.url+"/readyz", f.analystA, nil); code != 200 {
		t.Fatalf("fixture token: %d", code)
	}
	if err := cli.Revoke(tokenID(f.analystA)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, f.url+"/readyz", f.analystA, 401)
	// The other tokens are untouched.
	if code, _ := call(t, "GET", f.url+"/readyz", f.analystB, nil); code != 200 {
		t.Errorf("another token after a revoke: %d", code)
	}
}

// tokenID is the id auth gives the token secret (its hash's first 12 hex).
func tokenID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])[:12]
}

// waitStatus polls url with token until it answers want, failing after a
// second; it returns how long that took.
func waitStatus(t *testing.T, url, token string, want int) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(time.Second)
	for {
		code, body := call(t, "GET", url, token, nil)
		if code == want {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: still %d %s after 1s, want %d", url, code, body, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
