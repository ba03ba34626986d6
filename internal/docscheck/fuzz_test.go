package docscheck

import (
	"strings"
	"testing"
)

// FuzzParse: any Markdown either parses or is refused with an error; what
// parses names lines inside the document, in order, and every command's
// text and shown output come from the document's own lines. Match never
// panics on what a document shows against any output.
func FuzzParse(f *testing.F) {
	f.Add("# T\n\n```sh\nspoor sql x\n#> a\n#> ...\n#> <N> rows\n```\n")
	f.Add("<!-- docs-check: skip why -->\n```bash\necho \"a\n b\" \\\n  c\n```\n")
	f.Add("````sh\n```\n````\n```sh\nfor i in 1 2; do\n  echo $i\ndone\n#> 1\n#> 2\n```")
	f.Add("<!-- docs-check: skip -->\n```sh\nx\n```\n")
	f.Add("```sh\necho 'unclosed\n```\n")
	f.Fuzz(func(t *testing.T, md string) {
		blocks, err := Parse("f.md", md)
		if err != nil {
			return
		}
		lines := strings.Count(md, "\n") + 1
		prev := 0
		for _, b := range blocks {
			if b.Line <= prev || b.Line > lines {
				t.Fatalf("block at line %d after %d, in a document of %d lines", b.Line, prev, lines)
			}
			prev = b.Line
			for _, c := range b.Commands {
				if c.Line <= b.Line || c.Line > lines {
					t.Fatalf("command at line %d outside its block at %d (%d lines)", c.Line, b.Line, lines)
				}
				for _, part := range strings.Split(c.Text, "\n") {
					if !strings.Contains(md, part) {
						t.Fatalf("command text %q is not in the document", part)
					}
				}
				for _, w := range c.Want {
					if !strings.Contains(md, w) {
						t.Fatalf("shown output %q is not in the document", w)
					}
				}
				_ = Match(c.Want, md)
			}
		}
	})
}

// A shown line that is not UTF-8 is refused by Parse at its line, and
// Match, given one anyway, matches it as the replacement character rather
// than failing to compile it (FuzzParse found the panic).
func TestNotUTF8(t *testing.T) {
	if _, err := Parse("f.md", "```sh\n0\n#> \x90\n```"); err == nil || !strings.Contains(err.Error(), "f.md:3: not UTF-8") {
		t.Errorf("Parse of a non-UTF-8 line: %v", err)
	}
	if err := Match([]string{"\x90"}, "\uFFFD\n"); err != nil {
		t.Errorf("Match of a non-UTF-8 shown line: %v", err)
	}
}
