// Package docscheck runs the shell examples of Markdown documents as
// written and checks the output they show, so the docs cannot drift from
// the product. docs/docs-check.md describes the syntax an example uses.
package docscheck

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Block is one fenced shell block of a document.
type Block struct {
	File     string
	Line     int    // of the opening fence
	Skip     string // why the block is not run; "" runs it
	Commands []Command
}

// Command is one complete shell command of a block and the output the
// document shows for it.
type Command struct {
	Line int    // of its first line
	Text string // as written, continuation lines included
	// Want is the shown output, one entry a line without the "#> "
	// prefix; nil when the document shows none (only the exit status
	// is checked then).
	Want []string
}

// runnable are the fence info strings whose blocks are run.
var runnable = map[string]bool{"sh": true, "bash": true, "shell": true}

const markerPrefix = "<!-- docs-check:"

// Parse returns the runnable blocks of a Markdown document. A marker
// comment it does not understand, a skip without a reason, or shown
// output before any command is an error, so a typo never silently turns
// a check off.
func Parse(file string, md string) ([]Block, error) {
	lines := strings.Split(md, "\n")
	for i, l := range lines {
		if !utf8.ValidString(l) {
			return nil, fmt.Errorf("%s:%d: not UTF-8 text", file, i+1)
		}
	}
	var blocks []Block
	skip, skipLine := "", 0
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if strings.HasPrefix(line, markerPrefix) {
			reason, err := parseMarker(line)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, i+1, err)
			}
			skip, skipLine = reason, i+1
			continue
		}
		fence, info, ok := openFence(lines[i])
		if !ok {
			if line != "" && skip != "" {
				return nil, fmt.Errorf("%s:%d: a docs-check skip marker must come right before a fenced block", file, skipLine)
			}
			continue
		}
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != fence {
			end++
		}
		if end == len(lines) {
			return nil, fmt.Errorf("%s:%d: fenced block never closed", file, i+1)
		}
		if runnable[info] {
			cmds, err := splitCommands(lines[i+1:end], i+2)
			if err != nil {
				return nil, fmt.Errorf("%s:%w", file, err)
			}
			blocks = append(blocks, Block{File: file, Line: i + 1, Skip: skip, Commands: cmds})
		} else if skip != "" {
			return nil, fmt.Errorf("%s:%d: docs-check skip marker before a %q block, which is never run", file, skipLine, info)
		}
		skip = ""
		i = end
	}
	return blocks, nil
}

// parseMarker reads `<!-- docs-check: skip REASON -->` and returns REASON.
func parseMarker(line string) (string, error) {
	body, ok := strings.CutSuffix(strings.TrimPrefix(line, markerPrefix), "-->")
	if !ok {
		return "", fmt.Errorf("docs-check marker must fit on one line and end with -->")
	}
	verb, reason, _ := strings.Cut(strings.TrimSpace(body), " ")
	if verb != "skip" {
		return "", fmt.Errorf("unknown docs-check marker %q (the only one is: skip REASON)", verb)
	}
	if reason = strings.TrimSpace(reason); reason == "" {
		return "", fmt.Errorf("docs-check skip needs a reason")
	}
	return reason, nil
}

// openFence reports whether line opens a fenced block, with the fence to
// close it and the block's language.
func openFence(line string) (fence, info string, ok bool) {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return "", "", false
	}
	for _, c := range []string{"```", "~~~"} {
		if strings.HasPrefix(t, c) {
			n := len(t) - len(strings.TrimLeft(t, c[:1]))
			info, _, _ = strings.Cut(strings.TrimSpace(t[n:]), " ")
			return t[:n], info, true
		}
	}
	return "", "", false
}

// splitCommands cuts a block's lines into commands; first is the number
// of the block's first line in the file. "#> " lines are the output of
// the command before them; other comment lines and blank lines are prose.
func splitCommands(lines []string, first int) ([]Command, error) {
	var cmds []Command
	var cur []string
	curLine := 0
	lastWasOutputable := false
	for k, l := range lines {
		n := first + k
		if len(cur) > 0 {
			cur = append(cur, l)
			if complete(strings.Join(cur, "\n")) {
				cmds = append(cmds, Command{Line: curLine, Text: strings.Join(cur, "\n")})
				cur = nil
				lastWasOutputable = true
			}
			continue
		}
		t := strings.TrimSpace(l)
		switch {
		case t == "#>" || strings.HasPrefix(t, "#> "):
			if len(cmds) == 0 || !lastWasOutputable {
				return nil, fmt.Errorf("%d: shown output (#>) must follow its command", n)
			}
			c := &cmds[len(cmds)-1]
			c.Want = append(c.Want, strings.TrimPrefix(strings.TrimPrefix(t, "#>"), " "))
		case t == "" || strings.HasPrefix(t, "#"):
			lastWasOutputable = false
		default:
			cur, curLine = []string{l}, n
			if complete(l) {
				cmds = append(cmds, Command{Line: n, Text: l})
				cur = nil
				lastWasOutputable = true
			}
		}
	}
	if len(cur) > 0 {
		return nil, fmt.Errorf("%d: command not complete at the end of its block (an open quote or a trailing \\ or |)", curLine)
	}
	return cmds, nil
}
