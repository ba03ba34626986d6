package winevent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	vevtx "www.velocidex.com/golang/evtx"
)

// evtxKnownDiffs lists the files whose EVTX and evtx_dump JSON cannot
// match, with the reason.
var evtxKnownDiffs = map[string]string{
	"rules/windows/process_creation/proc_creation_win_susp_right_to_left_override/ad691d92-15f2-4181-9aa4-723c74f9ddc3.evtx": "" +
		"the .json is not this .evtx: its ParentCommandLine says Explorer.exe, the EVTX record Explorer.EXE",
}

// sameValue compares a Raw member read from EVTX with the one read from
// evtx_dump JSON. evtx_dump trims the white space around text values,
// which the EVTX reader keeps, and writes GUIDs upper-case without braces,
// where spoor stores them lowercase in braces.
func sameValue(a, b any) bool {
	as, bs := fmt.Sprint(a), fmt.Sprint(b)
	if as == bs {
		return true
	}
	if ga, ok := canonGUID(as); ok {
		gb, _ := canonGUID(bs)
		return ga == gb
	}
	return strings.TrimSpace(as) == strings.TrimSpace(bs)
}

func eventDataOf(t *testing.T, rec []byte) map[string]any {
	var doc struct {
		Event struct {
			EventData map[string]json.RawMessage
			UserData  map[string]map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(rec, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	add := func(m map[string]json.RawMessage) {
		for k, v := range m {
			if k == "#attributes" {
				var a map[string]any
				json.Unmarshal(v, &a)
				for ak, av := range a {
					if ak != "xmlns" {
						out[ak] = av
					}
				}
				continue
			}
			var x any
			d := json.NewDecoder(strings.NewReader(string(v)))
			d.UseNumber()
			d.Decode(&x)
			out[k] = x
		}
	}
	add(doc.Event.EventData)
	for _, inner := range doc.Event.UserData {
		add(inner)
	}
	return out
}

func TestEVTXMatchesJSON(t *testing.T) {
	files := evtxFiles(t)
	total, mismatched := 0, 0
	for _, path := range files {
		name, _ := filepath.Rel(regressionDir, path)
		c := decodeFile(t, path)
		recs := jsonRecords(t, strings.TrimSuffix(path, ".evtx")+".json")
		var fromJSON []*event.Event
		for _, r := range recs {
			e := new(event.Event)
			if err := Convert(r, e); err != nil {
				t.Errorf("%s: Convert: %v", name, err)
				continue
			}
			fromJSON = append(fromJSON, e)
		}
		var problems []string
		if n := velocidexCount(t, path); n != len(c.events)+len(c.rejects) {
			problems = append(problems, fmt.Sprintf("velocidex/evtx counts %d records, the decoder gives %d events and %d rejects", n, len(c.events), len(c.rejects)))
		}
		if len(c.rejects) > 0 {
			problems = append(problems, fmt.Sprintf("rejects %+v", c.rejects))
		}
		if len(c.events) != len(recs) {
			problems = append(problems, fmt.Sprintf("EVTX gives %d events, the JSON holds %d records", len(c.events), len(recs)))
		}
		byRec := func(es []*event.Event) {
			sort.Slice(es, func(i, j int) bool { return es[i].Int[event.RecordNumber] < es[j].Int[event.RecordNumber] })
		}
		byRec(c.events)
		byRec(fromJSON)
		for i := 0; i < len(c.events) && i < len(fromJSON); i++ {
			a, b := c.events[i], fromJSON[i]
			total++
			for _, f := range event.Catalog() {
				av, aok := a.Value(f.ID)
				bv, bok := b.Value(f.ID)
				if aok != bok || av.String() != bv.String() {
					problems = append(problems, fmt.Sprintf("record %d: %s: evtx %v (%v), json %v (%v)", b.Int[event.RecordNumber], f.Name, av, aok, bv, bok))
				}
			}
			ra := rawMap(t, a)
			for k, v := range eventDataOf(t, recs[indexOfRecord(t, recs, b.Int[event.RecordNumber])]) {
				if !sameValue(ra[k], v) {
					problems = append(problems, fmt.Sprintf("record %d: raw %q: evtx %v, json %v", b.Int[event.RecordNumber], k, ra[k], v))
				}
			}
			rb := rawMap(t, b)
			for _, k := range []string{"EventID", "Channel", "Computer", "Provider", "ProviderGuid", "EventRecordID", "Level", "Task", "Opcode", "Keywords", "Version", "ExecutionProcessID", "ExecutionThreadID", "UserID", "TimeCreated", "ActivityID"} {
				if !sameValue(ra[k], rb[k]) {
					problems = append(problems, fmt.Sprintf("record %d: raw System %q: evtx %v, json %v", b.Int[event.RecordNumber], k, ra[k], rb[k]))
				}
			}
		}
		if why, known := evtxKnownDiffs[name]; known {
			if len(problems) == 0 {
				t.Errorf("%s is listed as not matching (%s) but matches", name, why)
			}
			continue
		}
		if len(problems) > 0 {
			mismatched++
			if len(problems) > 5 {
				problems = problems[:5]
			}
			t.Errorf("%s:\n\t%s", name, strings.Join(problems, "\n\t"))
		}
	}
	t.Logf("%d files, %d records compared, %d files mismatched, %d listed", len(files), total, mismatched, len(evtxKnownDiffs))
}

// velocidexCount counts a file's records with the other EVTX reader.
func velocidexCount(t *testing.T, path string) int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunks, err := vevtx.GetChunks(f)
	if err != nil {
		t.Fatalf("%s: velocidex: %v", path, err)
	}
	n := 0
	for _, c := range chunks {
		recs, err := c.Parse(0)
		if err != nil {
			t.Fatalf("%s: velocidex: %v", path, err)
		}
		n += len(recs)
	}
	return n
}

func indexOfRecord(t *testing.T, recs [][]byte, n int64) int {
	for i, r := range recs {
		var doc struct {
			Event struct{ System struct{ EventRecordID int64 } }
		}
		json.Unmarshal(r, &doc)
		if doc.Event.System.EventRecordID == n {
			return i
		}
	}
	t.Fatalf("record %d not in the JSON", n)
	return -1
}
