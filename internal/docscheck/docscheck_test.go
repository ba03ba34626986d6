package docscheck

import (
	"context"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// serveEnv makes the test binary a server of /healthz on the address it
// holds: the background server of TestRun, with nothing to install.
const serveEnv = "DOCSCHECK_TEST_SERVE"

func TestMain(m *testing.M) {
	if addr := os.Getenv(serveEnv); addr != "" {
		http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
		if err := http.ListenAndServe(addr, nil); err != nil {
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

func TestComplete(t *testing.T) {
	f := func(s string, want bool) {
		t.Helper()
		if got := complete(s); got != want {
			t.Errorf("complete(%q) = %v, want %v", s, got, want)
		}
	}
	f(`bin/spoor search 'event_type = "login"'`, true)
	f(`bin/spoor sql "SELECT exe`, false)
	f("bin/spoor sql \"SELECT exe\nFROM events\"", true)
	f(`curl -s \`, false)
	f("curl -s \\\n  http://x", true)
	f(`gzip -c x | curl -s \`, false)
	f(`gzip -c x |`, false)
	f(`gzip -c x | # then`, false)
	f(`a && b`, true)
	f(`a &&`, false)
	f(`bin/spoor serve &     # 127.0.0.1:7878`, true)
	f(`echo "it's" # don't`, true)
	f(`X=$(spoor token create --org o)`, true)
	f(`X=$(spoor token create \`, false)
	f(`curl -d "$(jq -n --rawfile r x.yml '{rule: $r, since: "30d"}')"`, true)
	f(`curl -d "$(jq -n --rawfile r x.yml '{rule: $r,`, false)
	f(`echo "a \" b"`, true)
	f(`echo 'a \' b'`, false) // no escapes inside single quotes: the quote after \ closes, b' opens
	f(`H=b0f6 # a comment with a ' quote`, true)
}

func TestBackground(t *testing.T) {
	for s, want := range map[string]bool{
		"spoor serve &": true, "spoor serve &   # 127.0.0.1:7878": true,
		"a && b": false, "echo '&'": false, "spoor serve": false,
	} {
		if background(s) != want {
			t.Errorf("background(%q) = %v", s, !want)
		}
	}
}

func TestParse(t *testing.T) {
	md := "# Title\n\n```sh\n" +
		"H=abc   # the host\n" +
		"# prose about the next command\n" +
		"spoor search \"a\n  b\"\n" +
		"#> row 1\n" +
		"#>   indented\n" +
		"#>\n" +
		"spoor sql x\n" +
		"```\n\n" +
		"```yaml\nkey: value\n```\n\n" +
		"<!-- docs-check: skip needs a Windows host -->\n" +
		"```sh\nwevtutil epl Security Security.evtx\n```\n" +
		"```python\nprint(1)\n```\n"
	blocks, err := Parse("x.md", md)
	if err != nil {
		t.Fatal(err)
	}
	want := []Block{
		{File: "x.md", Line: 3, Commands: []Command{
			{Line: 4, Text: "H=abc   # the host"},
			{Line: 6, Text: "spoor search \"a\n  b\"", Want: []string{"row 1", "  indented", ""}},
			{Line: 11, Text: "spoor sql x"},
		}},
		{File: "x.md", Line: 19, Skip: "needs a Windows host", Commands: []Command{{Line: 20, Text: "wevtutil epl Security Security.evtx"}}},
	}
	if !reflect.DeepEqual(blocks, want) {
		t.Errorf("got  %+v\nwant %+v", blocks, want)
	}
}

func TestParseRefuses(t *testing.T) {
	f := func(md, wantErr string) {
		t.Helper()
		_, err := Parse("x.md", md)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Parse(%q) = %v, want an error with %q", md, err, wantErr)
		}
	}
	f("<!-- docs-check: skip -->\n```sh\nls\n```\n", "needs a reason")
	f("<!-- docs-check: skp reason -->\n```sh\nls\n```\n", "unknown docs-check marker")
	f("<!-- docs-check: skip why -->\n\ntext\n```sh\nls\n```\n", "right before a fenced block")
	f("<!-- docs-check: skip why -->\n```yaml\na: b\n```\n", "never run")
	f("```sh\n#> output first\nls\n```\n", "must follow its command")
	f("```sh\nls\n# prose\n#> out\n```\n", "must follow its command")
	f("```sh\necho 'open\n```\n", "not complete")
	f("```sh\nls\n", "never closed")
}

func TestMatch(t *testing.T) {
	f := func(want []string, got string, ok bool) {
		t.Helper()
		err := Match(want, got)
		if (err == nil) != ok {
			t.Errorf("Match(%q, %q) = %v, want ok=%v", want, got, err, ok)
		}
	}
	f(nil, "", true)
	f(nil, "something", false)
	f([]string{"a  b"}, "a b\n", true)             // blanks collapse
	f([]string{"a b"}, "a b\nc\n", false)          // every line is shown or elided
	f([]string{"a b", "..."}, "a b\nc\nd\n", true) // ... skips the rest
	f([]string{"...", "d"}, "a b\nc\nd\n", true)   // and leading lines
	f([]string{"a", "...", "d"}, "a\nd\n", true)   // or none
	f([]string{"x ... z"}, "x y y z", true)        // ... in a line: any text
	f([]string{"x ... z"}, "x z", true)            // none too
	f([]string{"in <N>s (<N>k events/s)"}, "in 13.9s (95.5k events/s)", true)
	f([]string{"stored: <N> new"}, "stored: 1,324,904 new", true)
	f([]string{"stored: <N> new"}, "stored: many new", false)
	f([]string{"1,324,904 lines"}, "1,324,905 lines", false) // numbers shown are strict
	f([]string{"a.b (c)"}, "aXb (c)", false)                 // no regexp leaks through
	f([]string{"a", "b"}, "a\n", false)
}

func TestMatchMessage(t *testing.T) {
	err := Match([]string{"a", "b"}, "a\nc\n")
	if err == nil || !strings.Contains(err.Error(), `shown line 2: "b"`) {
		t.Errorf("message %v, want it to name shown line 2", err)
	}
	err = Match([]string{"a"}, "a\nmore\n")
	if err == nil || !strings.Contains(err.Error(), "goes on") {
		t.Errorf("message %v, want it to say the output goes on", err)
	}
}

// TestRun runs a small document with a real bash: state carries from
// block to block, a failing command and a changed output are reported,
// a skipped block is not run, and a background server is waited for and
// stopped at the end.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	md := "```sh\nX=hello\necho \"$X 127.0.0.1:7878\"\n#> hello 127.0.0.1:7878\n```\n" +
		"<!-- docs-check: skip would fail -->\n```sh\nfalse\n```\n" +
		"```sh\necho $X; echo two >&2\n#> hello\n#> two\nfalse\necho changed\n#> unchanged\n" +
		"\"$TEST_SERVER\" &\n" +
		"curl -s http://127.0.0.1:7878/healthz\n#> ok\n```\n"
	blocks, err := Parse("t.md", md)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TEST_SERVER=" + exe, serveEnv + "=" + addr}
	cfg := Config{Dir: dir, Env: env, Listen: addr, Timeout: 20 * time.Second}
	st, fails, err := Run(context.Background(), cfg, blocks)
	if err != nil {
		t.Fatal(err)
	}
	if st.Commands != 7 || st.Checked != 4 || st.SkippedBlocks != 1 {
		t.Errorf("stats %+v, want 7 commands, 4 checked, 1 skipped block", st)
	}
	var got []string
	for _, f := range fails {
		got = append(got, f.Cmd+": "+f.Err.Error())
	}
	want := []string{"false: exit status 1", `echo changed: no output line matches shown line 1: "unchanged"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("failures %q, want %q", got, want)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("the background server still answers after the run")
	}
}

func TestIgnored(t *testing.T) {
	gi := "# comment\n/bin/\n/spoor-data/\n*.test\n/timeline.svg\nnode_modules/\n!keep.test\n"
	f := func(name string, dir, want bool) {
		t.Helper()
		if got := Ignored(gi, name, dir); got != want {
			t.Errorf("Ignored(%q, dir=%v) = %v, want %v", name, dir, got, want)
		}
	}
	f("bin", true, true)
	f("bin", false, false) // a directory pattern
	f("spoor-data", true, true)
	f("x.test", false, true)
	f("timeline.svg", false, true)
	f("node_modules", true, true)
	f("lsass", true, false)
	f("fleet.ndjson.gz", false, false)
}
