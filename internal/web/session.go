package web

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// cookieName is the session cookie's name.
const cookieName = "spoor_session"

// session is one signed-in browser. It holds the token itself, in memory
// only, because every page calls the API with it.
type session struct {
	id      string // the cookie's value: 256 random bits
	token   string
	org     string
	role    string
	csrf    string // the hidden field of every POST form
	created time.Time
	seen    time.Time // last request
}

// sessions are the signed-in browsers, in memory: a restart signs
// everyone out, which is the safe direction.
type sessions struct {
	now         func() time.Time
	idle, maxAt time.Duration

	mu sync.Mutex
	m  map[string]*session
}

func newSessions(now func() time.Time, idle, maxAge time.Duration) *sessions {
	return &sessions{now: now, idle: idle, maxAt: maxAge, m: map[string]*session{}}
}

// randomID returns 256 random bits, URL-safe.
func randomID() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand's contract since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session for a verified token.
func (s *sessions) create(token, org, role string) *session {
	now := s.now()
	ss := &session{id: randomID(), token: token, org: org, role: role, csrf: randomID(), created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Sign-ins are rare: drop the expired sessions here, so the map
	// holds only live ones without a sweeper goroutine.
	for id, old := range s.m {
		if s.expired(old, now) {
			delete(s.m, id)
		}
	}
	s.m[ss.id] = ss
	return ss
}

// get returns the live session of id and, when touch, marks it used (a
// request of the user's, not a stream's); an expired one is dropped.
func (s *sessions) get(id string, touch bool) (*session, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[id]
	if !ok {
		return nil, false
	}
	if s.expired(ss, now) {
		delete(s.m, id)
		return nil, false
	}
	if touch {
		ss.seen = now
	}
	return ss, true
}

func (s *sessions) expired(ss *session, now time.Time) bool {
	return now.Sub(ss.seen) > s.idle || now.Sub(ss.created) > s.maxAt
}

// drop ends a session (sign-out, or its token revoked).
func (s *sessions) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}
