package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), secret) {
		t.Errorf("the token file holds the secret")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", st.Mode().Perm())
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
	s3, _ := Open(path)
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
