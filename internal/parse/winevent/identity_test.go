package winevent

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/event"
)

// dumpRec is one Security record in evtx_dump's shape.
func dumpRec(computer string, recNum int, when, user string) []byte {
	return []byte(fmt.Sprintf(`{"Event":{"System":{"EventID":4625,"Channel":"Security","Computer":%q,"EventRecordID":%d,`+
		`"TimeCreated":{"#attributes":{"SystemTime":%q}},"Keywords":"0x8010000000000000"},`+
		`"EventData":{"TargetUserName":%q,"TargetDomainName":"LAB","LogonType":3,"IpAddress":"10.0.0.5","Status":"0xc000006d"}}}`,
		computer, recNum, when, user))
}

func convertID(t *testing.T, rec []byte) string {
	t.Helper()
	var e event.Event
	if err := Convert(rec, &e); err != nil {
		t.Fatalf("%s: %v", rec, err)
	}
	if !e.Has(event.ID) {
		t.Fatalf("%s: no _id", rec)
	}
	return e.Str[event.ID]
}

// Two lab machines named alike write records with the same numbers; each
// record keeps its own _id, and the same record read again keeps its _id.
func TestIDsIdentifyContent(t *testing.T) {
	recs := [][]byte{
		dumpRec("LAB-WIN10", 7, "2024-03-05T10:00:00.100Z", "alice"),
		dumpRec("LAB-WIN10", 7, "2024-03-05T11:30:00.100Z", "alice"), // the other VM, later
		dumpRec("LAB-WIN10", 7, "2024-03-05T10:00:00.100Z", "bob"),   // same second, other content
		dumpRec("LAB-WIN10", 8, "2024-03-05T10:00:00.100Z", "alice"),
		dumpRec("LAB-WIN11", 7, "2024-03-05T10:00:00.100Z", "alice"),
	}
	seen := map[string]int{}
	for i, r := range recs {
		id := convertID(t, r)
		if j, dup := seen[id]; dup {
			t.Errorf("records %d and %d share _id %s", j, i, id)
		}
		seen[id] = i
		if again := convertID(t, r); again != id {
			t.Errorf("record %d: _id %s, read again %s", i, id, again)
		}
	}
	// The same record from the other exports: Winlogbeat (strings,
	// lowercase channel case kept) and NXLog (flat, whole seconds in the
	// collector's local time, here UTC-4).
	beat := `{"@timestamp":"2024-03-05T10:00:00.100Z","winlog":{"event_id":"4625","channel":"Security","computer_name":"LAB-WIN10","record_id":"7",` +
		`"provider_name":"Microsoft-Windows-Security-Auditing","keywords":["Audit Failure"],` +
		`"event_data":{"TargetUserName":"alice","TargetDomainName":"LAB","LogonType":"3","IpAddress":"10.0.0.5","Status":"0xc000006d"}}}`
	nxlog := `{"EventTime":"2024-03-05 06:00:00","EventReceivedTime":"2024-03-05 06:00:01","@timestamp":"2024-03-05T10:00:01.000Z",` +
		`"Hostname":"LAB-WIN10","EventID":4625,"Channel":"security","SourceName":"Microsoft-Windows-Security-Auditing","RecordNumber":7,` +
		`"TargetUserName":"alice","TargetDomainName":"LAB","LogonType":"3","IpAddress":"10.0.0.5","Status":"0xc000006d","SubjectUserName":"-"}`
	want := convertID(t, recs[0])
	for name, r := range map[string]string{"winlogbeat": beat, "nxlog": nxlog} {
		if got := convertID(t, []byte(r)); got != want {
			t.Errorf("%s: _id %s, the evtx_dump record's %s", name, got, want)
		}
	}
}

// patchTimes rewrites the creation time of every record of an EVTX file:
// the record header's FILETIME and each copy of it in the record (the
// TimeCreated substitution), then the chunks' checksums. It returns how
// many records had a copy to rewrite.
func patchTimes(t *testing.T, b []byte, f func(uint64) uint64) ([]byte, int) {
	t.Helper()
	b = append([]byte(nil), b...)
	le := binary.LittleEndian
	patched := 0
	for c := fileHeaderSize; c+chunkSize <= len(b); c += chunkSize {
		chunk := b[c : c+chunkSize]
		if string(chunk[:8]) != chunkMagic {
			continue
		}
		free := int(le.Uint32(chunk[0x30:]))
		for off := chunkHdrSize; off+28 <= free; {
			size := int(le.Uint32(chunk[off+4:]))
			if string(chunk[off:off+4]) != "**\x00\x00" || size < 28 || off+size > free {
				break
			}
			var old, now [8]byte
			copy(old[:], chunk[off+16:off+24])
			le.PutUint64(now[:], f(le.Uint64(old[:])))
			body := chunk[off+24 : off+size-4]
			if n := strings.Count(string(body), string(old[:])); n > 0 {
				copy(body, strings.ReplaceAll(string(body), string(old[:]), string(now[:])))
				patched++
			}
			copy(chunk[off+16:], now[:])
			off += size
		}
		fixCRCs(chunk)
	}
	return b, patched
}

func oneEVTX(t *testing.T, rel string) []byte {
	t.Helper()
	evtxFiles(t) // skips without the data set
	b, err := os.ReadFile(filepath.Join(regressionDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sysmonEVTX holds six Sysmon 1 records.
const sysmonEVTX = "rules-emerging-threats/2025/Malware/Shai-Hulud/proc_creation_win_mal_shai_hulud_malicious_node_bun_execution/5299fadf-f228-4526-8274-251db1960be9.evtx"

// The same EVTX log written by two machines of one name an hour apart
// (record numbers restart with each log): every record of both keeps an
// _id of its own; reading a file again gives the same _ids.
func TestEVTXSameNameSameNumbers(t *testing.T) {
	a := oneEVTX(t, sysmonEVTX)
	const hour = uint64(time.Hour / 100)
	b, n := patchTimes(t, a, func(ft uint64) uint64 { return ft + hour })
	if n == 0 {
		t.Fatal("no record's TimeCreated was found to patch")
	}
	ea, eb := decodeBytes(t, a).events, decodeBytes(t, b).events
	if len(ea) == 0 || len(ea) != len(eb) {
		t.Fatalf("%d and %d events", len(ea), len(eb))
	}
	ids := map[string]bool{}
	for i := range ea {
		if ea[i].Str[event.Hostname] != eb[i].Str[event.Hostname] || ea[i].Int[event.RecordNumber] != eb[i].Int[event.RecordNumber] {
			t.Fatalf("record %d: the patched file names another host or number", i)
		}
		ids[ea[i].Str[event.ID]], ids[eb[i].Str[event.ID]] = true, true
	}
	if len(ids) != 2*len(ea) {
		t.Errorf("%d distinct _ids for %d records", len(ids), 2*len(ea))
	}
	for i, e := range decodeBytes(t, a).events {
		if e.Str[event.ID] != ea[i].Str[event.ID] {
			t.Errorf("record %d: _id changed on a second read", i)
		}
	}
}

// A TimeCreated FILETIME of 0 is 1601-01-01 (the value is required), not
// a date from the modulo of an overflow; raw then has no TimeCreated.
func TestZeroFILETIME(t *testing.T) {
	b, n := patchTimes(t, oneEVTX(t, sysmonEVTX), func(uint64) uint64 { return 0 })
	if n == 0 {
		t.Fatal("no record's TimeCreated was found to patch")
	}
	c := decodeBytes(t, b)
	if len(c.events) == 0 || len(c.rejects) > 0 {
		t.Fatalf("%d events, rejects %+v", len(c.events), c.rejects)
	}
	for _, e := range c.events {
		if got := e.Time().Format(time.RFC3339Nano); got != "1601-01-01T00:00:00Z" {
			t.Errorf("record %d: event_time %s, want 1601-01-01T00:00:00Z", e.Int[event.RecordNumber], got)
		}
		if raw := rawMap(t, e); raw["TimeCreated"] != nil {
			t.Errorf("record %d: raw TimeCreated %v, want none", e.Int[event.RecordNumber], raw["TimeCreated"])
		}
	}
}

// FILETIME and SYSTEMTIME values: 0 is no value; other times before 1970
// are converted exactly.
func TestTimeValues(t *testing.T) {
	p := &chunkParser{}
	val := func(typ byte, b []byte) (string, bool) {
		t.Helper()
		p.reset(make([]byte, chunkSize))
		copy(p.b[0x300:], b)
		top := &xelem{}
		if err := p.substitute(sub{typ: typ, off: 0x300, size: len(b)}, top, nil, 0); err != nil {
			t.Fatal(err)
		}
		return joinVals(top.vals), len(top.vals) > 0
	}
	ft := func(tm time.Time) []byte {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(tm.Unix()+11644473600)*1e7+uint64(tm.Nanosecond()/100))
		return b[:]
	}
	if s, ok := val(0x11, make([]byte, 8)); ok {
		t.Errorf("FILETIME 0: %q, want no value", s)
	}
	if s, ok := val(0x12, make([]byte, 16)); ok {
		t.Errorf("SYSTEMTIME 0: %q, want no value", s)
	}
	for _, tm := range []time.Time{
		time.Date(1601, 1, 1, 0, 0, 0, 100, time.UTC),
		time.Date(1893, 5, 6, 7, 8, 9, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2024, 3, 5, 10, 11, 12, 345678000, time.UTC),
	} {
		want := tm.Format(timeLayout)
		if s, _ := val(0x11, ft(tm)); s != want {
			t.Errorf("FILETIME of %v: %q, want %q", tm, s, want)
		}
	}
}

// The same Sysmon event from an EVTX file and from its JSON exports has
// the same GUIDs in raw, the columns users join on, in the form Sysmon
// writes them; raw System GUIDs too.
func TestGUIDsOneForm(t *testing.T) {
	path := filepath.Join(regressionDir, sysmonEVTX)
	evtxFiles(t)
	c := decodeFile(t, path)
	recs := jsonRecords(t, strings.TrimSuffix(path, ".evtx")+".json")
	if len(c.events) == 0 || len(c.events) != len(recs) {
		t.Fatalf("%d EVTX events, %d JSON records", len(c.events), len(recs))
	}
	checked := 0
	for i, r := range recs {
		var e event.Event
		if err := Convert(r, &e); err != nil {
			t.Fatal(err)
		}
		ra, rb := rawMap(t, c.events[i]), rawMap(t, &e)
		for _, k := range []string{"ProcessGuid", "ParentProcessGuid", "LogonGuid", "ProviderGuid"} {
			a, b := fmt.Sprint(ra[k]), fmt.Sprint(rb[k])
			if canon, ok := canonGUID(a); !ok || canon != a || a != b {
				t.Errorf("record %d: %s: evtx %s, evtx_dump %s; want one canonical GUID", i, k, a, b)
			}
			checked++
		}
	}
	// Winlogbeat writes lowercase in braces, evtx_dump uppercase bare.
	br, dr := rawMap(t, convertFile(t, "beat_sysmon1.json")), rawMap(t, convertFile(t, "dump_sysmon1.json"))
	for _, k := range []string{"ProcessGuid", "ParentProcessGuid", "LogonGuid", "ProviderGuid"} {
		if br[k] != dr[k] || br[k] == nil {
			t.Errorf("%s: winlogbeat %v, evtx_dump %v", k, br[k], dr[k])
		}
	}
	if dr["ProcessGuid"] != "{aaaaaaaa-0d15-68fd-b436-000000004002}" {
		t.Errorf("evtx_dump ProcessGuid %v", dr["ProcessGuid"])
	}
	t.Logf("%d GUIDs compared", checked)
}

func TestCanonGUID(t *testing.T) {
	f := func(in, want string, ok bool) {
		t.Helper()
		got, gok := canonGUID(in)
		if got != want || gok != ok {
			t.Errorf("canonGUID(%q) = %q, %v; want %q, %v", in, got, gok, want, ok)
		}
	}
	f("AAAAAAAA-0D15-68FD-B436-000000004002", "{aaaaaaaa-0d15-68fd-b436-000000004002}", true)
	f("{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}", true)
	f("{5770385f-c22a-43e0-bf4c-06f5698ffbd9}", "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}", true)
	f("{5770385f-c22a-43e0-bf4c-06f5698ffbd9", "{5770385f-c22a-43e0-bf4c-06f5698ffbd9", false)
	f("5770385g-c22a-43e0-bf4c-06f5698ffbd9", "5770385g-c22a-43e0-bf4c-06f5698ffbd9", false)
	f("5770385f0c22a-43e0-bf4c-06f5698ffbd9", "5770385f0c22a-43e0-bf4c-06f5698ffbd9", false)
	f("-", "-", false)
}
