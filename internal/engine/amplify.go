package engine

import "strings"

// amplifiers are scalar functions whose result's size is given by an
// argument rather than by the data: range(250000000) is folded into a
// 250-million-element constant while the query is planned, taking tens of
// GB in one step that neither DuckDB's memory_limit nor an interrupt can
// stop. User SQL may not call them; the lake's own data bounds what every
// other function builds.
var amplifiers = map[string]bool{
	"range": true, "generate_series": true, // a list of n elements
	"repeat": true, "lpad": true, "rpad": true, // a string of n characters
	"list_resize": true, "array_resize": true, // a list padded to n elements
}

// amplifier says why user SQL may not call fn, or "" if it may.
func amplifier(fn string) string {
	if !amplifiers[strings.ToLower(fn)] {
		return ""
	}
	return "function " + fn + " is not allowed: it builds a value whose size an argument sets, beyond the server's memory limit"
}
