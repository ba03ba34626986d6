package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// commandName is how to run this binary again from cwd, for the commands
// the demo suggests: as typed when it was found on PATH ("spoor"); a path
// typed relative to cwd, cleaned ("bin/spoor", "./spoor"); an absolute
// path under cwd made relative; else the name alone when onPath (what
// PATH resolves the name to, absolute, "" when nothing) is this binary, or
// when it is a `go run` build that is gone once it exits; else the
// absolute path.
func commandName(arg0, cwd, onPath string) string {
	if arg0 == "" {
		return "spoor"
	}
	if !strings.ContainsRune(arg0, filepath.Separator) {
		return arg0
	}
	shell := func(rel string) string {
		if !strings.ContainsRune(rel, filepath.Separator) {
			return "." + string(filepath.Separator) + rel // not a PATH lookup
		}
		return rel
	}
	if !filepath.IsAbs(arg0) {
		return shell(filepath.Clean(arg0))
	}
	abs := filepath.Clean(arg0)
	if rel, err := filepath.Rel(cwd, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return shell(rel)
	}
	base := filepath.Base(abs)
	if abs == onPath || strings.Contains(abs, string(filepath.Separator)+"go-build") {
		return base
	}
	return abs
}

// invokedAs is commandName for this process.
func invokedAs() string {
	cwd, _ := os.Getwd()
	arg0 := os.Args[0]
	onPath, err := exec.LookPath(filepath.Base(arg0))
	if err == nil {
		onPath, _ = filepath.Abs(onPath)
	}
	return commandName(arg0, cwd, onPath)
}

// demoNextSteps is what the demo prints last, once it serves: where, the
// console's URL beside an analyst token, and commands to try, naming the
// binary as bin.
func demoNextSteps(bin, url, token, logFile string) string {
	return fmt.Sprintf(`
Serving the demo fleet on %[2]s (Ctrl-C stops it; the server logs to %[4]s).
Open the console and sign in with the analyst token:

  console: %[2]s/
  token:   %[3]s

or use the token from a terminal:

  export SPOOR_SERVER=%[2]s SPOOR_TOKEN=%[3]s
  %[1]s search 'event_type = "cloudtrail" AND userType = "AssumedRole"'
  %[1]s alerts list
  curl -s -H "Authorization: Bearer $SPOOR_TOKEN" "$SPOOR_SERVER/api/v1/sql?format=csv&sql=SELECT%%20count(*)%%20FROM%%20events"

`, bin, url, token, logFile)
}
