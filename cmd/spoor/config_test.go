package main

import (
	"os"
	"path/filepath"
	"testing"
)

// Flags win over SPOOR_* variables, which win over the config file.
func TestServeConfigPrecedence(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "spoor.yaml")
	if err := os.WriteFile(conf, []byte("listen: 127.0.0.1:9999\nmax_body: 1024\nmemory-limit: 1GB\ntimeout: 5s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SPOOR_MEMORY_LIMIT", "2GB")
	cmd := newServeCmd()
	cmd.Flags().Parse([]string{"--timeout", "7s"})
	if err := applyConfig(cmd.Flags(), conf); err != nil {
		t.Fatal(err)
	}
	get := func(n string) string { return cmd.Flags().Lookup(n).Value.String() }
	if get("listen") != "127.0.0.1:9999" || get("max-body") != "1024" {
		t.Errorf("config not applied: listen %s max-body %s", get("listen"), get("max-body"))
	}
	if get("memory-limit") != "2GB" {
		t.Errorf("memory-limit %s: the environment should win over the file", get("memory-limit"))
	}
	if get("timeout") != "7s" {
		t.Errorf("timeout %s: the flag should win over the file", get("timeout"))
	}
	if err := os.WriteFile(conf, []byte("listne: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := applyConfig(newServeCmd().Flags(), conf); err == nil {
		t.Errorf("a misspelt setting was accepted")
	}
}
