// Package query is spoor's filter language, Threat Stack's syntax: the
// lexer, the parser, the syntax tree and its printer, and two compilers
// that agree on every input: ToSQL, a parameterized DuckDB WHERE fragment
// for search and backtests, and Compile, a Go matcher for streaming rules
// and suppressions.
//
//	event_type = "login" AND event_time > 1600362961
//	GrantedAccess = '0x1410' OR (TargetImage ends_with 'lsass.exe' AND NOT user in ('SYSTEM', "LOCAL SERVICE"))
//
// # Syntax
//
//	query      = or
//	or         = and { OR and }
//	and        = unary { AND unary }
//	unary      = NOT unary | "(" or ")" | comparison
//	comparison = field op value | field IN "(" value { "," value } ")"
//	op         = "=" | "!=" | "<" | "<=" | ">" | ">=" | STARTS_WITH | ENDS_WITH | CONTAINS | LIKE | REGEX
//	value      = string | number | TRUE | FALSE | NULL
//
// NOT binds tighter than AND, AND tighter than OR; AND and OR associate to
// the left. Keywords are case-insensitive, values case-sensitive. NULL is a
// value only after = and != and in IN lists. Field names are letters,
// digits and _ . - @, not starting with a digit or . or -
// (host_metadata.hostname, @timestamp); any other name, a keyword for
// instance, is written between backquotes (`weird "name"`). Strings take
// single or double quotes with the escapes \\ \' \" \` \n \r \t \uXXXX; a
// backslash before any other character stays in the string, so regexes
// ('\d+') and LIKE escapes ('100\%') read as written. Numbers are decimal
// integers and decimals with optional exponent (42, -7, 1.5, 2e-3) or hex
// integers (0x1410). Queries are at most MaxQueryLen bytes and nest
// parentheses and NOT at most MaxDepth deep. Errors are *Error: a line,
// a column, what was found and what was expected, and Caret shows the
// query with a caret under the position.
//
// # Fields
//
// A name that event.Lookup resolves (a column name or an alias: eventType,
// containerId, ...) is that typed column. Any other name reads the raw
// column, the event's residual original JSON object: its top-level key of
// exactly that name, or, when there is no such key and the name has dots,
// the nested path a.b.c. A path step into an array takes a canonical index
// (arr.0, not arr.00), as a JSON pointer does.
//
// # Comparisons
//
// A comparison on a missing field is false, and so is one on a JSON null;
// only `x = null` holds for them and `x != null` is false. NOT negates its
// operand's result (NOT user = 'root' holds when user is missing), and
// != is a comparison like the others: `x != 'a'` is false when x is
// missing.
//
// Every literal has a text form: a string's value, a number as written,
// true or false. The text operators (starts_with, ends_with, contains,
// like, regex) apply to the text form of both sides; like's % matches any
// run of characters and _ one character (code point), a backslash makes the
// next character literal, and a pattern ending in a lone backslash is a
// compile error; regex is RE2, unanchored (Go's regexp and DuckDB's
// regexp_matches). All string comparisons are byte-wise and case-sensitive.
//
// By kind of typed field:
//   - string: compares as text with the literal's text form (exit = 0 is
//     exit = '0').
//   - int: = != < <= > >= with a number compare numerically (as int64, or as
//     float64 against a decimal); a string literal must read as an integer,
//     decimal or 0x hex (session = '4294967295'), or the query does not
//     compile; true and false do not compile. Text operators use the decimal
//     text of the value (pid starts_with '30').
//   - bool: = and != with true, false, 'true' or 'false' (any case); < <= >
//     >= and other literals do not compile. Text operators use "true" and
//     "false".
//   - time (event_time, _insert_time): = != < <= > >= with an epoch number,
//     a string of one, or an RFC 3339 time (a time without zone is UTC, a
//     date alone its midnight). An epoch below 1e11 in magnitude counts
//     seconds, otherwise milliseconds (event_time > 1600362961 is after
//     2020-09-17T17:16:01Z); literals are floored to microseconds and must
//     fall in years 1-9999. Text operators do not compile.
//   - list (args, path): holds if the string rule holds for any element; an
//     empty list matches nothing but is not null.
//
// A raw value compares by its JSON type:
//   - number against a numeric literal (a number, or a string that reads as
//     one: '5136', '0x1410', '1.50'): numerically, exactly as int64 when both
//     are integers that fit, else as float64 (numbers beyond float64 range
//     read as ±Inf).
//   - anything else compares its text form with the literal's text form: a
//     string its value (GrantedAccess = 0x1410 holds for "0x1410"); true and
//     false "true" and "false"; a number as DuckDB prints it (5136, 1.5,
//     100.0, 1e21); an object as minified JSON in DuckDB's form
//     ({"k":"v","n":1.0}).
//   - array: holds if it holds for any element; nested arrays and objects
//     compare by their JSON text, null elements never match.
//
// # The two compilers
//
// A checker resolves names, checks literals against kinds and converts them
// once; every compile error comes from it, so ToSQL and Compile accept the
// same queries and report the same errors, at the literal's or operator's
// position. ToSQL writes values only as ? arguments; raw names travel as
// JSON pointer arguments (/key, with ~0 and ~1 escapes) and column names
// are quoted, so no name or value can change the statement. Comparisons
// outside NOT are bare, so DuckDB pushes event_time filters (compared with
// make_timestamp(?)) into Parquet scans; comparisons under NOT are wrapped
// in COALESCE(..., false) for the two-valued logic above. The raw column
// must hold a JSON object (the normaliser guarantees it); DuckDB rejects
// malformed JSON where the matcher sees no fields. Regexes are checked with
// Go's regexp, and named groups must be written (?P<name>...), the form
// DuckDB's RE2 reads.
//
// The matcher parses an event's raw JSON at most once per Match, and only
// when the query reads a raw field; TimeBounds gives the event_time range
// that the top-level AND conjuncts allow, for partition pruning.
package query
