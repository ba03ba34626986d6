// Package auth keeps API tokens: each belongs to one organization and has
// one role. Only a hash of a token is stored; the token itself is shown once,
// when it is created.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
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

// Store is the token file of a data directory. Several Stores, in one
// process or many (the server and `spoor token`), may use one file: writes
// hold a lock file beside it and re-read the file under that lock, and
// Verify re-reads the file within RecheckEvery of a change, so a token
// created or revoked by any of them takes effect on the others at once.
type Store struct {
	path string

	mu      sync.Mutex
	tokens  []Token
	byHash  map[string]int
	stamp   stamp            // of the file tokens were read from
	checked time.Time        // when the file was last stat'ed
	now     func() time.Time // time.Now; tests move it past RecheckEvery
}

// RecheckEvery bounds how long a Store trusts what it read: a Verify after
// that long stats the file and reloads it when it changed.
const RecheckEvery = 250 * time.Millisecond

// ErrNotFound is returned for an unknown token id.
var ErrNotFound = errors.New("no such token")

// Open reads the token file at path (absent: no tokens yet).
func Open(path string) (*Store, error) {
	tokens, st, err := readFile(path)
	if err != nil {
		return nil, err
	}
	s := &Store{path: path, now: time.Now}
	s.install(tokens, st, s.now())
	return s, nil
}

// install makes tokens, read from the file whose stamp is st, the Store's.
// s.mu is held (or s is not shared yet).
func (s *Store) install(tokens []Token, st stamp, now time.Time) {
	s.tokens, s.stamp, s.checked = tokens, st, now
	s.byHash = make(map[string]int, len(tokens))
	for i, t := range tokens {
		s.byHash[t.Hash] = i
	}
}

// refresh reloads the file when RecheckEvery has passed since the last
// look and the file changed. s.mu is held. A file that is unreadable for a
// while (out of descriptors, say) keeps the tokens last read; a file that
// reads but does not parse refuses every token until it is fixed, since
// keeping the old set could keep a revoked token alive.
func (s *Store) refresh() {
	now := s.now()
	if now.Sub(s.checked) < RecheckEvery {
		return
	}
	s.checked = now
	if st, err := statFile(s.path); err == nil && st == s.stamp {
		return
	}
	tokens, st, err := readFile(s.path)
	var bad *badFileError
	switch {
	case errors.As(err, &bad):
		s.install(nil, stamp{}, now)
	case err == nil:
		s.install(tokens, st, now)
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
	err := s.update(func(tokens []Token) ([]Token, error) { return append(tokens, t), nil })
	if err != nil {
		return "", Token{}, err
	}
	return secret, t, nil
}

// List returns the tokens (hashes included, secrets never) as the file
// holds them now.
func (s *Store) List() []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checked = time.Time{}
	s.refresh()
	return slices.Clone(s.tokens)
}

// Revoke disables a token by id.
func (s *Store) Revoke(id string) error {
	return s.update(func(tokens []Token) ([]Token, error) {
		for i := range tokens {
			if tokens[i].ID == id {
				tokens[i].Revoked = true
				return tokens, nil
			}
		}
		return nil, ErrNotFound
	})
}

// Verify returns the live token a secret belongs to.
func (s *Store) Verify(secret string) (Token, bool) {
	if secret == "" {
		return Token{}, false
	}
	h := hashOf(secret)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh()
	i, ok := s.byHash[h]
	if !ok || s.tokens[i].Revoked {
		return Token{}, false
	}
	return s.tokens[i], true
}
