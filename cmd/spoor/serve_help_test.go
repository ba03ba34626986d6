package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestServeHelpNamesTheTokenlessCall holds serve's help to what the server
// does: every call needs a token except GET /healthz, which load balancers
// probe without one.
func TestServeHelpNamesTheTokenlessCall(t *testing.T) {
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetArgs([]string{"serve", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	help := strings.Join(strings.Fields(out.String()), " ")
	if strings.Contains(help, "Every call needs a token") {
		t.Errorf("serve --help says every call needs a token; GET /healthz needs none:\n%s", out.String())
	}
	if !strings.Contains(help, "but GET /healthz needs a token") {
		t.Errorf("serve --help does not say that GET /healthz needs no token:\n%s", out.String())
	}
}
