package query

import (
	"database/sql"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
)

// The documented semantics (doc.go), case by case, on events made by the
// Threat Stack normaliser; every case runs through both compilers.

const semEvent = `{
  "_id": "sem-1", "organization_id": "o1", "agent_id": "436dd34c-f795-11ea-a752-21e3e3eb7c50",
  "event_time": 1600362961000, "event_type": "audit",
  "user": "root", "pid": 3081, "session": 4294967295, "auid": 4294967295, "success": true,
  "exe": "/usr/sbin/chronyd", "cwd": "/usr/bin", "arguments": "ps -e -o pid,ppid,state,command",
  "args": ["ps", "-e"], "containerId": "c0ffee",
  "GrantedAccess": "0x1410", "TargetImage": "C:\\Windows\\system32\\lsass.exe",
  "Num": 5136, "Neg": -7, "Big": 9007199254740993, "F": 1.50, "T": true, "Nul": null,
  "Arr": [1, "two", [3], {"k": "v"}, null], "Obj": {"k": "v", "n": 1.0},
  "a.b": "top", "a": {"b": "nested", "c": {"d": 7}},
  "header": {"id": 3162035, "milliseconds": 167}, "Quote": "it's \"quoted\" 100% a_b \\ é"
}`

func normalize(t testing.TB, raw string) *event.Event {
	t.Helper()
	n := event.Normalizer{Org: "o1", Now: func() int64 { return 1600362999000 }}
	e := &event.Event{}
	if err := n.Normalize([]byte(raw), e); err != nil {
		t.Fatal(err)
	}
	return e
}

// bothMatch evaluates q on one event with both compilers and fails when
// they disagree.
func bothMatch(t *testing.T, db *sql.DB, table string, e *event.Event, q string) bool {
	t.Helper()
	m, err := CompileString(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	s, err := ToSQLString(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	ids, err := selectIDs(db, table, s)
	if err != nil {
		t.Fatalf("%s: SQL %s: %v", q, s.Where, err)
	}
	got := m.Match(e)
	if ids[e.Str[event.ID]] != got {
		t.Errorf("%s: Go matcher %v, DuckDB %v", q, got, !got)
	}
	return got
}

func TestSemantics(t *testing.T) {
	e := normalize(t, semEvent)
	db := openDuck(t)
	loadEvents(t, db, "sem", []*event.Event{e})
	f := func(q string, want bool) {
		t.Helper()
		if got := bothMatch(t, db, "sem", e, q); got != want {
			t.Errorf("%s = %v, want %v", q, got, want)
		}
	}

	// Typed strings: case-sensitive, byte order.
	f(`user = 'root'`, true)
	f(`user = 'ROOT'`, false)
	f(`user != 'ROOT'`, true)
	f(`user > 'r' AND user < 's'`, true)
	f(`user like 'r__t' AND user like 'r%' AND user like '%t' AND user like '%oo%'`, true)
	f(`user like 'R%'`, false)
	f(`user regex '^ro+t$' AND user regex 'oo'`, true)
	f(`user regex '(?i)ROOT'`, true)
	f(`user starts_with 'ro' AND user ends_with 'ot' AND user contains 'oo'`, true)
	f(`user in ('a', 'root')`, true)
	f(`containerId = 'c0ffee' AND container_id = 'c0ffee'`, true) // alias
	f(`exe = "/usr/sbin/chronyd" AND cwd = '/usr/bin'`, true)

	// Typed ints: numbers, and strings that read as integers.
	f(`pid = 3081 AND pid = '3081' AND pid = 3081.0 AND pid > 3080.5 AND pid < 3082`, true)
	f(`pid = 3081.5`, false)
	f(`session = '4294967295' AND session = '0xFFFFFFFF' AND session = 0xffffffff AND auid = 4294967295`, true)
	f(`pid starts_with '30' AND pid like '3%1' AND pid regex '^\d+$'`, true) // text form
	f(`pid in (1, '3081')`, true)

	// Typed bools.
	f(`success = true AND success = 'true' AND success = 'TRUE' AND success != false`, true)
	f(`success = false`, false)
	f(`success starts_with 'tr'`, true)

	// Times: epoch seconds below 1e11, else milliseconds, or RFC 3339.
	f(`event_time = 1600362961000 AND event_time = 1600362961 AND event_time = '1600362961000'`, true)
	f(`event_time = '2020-09-17T17:16:01Z' AND event_time = '2020-09-17T19:16:01+02:00'`, true)
	f(`event_time > 1600362960 AND event_time > 1600362960.999 AND event_time >= 1600362961`, true)
	f(`event_time > 1600362961`, false)
	f(`event_time > '2020-09-17T17:16:00.999999Z' AND event_time < '2020-09-17T17:16:01.000001Z'`, true)
	f(`event_time = 1600362961000.5`, false)
	f(`event_time != 1600362961000.5`, true)
	f(`event_time >= '2020-09-17' AND event_time < '2020-09-18'`, true)
	f(`_insert_time = 1600362999000`, true)

	// Lists: any element.
	f(`args = 'ps' AND args = '-e' AND args != 'ps'`, true)
	f(`args = 'ps -e'`, false)
	f(`args like '-%'`, true)
	f(`NOT args = 'ps'`, false)

	// Missing fields and null.
	f(`tty = null AND path = null AND Missing = null AND Nul = null`, true)
	f(`tty != null OR Missing != null OR Nul != null`, false)
	f(`user != null AND Num != null`, true)
	f(`tty = 'x' OR tty != 'x' OR tty < 'x' OR tty like '%'`, false)
	f(`NOT tty = 'x' AND NOT tty != 'x' AND NOT Missing starts_with ''`, true)
	f(`NOT (tty = 'x' OR user = 'nobody')`, true)
	f(`tty in ('a', null) AND Nul in (null)`, true)
	f(`Nul = 'null'`, false)

	// Raw JSON numbers.
	f(`Num = 5136 AND Num = '5136' AND Num = '0x1410' AND Num = 0x1410 AND Num > 5000 AND Num = 5136.0`, true)
	f(`Num starts_with '51' AND Num like '5%6' AND Num regex '^5136$'`, true) // text form
	f(`Num = 'abc'`, false)
	f(`Num < 'abc'`, true) // text: "5136" < "abc"
	f(`Neg = -7 AND Neg < 0 AND Neg = '-7'`, true)
	f(`Big = 9007199254740993 AND Big != 9007199254740992`, true) // integers compare exactly
	f(`Big = 9007199254740992.0`, true)                           // floats as float64
	f(`F = 1.5 AND F = '1.50' AND F = 1.50 AND F > 1 AND F < 2`, true)
	f(`F starts_with '1.5' AND F = '1.5'`, true) // text form 1.5
	f(`F contains '50'`, false)

	// Raw JSON strings, bools, arrays, objects.
	f(`GrantedAccess = '0x1410' AND GrantedAccess = 0x1410`, true)
	f(`GrantedAccess = 5136`, false) // a string compares as text
	f(`TargetImage ends_with 'lsass.exe' AND TargetImage like 'C:\\\\Windows%'`, true)
	f(`Quote = 'it\'s "quoted" 100% a_b \\ é'`, true)
	f(`Quote like '%100\%%' AND Quote like '%a\_b%' AND Quote like '%\\\\ _'`, true)
	f(`Quote like '%100\%x%'`, false)
	f(`T = true AND T = 'true' AND T != false`, true)
	f(`T = 1`, false)
	f(`Arr = 1 AND Arr = 'two' AND Arr = '[3]' AND Arr = '{"k":"v"}' AND Arr != 1`, true)
	f(`Arr = 3 OR Arr = null`, false)
	f(`Arr.1 = 'two' AND Arr.0 = 1`, true)
	f(`Arr.01 = 'two' OR Arr.9 = null AND Arr.- = 1`, false)
	f(`Arr.9 = null AND Arr.01 = null`, true)
	f(`Obj = '{"k":"v","n":1.0}' AND Obj contains '"k":"v"'`, true)
	f(`Obj.k = 'v' AND Obj.n = 1 AND Obj.n = '1.0'`, true)

	// Names: top-level key first, then the nested path.
	f(`a.b = 'top'`, true)
	f(`a.b = 'nested'`, false)
	f(`a.c.d = 7 AND header.id = 3162035 AND header.milliseconds < 1000`, true)
	f(`a.c.x = null AND a.c.d.e = null AND nope.x = null`, true)

	// Operator precedence: NOT > AND > OR.
	f(`user = 'x' AND pid = 1 OR success = true`, true)
	f(`user = 'x' AND (pid = 1 OR success = true)`, false)
	f(`NOT user = 'x' AND user = 'root'`, true)
}

// TestSeedQueries runs the seeds' queries on the seed sample event.
func TestSeedQueries(t *testing.T) {
	e := normalize(t, `{"agent_id": "65e341d1-c0d2-11ec-99e9-333bd87d55e3", "organization_id": "5fa075114135dd5944bb5faa",
	  "_insert_time": 1654273633669, "_id": "06775bf6-e35a-11ec-a852-12888c50dde9", "timestamp": 1654273630167,
	  "event_time": 1654273630167, "event_type": "audit", "args": ["/usr/sbin/chronyd"], "arguments": "/usr/sbin/chronyd",
	  "auid": 4294967295, "command": "chronyd", "exe": "/usr/sbin/chronyd", "exit": "0", "gid": 994, "group": "chrony",
	  "header": {"id": 3162035, "milliseconds": 167, "timestamp": 1654273630, "sequenceId": 427161847792120600},
	  "path": [], "pid": 2596, "ppid": 1, "session": 4294967295, "success": true, "syscall": "adjtimex", "type": "adjtimex",
	  "uid": 996, "user": "chrony", "host_metadata": {"hostname": "ip-172-31-30-113.us-east-2.compute.internal"}}`)
	db := openDuck(t)
	loadEvents(t, db, "seed", []*event.Event{e})
	f := func(q string, want bool) {
		t.Helper()
		if got := bothMatch(t, db, "seed", e, q); got != want {
			t.Errorf("%s = %v, want %v", q, got, want)
		}
	}
	for _, q := range seedQueries {
		bothMatch(t, db, "seed", e, q)
	}
	f(`user = 'chrony' AND tty = null AND session = '4294967295' AND auid = '4294967295' AND exe = '/usr/sbin/chronyd'`, true)
	f(`agent_id = "65e341d1-c0d2-11ec-99e9-333bd87d55e3" AND event_time >= 1654273630000 AND event_time <= 1654273631000`, true)
	f(`event_type = "audit" AND event_time > 1654273630`, true)
	f(`header.sequenceId = 427161847792120600 AND header.sequenceId != 427161847792120601`, true)
	f(`host_metadata.hostname ends_with '.compute.internal' AND hostname ends_with '.compute.internal'`, true)
	f(`path = null`, false) // present, empty
	f(`path = ''`, false)
	f(`exit = 0 AND exit = '0'`, true)
}

// TestSQLInjection: field names and values cannot leave their parameters,
// whatever they hold.
func TestSQLInjection(t *testing.T) {
	evil := []string{
		`a"]') OR 1=1 --`, `x' OR '1'='1`, `x") OR ("raw`, `$.a[*]`, `a/b~c`, `') ; DROP TABLE t; --`, "a\x00b", `\`, `*`, `[0]`,
	}
	var evs []*event.Event
	for i, name := range evil {
		e := &event.Event{}
		e.SetString(event.ID, "ev"+string(rune('a'+i)))
		e.Raw = append(event.AppendJSONString([]byte(`{`), name), `:"hit"}`...)
		evs = append(evs, e)
	}
	db := openDuck(t)
	loadEvents(t, db, "inj", evs)
	for i, name := range evil {
		for _, value := range []string{"hit", `' OR 1=1 --`} {
			n := &Compare{Field: &Ident{Name: name}, Op: OpEq, Values: []*Literal{{Kind: LitString, Value: value}}}
			s, err := ToSQL(n)
			if err != nil {
				t.Fatal(err)
			}
			for _, leak := range []string{name, value} {
				if len(leak) > 2 && strings.Contains(s.Where, leak) {
					t.Errorf("SQL text %s holds %q", s.Where, leak)
				}
			}
			ids, err := selectIDs(db, "inj", s)
			if err != nil {
				t.Fatalf("%s: %v", s.Where, err)
			}
			want := map[string]bool{}
			if value == "hit" {
				want[evs[i].Str[event.ID]] = true
			}
			if len(ids) != len(want) || !ids[evs[i].Str[event.ID]] && value == "hit" {
				t.Errorf("field %q = %q selects %v, want %v", name, value, ids, want)
			}
			// The printed query parses back to the same field name.
			if m, err := Parse(Print(n)); err != nil || !Equal(m, n) {
				t.Errorf("%q does not round-trip: %v", Print(n), err)
			}
		}
	}
}

// TestTimeFilterPushdown: on a read_parquet view the event_time comparisons
// reach the Parquet scan as constant filters (row-group statistics).
func TestTimeFilterPushdown(t *testing.T) {
	db := openDuck(t)
	var evs []*event.Event
	for i := range 100 {
		e := &event.Event{}
		e.SetString(event.ID, "p"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		e.SetString(event.AgentID, "agent")
		e.SetInt(event.EventTime, 1600362900000+int64(i)*1000)
		evs = append(evs, e)
	}
	loadEvents(t, db, "src", evs)
	path := filepath.Join(t.TempDir(), "part.parquet")
	if _, err := db.Exec(`COPY src TO '` + path + `' (FORMAT parquet, ROW_GROUP_SIZE 10)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE VIEW pv AS SELECT * FROM read_parquet('` + path + `')`); err != nil {
		t.Fatal(err)
	}
	s, err := ToSQLString(`agent_id = "agent" AND event_time >= 1600362902289 AND event_time <= 1600362992764`)
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	rows, err := db.Query(`EXPLAIN SELECT "_id" FROM pv WHERE `+s.Where, s.Args...)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(v)
	}
	rows.Close()
	p := strings.ReplaceAll(plan.String(), "\n", "")
	p = strings.NewReplacer("│", "", " ", "").Replace(p)
	if !strings.Contains(p, "READ_PARQUET") || !strings.Contains(p, "event_time>='2020-09-1717:15:02.289'::TIMESTAMP") ||
		!strings.Contains(p, "event_time<='2020-09-1717:16:32.764'::TIMESTAMP") || strings.Contains(p, "FILTER") {
		t.Errorf("event_time is not pushed into the Parquet scan:\n%s", plan.String())
	}
	ids, err := selectIDs(db, "pv", s)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 90 { // seconds 3..92
		t.Errorf("%d rows, want 90", len(ids))
	}
	if os.Getenv("SHOW_PLAN") != "" {
		t.Log(plan.String())
	}
}

func TestTimeBounds(t *testing.T) {
	const inf, ninf = math.MaxInt64, math.MinInt64
	f := func(q string, min, max int64, ok bool) {
		t.Helper()
		n, err := Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		gmin, gmax, gok := TimeBounds(n)
		if gmin != min || gmax != max || gok != ok {
			t.Errorf("TimeBounds(%s) = %d, %d, %v; want %d, %d, %v", q, gmin, gmax, gok, min, max, ok)
		}
	}
	f(`agent_id = "a" AND event_time >= 1600362902289 AND event_time <= 1600362992764`, 1600362902289, 1600362992764, true)
	f(`event_type = "login" AND event_time > 1600362961`, 1600362961001, inf, true)
	f(`event_time < 1600362961`, ninf, 1600362960999, true)
	f(`event_time > 1600362961000.5 AND event_time < 1600362962000.5`, 1600362961001, 1600362962000, true)
	f(`event_time >= 1600362961000.5 AND event_time <= 1600362962000.5`, 1600362961001, 1600362962000, true)
	f(`event_time = '1654270691800'`, 1654270691800, 1654270691800, true)
	f(`eventTime = '2020-09-17T17:16:01Z'`, 1600362961000, 1600362961000, true)
	f(`event_time IN (1600362961, 1600362962)`, 1600362961000, 1600362962000, true)
	f(`event_time = 1600362961000.5`, inf, ninf, true) // no event can match
	f(`event_time > 5 AND event_time < 3`, 5001, 2999, true)
	f(`event_time > 1600362961 OR user = 'x'`, ninf, inf, false) // OR: no bound
	f(`NOT event_time > 1600362961`, ninf, inf, false)
	f(`user = 'x'`, ninf, inf, false)
	f(`event_time IN (1, null)`, ninf, inf, false)
	f(`_insert_time > 1600362961`, ninf, inf, false)
	f(`(event_time > 10 AND user = 'x') AND (event_time < 20 AND pid = 1)`, 10001, 19999, true)
}
