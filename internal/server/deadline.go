package server

import (
	"net/http"
	"time"
)

// writeDeadlines gives every answer a write deadline that each write pushes
// idle ahead: a client that stops reading (its receive window full) has
// its answer cut after idle without progress, which ends the request's
// context, interrupts its query and frees its slot, while a slow client
// that keeps reading is served to the end. A server-wide WriteTimeout
// would instead cut long answers to clients that do read.
func writeDeadlines(idle time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pw := &progressWriter{ResponseWriter: w, rc: http.NewResponseController(w), idle: idle}
		pw.refresh()
		h.ServeHTTP(pw, r)
	})
}

type progressWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
	last time.Time
}

// refresh moves the deadline idle ahead; at most every idle/8, since each
// move costs a timer update.
func (p *progressWriter) refresh() {
	if now := time.Now(); now.Sub(p.last) >= p.idle/8 {
		p.rc.SetWriteDeadline(now.Add(p.idle))
		p.last = now
	}
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.refresh()
	return p.ResponseWriter.Write(b)
}

func (p *progressWriter) WriteHeader(code int) {
	p.refresh()
	p.ResponseWriter.WriteHeader(code)
}

// Flush and Unwrap keep streaming answers and http.ResponseController
// working through the wrapper.
func (p *progressWriter) Flush() {
	p.refresh()
	p.rc.Flush()
}

func (p *progressWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
