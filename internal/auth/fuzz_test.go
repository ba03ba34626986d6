package auth

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzTokenFile: a token file of any content opens as an error or as
// tokens, never a panic; a broken file admits no token, and a parsed one
// admits only secrets whose hash it holds.
func FuzzTokenFile(f *testing.F) {
	f.Add([]byte(`[{"id":"a","org":"o","role":"admin","hash":"` + hashOf("spoor_x") + `"}]`))
	f.Add([]byte(`[{"id":"a","org":"o","role":"admin","hash":"` + hashOf("spoor_x") + `","revoked":true}]`))
	f.Add([]byte(`{"not":"a list"}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "tokens.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path)
		if err != nil {
			return
		}
		tok, ok := s.Verify("spoor_x")
		if ok && (tok.Hash != hashOf("spoor_x") || tok.Revoked) {
			t.Fatalf("admitted %+v for a secret it does not hash to", tok)
		}
		if _, ok := s.Verify("spoor_not_in_the_file"); ok {
			t.Fatal("admitted a secret the file does not hold")
		}
	})
}
