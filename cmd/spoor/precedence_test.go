package main

import (
	"errors"
	"testing"

	"github.com/spf13/cobra"
)

// An explicit --data beats $SPOOR_SERVER; naming both --data and --server
// is a usage error (exit 2); $SPOOR_SERVER alone still reaches the server.
func TestDataFlagBeatsServerEnv(t *testing.T) {
	t.Setenv("SPOOR_SERVER", "http://127.0.0.1:1")
	t.Setenv("SPOOR_TOKEN", "t")
	for _, c := range []struct {
		args       []string
		wantRemote bool
		wantUsage  bool
	}{
		{[]string{"--data", "x"}, false, false},
		{nil, true, false},
		{[]string{"--data", "x", "--server", "http://127.0.0.1:2"}, false, true},
		{[]string{"--server", "http://127.0.0.1:2"}, true, false},
	} {
		var f dataFlags
		cmd := &cobra.Command{Use: "x"}
		f.add(cmd)
		if err := cmd.ParseFlags(c.args); err != nil {
			t.Fatal(err)
		}
		cl, err := f.client()
		var u usageError
		switch {
		case c.wantUsage && !errors.As(err, &u):
			t.Errorf("%v: %v, want a usage error", c.args, err)
		case !c.wantUsage && err != nil:
			t.Errorf("%v: %v", c.args, err)
		case !c.wantUsage && (cl != nil) != c.wantRemote:
			t.Errorf("%v: remote %v, want %v", c.args, cl != nil, c.wantRemote)
		}
	}
}
