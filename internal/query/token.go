package query

import "strings"

// TokenKind is the kind of a lexical token.
type TokenKind uint8

// Token kinds. Keywords are matched case-insensitively.
const (
	TokEOF    TokenKind = iota
	TokIdent            // field name: bare or `backquoted`
	TokString           // 'single' or "double" quoted value
	TokNumber           // 42, -1.5, 1e3, 0x1410
	TokLParen           // (
	TokRParen           // )
	TokComma            // ,
	TokEq               // =
	TokNe               // !=
	TokLt               // <
	TokLe               // <=
	TokGt               // >
	TokGe               // >=

	TokAnd        // AND
	TokOr         // OR
	TokNot        // NOT
	TokIn         // IN
	TokLike       // LIKE
	TokRegex      // REGEX
	TokStartsWith // STARTS_WITH
	TokEndsWith   // ENDS_WITH
	TokContains   // CONTAINS
	TokNull       // NULL
	TokTrue       // TRUE
	TokFalse      // FALSE
)

var tokenNames = [...]string{
	TokEOF:        "end of input",
	TokIdent:      "field name",
	TokString:     "string",
	TokNumber:     "number",
	TokLParen:     `"("`,
	TokRParen:     `")"`,
	TokComma:      `","`,
	TokEq:         `"="`,
	TokNe:         `"!="`,
	TokLt:         `"<"`,
	TokLe:         `"<="`,
	TokGt:         `">"`,
	TokGe:         `">="`,
	TokAnd:        "AND",
	TokOr:         "OR",
	TokNot:        "NOT",
	TokIn:         "IN",
	TokLike:       "LIKE",
	TokRegex:      "REGEX",
	TokStartsWith: "STARTS_WITH",
	TokEndsWith:   "ENDS_WITH",
	TokContains:   "CONTAINS",
	TokNull:       "NULL",
	TokTrue:       "TRUE",
	TokFalse:      "FALSE",
}

func (k TokenKind) String() string {
	if int(k) < len(tokenNames) {
		return tokenNames[k]
	}
	return "unknown token"
}

// keywords maps the lower-case spelling of each keyword to its kind.
var keywords = map[string]TokenKind{
	"and":         TokAnd,
	"or":          TokOr,
	"not":         TokNot,
	"in":          TokIn,
	"like":        TokLike,
	"regex":       TokRegex,
	"starts_with": TokStartsWith,
	"ends_with":   TokEndsWith,
	"contains":    TokContains,
	"null":        TokNull,
	"true":        TokTrue,
	"false":       TokFalse,
}

// keyword returns the keyword kind of a bare word, or TokIdent.
func keyword(word string) TokenKind {
	if len(word) > len("starts_with") {
		return TokIdent
	}
	if k, ok := keywords[strings.ToLower(word)]; ok {
		return k
	}
	return TokIdent
}

// Token is one lexical token.
type Token struct {
	Kind TokenKind
	Pos  Pos
	// Text is the token's source text.
	Text string
	// Value is the decoded value of a string or a backquoted field name
	// (escapes resolved); for other tokens it equals Text.
	Value string
}

// describe renders a token for an error message: what was found.
func (t Token) describe() string {
	switch t.Kind {
	case TokEOF:
		return "end of input"
	case TokIdent:
		return "field name " + clip(t.Text)
	case TokString:
		return "string " + clip(t.Text)
	case TokNumber:
		return "number " + clip(t.Text)
	}
	if t.Kind >= TokAnd {
		return strings.ToUpper(t.Text)
	}
	return t.Kind.String()
}

// clip shortens long source excerpts in error messages.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && s[i]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		i--
	}
	return s[:i] + "…"
}
