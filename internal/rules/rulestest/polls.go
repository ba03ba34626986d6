// Package rulestest steps a rules watch by hand, so that a test sees the
// effect of each look at the directory without waiting on a clock.
package rulestest

import (
	"context"
	"testing"
	"time"
)

// Polls is a watch's pace (a rules.Polls, as p.Next) that the test drives:
// the watch looks only when Step says.
type Polls struct {
	t    testing.TB
	idle chan struct{} // the watch waits for its next look
	due  chan struct{} // the test lets one look run
}

// New returns a pace that fails t when the watch does not answer.
func New(t testing.TB) *Polls {
	return &Polls{t: t, idle: make(chan struct{}), due: make(chan struct{})}
}

// Next is the pace to give the watch.
func (p *Polls) Next(ctx context.Context) bool {
	select {
	case p.idle <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	select {
	case <-p.due:
		return true
	case <-ctx.Done():
		return false
	}
}

// stuck bounds a wait on the watch's goroutine: far beyond any look, so
// only a watch that stopped or hangs reaches it.
const stuck = time.Minute

// Ready returns once the watch has taken its first signature and waits to
// look: changes made after Ready are changes to it.
func (p *Polls) Ready() {
	p.t.Helper()
	select {
	case <-p.idle:
	case <-time.After(stuck):
		p.t.Fatalf("the watch did not start within %v", stuck)
	}
}

// Step lets the watch look once and returns when that look, and the
// onChange it called, if any, have ended.
func (p *Polls) Step() {
	p.t.Helper()
	select {
	case p.due <- struct{}{}:
	case <-time.After(stuck):
		p.t.Fatalf("the watch stopped waiting for looks")
	}
	select {
	case <-p.idle:
	case <-time.After(stuck):
		p.t.Fatalf("a look of the watch did not end within %v", stuck)
	}
}
