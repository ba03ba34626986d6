package web

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
)

// handler is a page of a signed-in session.
type handler func(w http.ResponseWriter, r *http.Request, s *session)

// page admits requests of a live session whose token is still valid for
// reading; others go to the sign-in page, and come back after it.
func (c *Console) page(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.session(r, true)
		if !ok {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		w.Header().Set("Cache-Control", "no-store") // pages hold an organization's data
		h(w, r, s)
	}
}

// post is page for a change: the request must carry the session's CSRF
// token and come from the console's own origin.
func (c *Console) post(h handler) http.HandlerFunc {
	return c.page(func(w http.ResponseWriter, r *http.Request, s *session) {
		if !sameOrigin(r) {
			c.fail(w, r, http.StatusForbidden, "refused: the request came from another site")
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) != 1 {
			c.fail(w, r, http.StatusForbidden, "refused: the form's CSRF token is missing or stale (reload the page and try again)")
			return
		}
		h(w, r, s)
	})
}

// session returns the request's session while its token verifies for the
// same organization with a role that reads; else it ends the session.
// touch marks it used: a stream's checks do not, so an open page does not
// keep a session alive past its idle timeout.
func (c *Console) session(r *http.Request, touch bool) (*session, bool) {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil, false
	}
	s, ok := c.sessions.get(ck.Value, touch)
	if !ok {
		return nil, false
	}
	org, role, ok := c.opts.Verify(s.token)
	if !ok || org != s.org || !canSignIn(role) {
		c.sessions.drop(s.id)
		return nil, false
	}
	s.role = role
	return s, true
}

func canSignIn(role string) bool { return role == "admin" || role == "analyst" }

// sameOrigin says whether a state change comes from the console's own
// pages: its Origin (or, lacking one, its Referer) names this host. A
// request with neither comes from no page (curl, say), which the CSRF
// token still guards.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" || src == "null" {
		src = r.Header.Get("Referer")
		if src == "" {
			return r.Header.Get("Origin") == ""
		}
	}
	u, err := url.Parse(src)
	return err == nil && u.Host == r.Host
}

type loginData struct {
	Next  string
	Error string
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.session(r, true); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.render(w, r, nil, http.StatusOK, "login", "Sign in", loginData{Next: r.URL.Query().Get("next")})
}

// login signs in with a token: an admin's or an analyst's. An ingest
// token is refused: it may write events but read nothing.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	next := r.PostFormValue("next")
	if !sameOrigin(r) {
		c.render(w, r, nil, http.StatusForbidden, "login", "Sign in", loginData{Next: next, Error: "refused: the sign-in came from another site"})
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	org, role, ok := c.opts.Verify(token)
	switch {
	case token == "":
		c.render(w, r, nil, http.StatusBadRequest, "login", "Sign in", loginData{Next: next, Error: "paste a token to sign in"})
		return
	case !ok:
		c.render(w, r, nil, http.StatusUnauthorized, "login", "Sign in", loginData{Next: next, Error: "that token is not valid: mistyped, or revoked"})
		return
	case !canSignIn(role):
		c.render(w, r, nil, http.StatusForbidden, "login", "Sign in", loginData{Next: next,
			Error: "an " + role + " token cannot sign in: it may only send events; use an admin or analyst token (spoor token create --role analyst)"})
		return
	}
	s := c.sessions.create(token, org, role)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.id, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(c.opts.MaxAge.Seconds())})
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.drop(s.id)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext is where to go after sign-in: a path of this console, never
// another site (//evil.example or /\evil.example).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/login") {
		return "/events"
	}
	return next
}
