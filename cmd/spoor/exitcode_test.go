package main

import "testing"

// Bad usage exits 2 everywhere: an unknown command, missing or extra
// arguments, an unknown flag, an unknown format; every command is tried.
func TestBadUsageExits2(t *testing.T) {
	cases := [][]string{
		{"nosuch"},
		{"sql"},
		{"sql", "SELECT 1", "extra"},
		{"search", "--bogus", "x"},
		{"rules", "test", "--format", "xml", "x.yml"},
		{"serve", "--shutdown-timeout", "0s"},
	}
	for _, c := range newRootCmd().Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		cases = append(cases, []string{c.Name(), "--no-such-flag"})
	}
	for _, args := range cases {
		if code := run(args); code != 2 {
			t.Errorf("spoor %v: exit %d, want 2", args, code)
		}
	}
}
