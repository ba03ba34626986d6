// Package testenv says what a test does when the shared datasets or seeds
// it reads are absent: a developer's partial checkout skips it, CI (CI=true)
// fails it, since a skip there would hide a suite that never ran.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// Missing skips tb with the message, or fails it when CI=true.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s (CI=true: the shared datasets must be present)", msg)
	}
	tb.Skip(msg)
}
