package query

import (
	"strings"
	"testing"
)

// seedQueries are the queries of shared/seeds and the brief: they must
// parse and compile.
var seedQueries = []string{
	`event_type = "login" AND agent_id = "436dd34c-f795-11ea-a752-21e3e3eb7c50"`,
	`agent_id = "436d..." AND event_time >= 1600362902289 AND event_time <= 1600362992764`,
	`agent_id = "436dd34c-f795-11ea-a752-21e3e3eb7c50" AND event_time >= 1600362902289 AND event_time <= 1600362992764`,
	`event_type = "login" AND event_time > 1600362961`,
	`event_type = "cloudtrail" AND userType = "AssumedRole"`,
	`user = 'root' AND tty = null AND cwd = '/usr/bin' AND session = '4294967295' AND auid = '4294967295' AND arguments = 'ps -e -o pid,ppid,state,command' AND exe = '/usr/sbin/chronyd'`,
	"user = 'root' AND tty = null AND cwd = '/usr/bin' AND session = '4294967295' AND auid = '4294967295' AND \n   arguments = 'ps -e -o pid,ppid,state,command' AND exe = '/usr/sbin/chronyd'",
	`pid = '3081' AND user = 'root' AND agent_id = "abcdef-1234" AND command = 'ps' AND event_time = '1654270691800'`,
	`pid = '3081' AND user = 'root' AND agent_id = "abcdef-1234-4va1-ad42-555bd87fa32a" AND command = 'ps' AND event_time = '1654270691800'`,
	`user = 'root' AND command = 'ps'`,
	`user = 'root' AND tty = null AND arguments starts_with 'ps -e' AND exe = '/usr/sbin/chronyd'`,
	`GrantedAccess = '0x1410' OR (TargetImage ends_with 'lsass.exe' AND NOT user in ('SYSTEM', "LOCAL SERVICE"))`,
}

func TestParse(t *testing.T) {
	// f parses q and wants its printed form, or the error with its position.
	f := func(q, want string) {
		t.Helper()
		n, err := Parse(q)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = Print(n)
		}
		if got != want {
			t.Errorf("Parse(%q)\n got: %s\nwant: %s", q, got, want)
		}
	}

	// The seeds.
	f(seedQueries[0], `event_type = "login" AND agent_id = "436dd34c-f795-11ea-a752-21e3e3eb7c50"`)
	f(seedQueries[1], `agent_id = "436d..." AND event_time >= 1600362902289 AND event_time <= 1600362992764`)
	f(seedQueries[3], `event_type = "login" AND event_time > 1600362961`)
	f(seedQueries[4], `event_type = "cloudtrail" AND userType = "AssumedRole"`)
	f(seedQueries[5], `user = "root" AND tty = null AND cwd = "/usr/bin" AND session = "4294967295" AND auid = "4294967295" AND arguments = "ps -e -o pid,ppid,state,command" AND exe = "/usr/sbin/chronyd"`)
	f(seedQueries[6], `user = "root" AND tty = null AND cwd = "/usr/bin" AND session = "4294967295" AND auid = "4294967295" AND arguments = "ps -e -o pid,ppid,state,command" AND exe = "/usr/sbin/chronyd"`)
	f(seedQueries[7], `pid = "3081" AND user = "root" AND agent_id = "abcdef-1234" AND command = "ps" AND event_time = "1654270691800"`)
	f(seedQueries[11], `GrantedAccess = "0x1410" OR TargetImage ends_with "lsass.exe" AND NOT user IN ("SYSTEM", "LOCAL SERVICE")`)

	// Operators, case-insensitive keywords, case-sensitive values.
	f(`a = 1 and b != 2 or c < 3`, `a = 1 AND b != 2 OR c < 3`)
	f(`a<=1 AND b>=2 AND c>3`, `a <= 1 AND b >= 2 AND c > 3`)
	f(`x STARTS_WITH 'Ab' And y Ends_With "cD" AND z contains 'x'`, `x starts_with "Ab" AND y ends_with "cD" AND z contains "x"`)
	f(`x LIKE 'a%_' AND y REGEX '^a.*b$'`, `x like "a%_" AND y regex "^a.*b$"`)
	f(`x IN (1, 'a', true, null)`, `x IN (1, "a", true, null)`)
	f(`x in('a')`, `x IN ("a")`)
	f(`x = NULL AND y != Null`, `x = null AND y != null`)
	f(`x = TRUE OR y = False`, `x = true OR y = false`)
	f(`x = -5 AND y = 1.25 AND z = -0.5e-3 AND w = 0x1410 AND v = 1E9`, `x = -5 AND y = 1.25 AND z = -0.5e-3 AND w = 0x1410 AND v = 1E9`)
	f(`x=-5`, `x = -5`)
	f(`x = 99999999999999999999`, `x = 99999999999999999999`)

	// Precedence: NOT > AND > OR, parentheses kept only where needed.
	f(`a = 1 OR b = 2 AND c = 3`, `a = 1 OR b = 2 AND c = 3`)
	f(`(a = 1 OR b = 2) AND c = 3`, `(a = 1 OR b = 2) AND c = 3`)
	f(`a = 1 AND (b = 2 AND c = 3)`, `a = 1 AND (b = 2 AND c = 3)`)
	f(`(a = 1 AND b = 2) AND c = 3`, `a = 1 AND b = 2 AND c = 3`)
	f(`NOT a = 1 AND b = 2`, `NOT a = 1 AND b = 2`)
	f(`NOT (a = 1 AND b = 2)`, `NOT (a = 1 AND b = 2)`)
	f(`not not a = 1`, `NOT NOT a = 1`)
	f(`((((a = 1))))`, `a = 1`)
	f(`NOT (NOT (a = 1) OR b = 2)`, `NOT (NOT a = 1 OR b = 2)`)

	// Field names.
	f(`host_metadata.hostname = 'x' AND @timestamp > 5 AND a-b_c.d@e = 1`, `host_metadata.hostname = "x" AND @timestamp > 5 AND a-b_c.d@e = 1`)
	f("`weird \"name\"[0]` = 1", "`weird \"name\"[0]` = 1")
	f("`and` = 1", "`and` = 1")
	f("`plain` = 1", "plain = 1")
	f(`Événement = 'é'`, `Événement = "é"`)

	// Strings and escapes.
	f(`x = 'it\'s' AND y = "say \"hi\""`, `x = "it's" AND y = "say \"hi\""`)
	f(`x = 'a\\b' AND y = '\d+\.' AND z = 'tab\tnl\n'`, `x = "a\\b" AND y = "\\d+\\." AND z = "tab\tnl\n"`)
	f(`x = '\u00e9\ud83d\ude00'`, `x = "é😀"`)
	f(`x = "it's"`, `x = "it's"`)
	f("x = 'multi\nline'", `x = "multi\nline"`)
	f(`x like '100\%'`, `x like "100\\%"`)

	// Errors, with positions (line:column).
	f(``, `1:1: expected a field name, NOT or "(", found end of input`)
	f(`event_type = `, `1:14: expected a value after "=", found end of input`)
	f(`event_type = "login" AND`, `1:25: expected a field name, NOT or "(" after AND, found end of input`)
	f(`event_type = "a" AND x =`, `1:25: expected a value after "=", found end of input`)
	f(`user = root`, `1:8: expected a value after "=" (quote text: 'root'), found field name root`)
	f(`user 'root'`, `1:6: expected an operator after field name user (=, !=, <, <=, >, >=, starts_with, ends_with, contains, like, regex, in), found string 'root'`)
	f(`= 'root'`, `1:1: expected a field name, NOT or "(", found "="`)
	f(`a = 1 b = 2`, `1:7: expected AND, OR or end of input, found field name b`)
	f(`(a = 1`, `1:7: expected AND, OR or ")", found end of input`)
	f(`a = 1)`, `1:6: expected AND, OR or end of input, found ")"`)
	f(`a in 1`, `1:6: expected "(" after IN, found number 1`)
	f(`a in (1,`, `1:9: expected a value after ",", found end of input`)
	f(`a in (1 2)`, `1:9: expected "," or ")" in the IN list, found number 2`)
	f(`a in ()`, `1:7: expected a value after "(", found ")"`)
	f(`a < null`, `1:5: expected a value other than null after "<" (null compares only with = and !=), found NULL`)
	f(`a like null`, `1:8: expected a value other than null after LIKE (null compares only with = and !=), found NULL`)
	f(`a = 'abc`, `1:5: expected ' to close the string that starts here, found end of input`)
	f(`a = "abc\"`, `1:5: expected " to close the string that starts here, found end of input`)
	f("`abc = 1", "1:1: expected ` to close the field name that starts here, found end of input")
	f(`a = '\u12'`, `1:6: expected four hex digits after \u (a surrogate pair for characters beyond U+FFFF), found \u12'`)
	f(`a = '\ud800'`, `1:6: expected four hex digits after \u (a surrogate pair for characters beyond U+FFFF), found \ud800'`)
	f(`a ! 1`, `1:3: expected "!=", found "!"`)
	f(`a = 12abc`, `1:5: expected a number, found malformed number 12abc`)
	f(`a = 1.2.3`, `1:5: expected a number, found malformed number 1.2.3`)
	f(`a = 1e999`, `1:5: number 1e999 is out of range`)
	f(`a = 0xffffffffffffffffff`, `1:5: number 0xffffffffffffffffff is out of range`)
	f(`a = 1 # comment`, `1:7: expected a field name, value, operator or parenthesis, found unexpected character '#'`)
	f(`a NOT IN (1)`, `1:3: expected an operator after field name a (=, !=, <, <=, >, >=, starts_with, ends_with, contains, like, regex, in), found NOT`)
	f("a = 1 AND\n  b = ", `2:7: expected a value after "=", found end of input`)
	f("x = 'é' AND y =", `1:16: expected a value after "=", found end of input`)
	f("a = 1 AND NOT", `1:14: expected a field name, NOT or "(" after NOT, found end of input`)
	f("a = \xff", `1:5: invalid UTF-8 in the query`)

	// Limits.
	deep := strings.Repeat("(", 200) + "a = 1" + strings.Repeat(")", 200)
	f(deep, `1:101: the query nests parentheses and NOT deeper than 100 levels`)
	f(strings.Repeat("NOT ", 200)+"a = 1", `1:401: the query nests parentheses and NOT deeper than 100 levels`)
	f(strings.Repeat("(", 100)+"a = 1"+strings.Repeat(")", 100), `a = 1`)
	long := "a = '" + strings.Repeat("x", MaxQueryLen) + "'"
	f(long, `1:65537: the query is longer than 65536 bytes`)
}

func TestParsePositions(t *testing.T) {
	n, err := Parse("user = 'root' AND\n  NOT pid IN (1, 2)")
	if err != nil {
		t.Fatal(err)
	}
	b := n.(*Binary)
	if b.OpPos != (Pos{Offset: 14, Line: 1, Col: 15}) {
		t.Errorf("AND at %+v", b.OpPos)
	}
	c := b.X.(*Compare)
	if c.Field.NamePos != (Pos{0, 1, 1}) || c.OpPos != (Pos{5, 1, 6}) || c.Values[0].ValuePos != (Pos{7, 1, 8}) {
		t.Errorf("user = 'root' at %+v %+v %+v", c.Field.NamePos, c.OpPos, c.Values[0].ValuePos)
	}
	not := b.Y.(*Not)
	if not.Pos() != (Pos{20, 2, 3}) {
		t.Errorf("NOT at %+v", not.Pos())
	}
	in := not.X.(*Compare)
	if in.Values[1].ValuePos != (Pos{35, 2, 18}) {
		t.Errorf("2 at %+v", in.Values[1].ValuePos)
	}
}

func TestErrorCaret(t *testing.T) {
	f := func(q, want string) {
		t.Helper()
		_, err := CompileString(q)
		e, ok := err.(*Error)
		if !ok {
			t.Fatalf("%q: error %v is not an *Error", q, err)
		}
		if got := e.Caret(); got != want {
			t.Errorf("%q caret:\n%s\nwant:\n%s", q, got, want)
		}
	}
	f(`event_type = "login" AND agent_id =`,
		"event_type = \"login\" AND agent_id =\n"+
			"                                   ^ expected a value after \"=\", found end of input")
	f("a = 1 AND\n\tpid = 'x1'",
		"\tpid = 'x1'\n"+
			"\t      ^ expected an integer for int field pid, found string \"x1\"")
	f(`exe = "é" AND pid regex '('`,
		"exe = \"é\" AND pid regex '('\n"+
			"                        ^ bad regex: missing closing ): `(`")
}

func TestCompileErrors(t *testing.T) {
	// f compiles q with both compilers and wants the same error, or none.
	f := func(q, want string) {
		t.Helper()
		n, err := Parse(q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", q, err)
		}
		_, errSQL := ToSQL(n)
		_, errGo := Compile(n)
		got, gotGo := "", ""
		if errSQL != nil {
			got = errSQL.Error()
		}
		if errGo != nil {
			gotGo = errGo.Error()
		}
		if got != gotGo {
			t.Errorf("%q: ToSQL says %q, Compile says %q", q, got, gotGo)
		}
		if got != want {
			t.Errorf("%q\n got: %s\nwant: %s", q, got, want)
		}
	}
	f(`session = '4294967295' AND pid = '0x1410' AND pid = -3 AND pid > 1.5`, ``)
	f(`pid = 'abc'`, `1:7: expected an integer for int field pid, found string "abc"`)
	f(`pid = '1.5'`, `1:7: expected an integer for int field pid, found string "1.5"`)
	f(`pid = '99999999999999999999'`, `1:7: expected an integer for int field pid, found string "99999999999999999999"`)
	f(`pid = true`, `1:7: expected an integer for int field pid, found true`)
	f(`pid IN (1, 'x')`, `1:12: expected an integer for int field pid, found string "x"`)
	f(`pid starts_with '30' AND pid regex '^3' AND pid like '3%'`, ``)
	f(`success = true AND success = 'FALSE' AND success != false`, ``)
	f(`success = 1`, `1:11: expected true or false for bool field success, found number 1`)
	f(`success = 'yes'`, `1:11: expected true or false for bool field success, found string "yes"`)
	f(`success < true`, `1:9: < does not apply to bool field success; compare it with = or !=`)
	f(`event_time > 1600362961 AND event_time <= '2020-09-17T17:16:01.5Z' AND event_time = '1654270691800'`, ``)
	f(`event_time > '2020-09-17' AND _insert_time < '2020-09-17 10:00:00'`, ``)
	f(`event_time > 'yesterday'`, `1:14: expected epoch seconds or milliseconds or an RFC 3339 time in years 1-9999 for time field event_time, found string "yesterday"`)
	f(`event_time > true`, `1:14: expected epoch seconds or milliseconds or an RFC 3339 time in years 1-9999 for time field event_time, found true`)
	f(`event_time > 1e300`, `1:14: expected epoch seconds or milliseconds or an RFC 3339 time in years 1-9999 for time field event_time, found number 1e300`)
	f(`event_time starts_with '2020'`, `1:12: starts_with does not apply to time field event_time; compare it with = != < <= > >=`)
	f(`x like 'abc\\'`, `1:8: bad like pattern: it ends with the escape character \ (write \\ for a backslash)`)
	f(`x regex '(?P<n'`, "1:9: bad regex: invalid named capture: `(?P<n`")
	f(`x regex '(?<name>a)'`, `1:9: bad regex: write named groups as (?P<name>...)`)
	f(`x regex '(?P<name>a)(?<!x)'`, "1:9: bad regex: invalid named capture: `(?<!x)`")
	f(`user = 1 AND args = 2 AND user > true AND x = 1 AND x < 'a' AND x regex 5`, ``)
}
