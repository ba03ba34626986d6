package docscheck

import "strings"

// complete reports whether s is a whole shell command: no quote or
// command substitution left open, and no line ending in \, |, && or ||
// that asks for the next. It knows enough of the shell's quoting for
// documentation examples (single and double quotes, backslashes, $( )
// and parentheses, comments), not the whole grammar.
func complete(s string) bool {
	// ctx is the stack of open contexts: '\'' and '"' quotes, '(' for $(
	// and plain parentheses.
	var ctx []byte
	top := func() byte {
		if len(ctx) == 0 {
			return 0
		}
		return ctx[len(ctx)-1]
	}
	wordStart := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch top() {
		case '\'':
			if c == '\'' {
				ctx = ctx[:len(ctx)-1]
			}
			continue
		case '"':
			switch {
			case c == '\\':
				i++
			case c == '"':
				ctx = ctx[:len(ctx)-1]
			case c == '$' && i+1 < len(s) && s[i+1] == '(':
				ctx = append(ctx, '(')
				i++
				wordStart = true
			}
			continue
		}
		switch {
		case c == '\\':
			if i+1 == len(s) {
				return false // a continuation at the very end
			}
			i++
		case c == '\'' || c == '"':
			ctx = append(ctx, c)
		case c == '(':
			ctx = append(ctx, '(')
		case c == ')' && top() == '(':
			ctx = ctx[:len(ctx)-1]
		case c == '#' && wordStart:
			for i < len(s) && s[i] != '\n' {
				i++
			}
			i-- // the newline, if any, is seen next
		}
		wordStart = c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '(' || c == '|' || c == '&'
	}
	if len(ctx) > 0 {
		return false
	}
	last := lastCodeLine(s)
	for _, op := range []string{"|", "&&", "||"} {
		if strings.HasSuffix(last, op) {
			return false
		}
	}
	return true
}

// lastCodeLine is the last line of s without its comment and trailing
// blanks (a comment after a trailing | does not end the command).
func lastCodeLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(stripComment(s))
}

// stripComment cuts a trailing comment that starts outside quotes.
func stripComment(line string) string {
	var q byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case q != 0:
			if c == '\\' && q == '"' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '\\':
			i++
		case c == '\'' || c == '"':
			q = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return line[:i]
		}
	}
	return line
}

// background reports whether a command ends by putting itself in the
// background (a trailing &, not &&).
func background(cmd string) bool {
	last := lastCodeLine(cmd)
	return strings.HasSuffix(last, "&") && !strings.HasSuffix(last, "&&")
}
