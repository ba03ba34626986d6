package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/docscheck"
	"github.com/spoor-dev/spoor/internal/testenv"
)

// TestDocs runs the shell examples of README.md and docs/*.md exactly as
// written and fails when one errors or its shown output no longer
// matches (`make docs-check` runs it alone; docs/docs-check.md says how
// to write a checked example).
//
// The examples run as a new user runs them in a fresh clone: in a scratch
// directory holding the repository's files (symlinked) and bin/spoor,
// with `spoor` on PATH; both are this test binary, which doubles as spoor.
// The documents run in order, README.md first, each in one bash session,
// so a later document may use the files an earlier one made (the README's
// ./spoor-data) but not its shell variables. The server address the docs
// write, 127.0.0.1:7878, becomes a free loopback port (through
// $SPOOR_LISTEN, which spoor serve reads, and in the commands' text).
// Files the examples leave in the scratch directory must be ones the
// repository's .gitignore ignores, so following the README in a clone
// leaves `git status` clean.
func TestDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every example of the docs (about a minute)")
	}
	// What the examples call besides spoor, as a reader's machine has it.
	for _, tool := range []string{"bash", "curl", "jq", "gzip"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "the docs' examples need %s", tool)
		}
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	gitignore, err := os.ReadFile(filepath.Join(repo, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	scratch, pathDir := t.TempDir(), t.TempDir()
	clone := cloneInto(t, repo, scratch, string(gitignore))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, link := range []string{filepath.Join(scratch, "bin", "spoor"), filepath.Join(pathDir, "spoor")} {
		if err := os.Symlink(exe, link); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	home := t.TempDir()
	cfg := docscheck.Config{
		Dir: scratch,
		Env: []string{
			"PATH=" + pathDir + string(os.PathListSeparator) + os.Getenv("PATH"),
			"HOME=" + home, "LANG=C.UTF-8", "TZ=UTC",
			"SPOOR_TEST_AS_MAIN=1", // the test binary acts as spoor
			"SPOOR_LISTEN=" + listen,
		},
		Listen:  listen,
		Timeout: 2 * time.Minute,
		Log:     t.Logf,
	}
	docs, _ := filepath.Glob(filepath.Join(repo, "docs", "*.md"))
	slices.Sort(docs)
	docs = append([]string{filepath.Join(repo, "README.md")}, docs...)
	start := time.Now()
	var total docscheck.Stats
	for _, doc := range docs {
		name, _ := filepath.Rel(repo, doc)
		md, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		blocks, err := docscheck.Parse(name, string(md))
		if err != nil {
			t.Error(err)
			continue
		}
		docStart := time.Now()
		st, fails, err := docscheck.Run(context.Background(), cfg, blocks)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, f := range fails {
			t.Error(f)
		}
		t.Logf("%s: %d commands run (%d with shown output), %d blocks skipped, %v", name, st.Commands, st.Checked, st.SkippedBlocks, time.Since(docStart).Round(time.Millisecond))
		total.Commands += st.Commands
		total.Checked += st.Checked
		total.SkippedBlocks += st.SkippedBlocks
	}
	t.Logf("docs-check: %d commands run (%d with shown output), %d blocks skipped, in %v", total.Commands, total.Checked, total.SkippedBlocks, time.Since(start).Round(time.Millisecond))
	left, err := os.ReadDir(scratch)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		if !clone[e.Name()] && !docscheck.Ignored(string(gitignore), e.Name(), e.IsDir()) {
			t.Errorf("the examples leave %s in the clone, which .gitignore does not ignore: add it there or write it under a scratch directory", e.Name())
		}
	}
}

// cloneInto makes dir look like a fresh clone of repo: a symlink to each
// top-level entry that is not ignored (no data directory or binary of a
// developer's own runs) and an empty bin/. It returns the names it made.
func cloneInto(t *testing.T, repo, dir, gitignore string) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	made := map[string]bool{"bin": true}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || docscheck.Ignored(gitignore, e.Name(), e.IsDir()) {
			continue
		}
		if err := os.Symlink(filepath.Join(repo, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
		made[e.Name()] = true
	}
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	return made
}
