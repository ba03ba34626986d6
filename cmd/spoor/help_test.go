package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spoor-dev/spoor/internal/hunt/diff"
	"github.com/spoor-dev/spoor/internal/hunt/sweep"
)

// prefixed is each of names after p: a line of a help's list.
func prefixed(p string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = p + n
	}
	return out
}

// Every command's --help has an Examples section, each example runs a real
// command with flags that command has, and the help of sweep, diff and
// timeline explains what their values may be.
func TestHelpHasExamples(t *testing.T) {
	root := newRootCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			walk(sub)
		}
		if c == root {
			return
		}
		help := helpOf(t, root, c)
		if !strings.Contains(help, "\nExamples:\n") {
			t.Errorf("%s --help has no Examples section:\n%s", c.CommandPath(), help)
			return
		}
		examples := 0
		for _, line := range strings.Split(c.Example, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			for _, seg := range strings.Split(line, " | ") {
				args := splitShell(seg)
				if len(args) == 0 || args[0] != "spoor" {
					continue // another program in a pipe (curl, jq)
				}
				examples++
				checkExample(t, root, c, seg, args[1:])
			}
		}
		if examples == 0 {
			t.Errorf("%s: no example runs spoor:\n%s", c.CommandPath(), c.Example)
		}
	}
	walk(root)

	for cmd, wants := range map[string][]string{
		"sweep":    append([]string{"IOC_FILE", "one IoC a line", "#", "kind:value"}, prefixed("\n  ", sweep.Kinds)...),
		"diff":     prefixed("\n  ", diff.Categories),
		"timeline": {"--bucket", "30s", "15m", "1h", "1d", "1w", "about 60 buckets"},
	} {
		c, _, err := root.Find([]string{cmd})
		if err != nil {
			t.Fatal(err)
		}
		help := helpOf(t, root, c)
		for _, w := range wants {
			if !strings.Contains(help, w) {
				t.Errorf("spoor %s --help does not say %q:\n%s", cmd, w, help)
			}
		}
	}
	// The IoC file sweep's help shows reads as it says.
	sw, _, _ := root.Find([]string{"sweep"})
	_, file, _ := strings.Cut(sw.Long, "An IoC file:\n")
	file, _, _ = strings.Cut(file, "\n\nHits")
	iocs, errs := sweep.ParseIoCs(strings.NewReader(file))
	var kinds []string
	for _, i := range iocs {
		kinds = append(kinds, i.Kind)
	}
	if want := "path filename ip cmdline sha256"; len(errs) > 0 || strings.Join(kinds, " ") != want {
		t.Errorf("sweep's example IoC file reads as %v (errors %v), want kinds %s", iocs, errs, want)
	}
	ingest, _, _ := root.Find([]string{"ingest"})
	if u := ingest.Flags().Lookup("timeout").Usage; strings.Contains(u, "query") {
		t.Errorf("ingest --timeout described as %q", u)
	}
}

func helpOf(t *testing.T, root, c *cobra.Command) string {
	t.Helper()
	var b bytes.Buffer
	c.SetOut(&b)
	c.SetErr(&b)
	if err := c.Help(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// checkExample says what is wrong with one example's command line: a
// command that does not exist, or is not the one whose help shows it
// (unless it is a step of a pipe or a sequence), or a flag it lacks.
func checkExample(t *testing.T, root, c *cobra.Command, line string, args []string) {
	t.Helper()
	found, rest, err := root.Find(args)
	if err != nil || found == root {
		t.Errorf("%s: example %q names no command: %v", c.CommandPath(), line, err)
		return
	}
	if len(rest) > 0 && len(found.Commands()) > 0 && !strings.HasPrefix(rest[0], "-") {
		t.Errorf("%s: example %q: %q is no subcommand of %s", c.CommandPath(), line, rest[0], found.CommandPath())
	}
	for _, a := range rest {
		if !strings.HasPrefix(a, "--") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if found.Flags().Lookup(name) == nil && found.InheritedFlags().Lookup(name) == nil {
			t.Errorf("%s: example %q: %s has no flag --%s", c.CommandPath(), line, found.CommandPath(), name)
		}
	}
}

// splitShell splits a command line into words as a shell would, for
// single and double quotes and backslash escapes in double quotes.
func splitShell(s string) []string {
	var words []string
	var w strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote == '\'' && ch == '\'', quote == '"' && ch == '"':
			quote = 0
		case quote == '"' && ch == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
		case quote != 0:
			w.WriteByte(ch)
		case ch == '\'' || ch == '"':
			quote, in = ch, true
		case ch == ' ' || ch == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(ch)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// The splitter the test above relies on splits as a shell does.
func TestSplitShell(t *testing.T) {
	got := splitShell(`spoor search --fields exe,user 'event_type = "login"' "a \"b\"" x=''`)
	want := []string{"spoor", "search", "--fields", "exe,user", `event_type = "login"`, `a "b"`, "x="}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("split %q, want %q", got, want)
	}
}
