package auth

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCreateVerifyRevokePersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	secret, tok, err := s.Create("org1", Analyst, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := s.Verify(secret); !ok || got.Org != "org1" || got.Role != Analyst {
		t.Fatalf("verify: %+v %v", got, ok)
	}
	if _, ok := s.Verify(secret + "x"); ok {
		t.Errorf("a wrong secret verified")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret) {
		t.Errorf("the token file holds the secret")
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("token file: %v, want mode 0600", err)
		if err == nil {
			t.Errorf("token file mode %v, want 0600", st.Mode().Perm())
		}
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s2.Verify(secret); !ok {
		t.Errorf("token lost on reopen")
	}
	if err := s2.Revoke(tok.ID); err != nil {
		t.Fatal(err)
	}
	s3 := mustOpen(t, path)
	if _, ok := s3.Verify(secret); ok {
		t.Errorf("revoked token still verifies after reopen")
	}
	if _, _, err := s.Create("org1", "root", "x"); err == nil {
		t.Errorf("unknown role accepted")
	}
	if _, _, err := s.Create("", Admin, "x"); err == nil {
		t.Errorf("token without organization accepted")
	}
}

func TestRoles(t *testing.T) {
	if !Admin.CanRead() || !Admin.CanWrite() || !Analyst.CanRead() || Analyst.CanWrite() || Ingest.CanRead() || !Ingest.CanWrite() {
		t.Errorf("role permissions wrong")
	}
}

// Many `spoor token create` at once, each with its own Store on the same
// file as separate processes would, lose none of their tokens.
func TestConcurrentCreateLosesNone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	const n = 24
	secrets := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(path)
			if err != nil {
				errs[i] = err
				return
			}
			secrets[i], _, errs[i] = s.Create("org1", Ingest, fmt.Sprint("agent-", i))
		}()
	}
	wg.Wait()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.List()); got != n {
		t.Errorf("%d tokens in the file after %d concurrent creates", got, n)
	}
	for i, secret := range secrets {
		if errs[i] != nil {
			t.Errorf("create %d: %v", i, errs[i])
		} else if _, ok := s.Verify(secret); !ok {
			t.Errorf("token %d lost", i)
		}
	}
}

// A Store sees another Store's changes to the file without reopening, at
// its first Verify once RecheckEvery has passed (on its own clock, which
// the test moves).
func TestVerifySeesOtherWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	server := mustOpen(t, path)
	now := time.Now()
	server.now = func() time.Time { return now }
	// sees checks that the server verifies secret as want at its first look
	// after RecheckEvery (before, it may still trust what it read).
	sees := func(secret string, want bool) {
		t.Helper()
		now = now.Add(RecheckEvery)
		if _, ok := server.Verify(secret); ok != want {
			t.Fatalf("Verify is %v at the first look after RecheckEvery, want %v", ok, want)
		}
	}
	cli := mustOpen(t, path)
	secret, tok, err := cli.Create("org1", Analyst, "late")
	if err != nil {
		t.Fatal(err)
	}
	sees(secret, true)
	if err := cli.Revoke(tok.ID); err != nil {
		t.Fatal(err)
	}
	sees(secret, false)
	// The server's own Store, writing after the other, keeps the other's
	// revoke: it re-reads the file under the lock.
	if _, _, err := server.Create("org1", Admin, "x"); err != nil {
		t.Fatal(err)
	}
	again := mustOpen(t, path)
	if _, ok := again.Verify(secret); ok {
		t.Errorf("a write by a Store that had not seen the revoke undid it")
	}
	if len(again.List()) != 2 {
		t.Errorf("%d tokens, want 2", len(again.List()))
	}
}

func mustOpen(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
