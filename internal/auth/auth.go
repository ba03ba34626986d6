// Package auth keeps API tokens: each belongs to one organization and has
// one role. Only a hash of a token is stored; the token itself is shown once,
// when it is created.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Role says what a token may do.
type Role string

const (
	Admin   Role = "admin"   // everything an analyst may, and write events, put and delete rules
	Analyst Role = "analyst" // read events, alerts and rules, dismiss alerts; no writes of events, rules or tokens
	Ingest  Role = "ingest"  // write events only
)

// Roles lists the roles.
var Roles = []Role{Admin, Analyst, Ingest}

// CanRead reports whether the role may read events, alerts and rules, and
// dismiss alerts: triage is an analyst's job (as in Threat Stack).
func (r Role) CanRead() bool { return r == Admin || r == Analyst }

// CanWrite reports whether the role may write events.
func (r Role) CanWrite() bool { return r == Admin || r == Ingest }

// Token is a stored token: never the secret, only its hash.
type Token struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Org     string    `json:"org"`
	Role    Role      `json:"role"`
	Hash    string    `json:"hash"` // hex SHA-256 of the secret
	Created time.Time `json:"created"`
	Revoked bool      `json:"revoked,omitempty"`
}

// Store is the token file of a data directory.
type Store struct {
	path   string
	mu     sync.Mutex
	tokens []Token
	byHash map[string]int
}

// ErrNotFound is returned for an unknown token id.
var ErrNotFound = errors.New("no such token")

// Open reads the token file at path (absent: no tokens yet).
func Open(path string) (*Store, error) {
	s := &Store{path: path, byHash: map[string]int{}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read tokens: %w", err)
	default:
		if err := json.Unmarshal(b, &s.tokens); err != nil {
			return nil, fmt.Errorf("read tokens %s: %w", path, err)
		}
	}
	s.index()
	return s, nil
}

func (s *Store) index() {
	s.byHash = make(map[string]int, len(s.tokens))
	for i, t := range s.tokens {
		s.byHash[t.Hash] = i
	}
}

func hashOf(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Create makes a token and returns its secret, which is not kept.
func (s *Store) Create(org string, role Role, name string) (string, Token, error) {
	if strings.TrimSpace(org) == "" {
		return "", Token{}, errors.New("a token needs an organization")
	}
	if !slices.Contains(Roles, role) {
		return "", Token{}, fmt.Errorf("unknown role %q (admin, analyst or ingest)", role)
	}
	var raw [20]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Token{}, err
	}
	secret := "spoor_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw[:]))
	h := hashOf(secret)
	t := Token{ID: h[:12], Name: name, Org: org, Role: role, Hash: h, Created: time.Now().UTC()}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = append(s.tokens, t)
	s.index()
	if err := s.save(); err != nil {
		s.tokens = s.tokens[:len(s.tokens)-1]
		s.index()
		return "", Token{}, err
	}
	return secret, t, nil
}

// List returns the tokens (hashes included, secrets never).
func (s *Store) List() []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tokens)
}

// Revoke disables a token by id.
func (s *Store) Revoke(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.tokens {
		if s.tokens[i].ID == id {
			s.tokens[i].Revoked = true
			return s.save()
		}
	}
	return ErrNotFound
}

// Verify returns the live token a secret belongs to.
func (s *Store) Verify(secret string) (Token, bool) {
	if secret == "" {
		return Token{}, false
	}
	h := hashOf(secret)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byHash[h]
	if !ok || s.tokens[i].Revoked {
		return Token{}, false
	}
	return s.tokens[i], true
}

// save writes the file atomically, readable by its owner only. s.mu is held.
func (s *Store) save() error {
	b, err := json.MarshalIndent(s.tokens, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write tokens: %w", err)
	}
	return os.Rename(tmp, s.path)
}
