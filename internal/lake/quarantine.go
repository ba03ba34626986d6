package lake

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spoor-dev/spoor/internal/event"
)

// A part is quarantined only on spoor's own evidence about the file: its
// name, its Parquet frame, a read by the lake itself, or a full read the
// caller ran on its own query (datadir), never on the words of a failed
// user query. Quarantined parts stay in DATA/quarantine, named after their
// path in the lake, until an operator restores or deletes them; until then
// answers over their hours say they lack events (Quarantined).

// anyOrg marks a quarantined part whose organizations are unknown (its
// index could not be read): every organization's answers over its day say
// they may lack events.
const anyOrg = "\x00any"

// quarantine moves a bad part of day out of the lake so the rest stays
// readable; orgs are the organizations it held ([anyOrg] when unknown).
// s.mu is held (or the store is being opened).
func (s *Store) quarantine(day string, orgs []string, path, why string) {
	if s.quarantined[day] == nil {
		s.quarantined[day] = map[string]bool{}
	}
	for _, o := range orgs {
		s.quarantined[day][o] = true
	}
	if s.readOnly {
		s.problems = append(s.problems, Problem{What: "part", Path: path, Msg: why + " (skipped)"})
		return
	}
	qdir := filepath.Join(s.dir, quarantine)
	os.MkdirAll(qdir, 0o755)
	rel, _ := filepath.Rel(filepath.Join(s.dir, lakeDir), path)
	dst := filepath.Join(qdir, strings.ReplaceAll(rel, string(filepath.Separator), quarantineSep))
	if err := os.Rename(path, dst); err != nil {
		why += "; could not move it to quarantine: " + err.Error()
		dst = path
	} else if !slices.Contains(orgs, anyOrg) {
		// Which organizations it held, for the warnings after a restart
		// (the part's own footer may be what is damaged).
		b, _ := json.Marshal(orgs)
		os.WriteFile(dst+orgsSuffix, b, 0o644)
	}
	s.problems = append(s.problems, Problem{What: "part", Path: path, Msg: why + " (moved to " + dst + ")"})
	s.opts.Logger.Warn("corrupt part quarantined", "path", path, "reason", why)
}

// orgsSuffix names the file beside a quarantined part that lists the
// organizations it held.
const orgsSuffix = ".orgs.json"

// quarantineSep joins the elements of a part's lake path in its quarantine
// name: events__day=YYYY-MM-DD__part-ULID.parquet (and, for parts of the
// older layout, events__organization_id=ORG__date_key=KEY__part-ULID.parquet).
const quarantineSep = "__"

// Quarantine takes a part that spoor found damaged out of the lake.
func (s *Store) Quarantine(path, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for day, ps := range s.parts {
		if slices.ContainsFunc(ps, func(p Part) bool { return p.Path == path }) {
			delete(s.ids, day)
			s.quarantineLocked(day, path, why)
			return
		}
	}
}

// quarantineLocked quarantines a part of the catalog. s.mu is held.
func (s *Store) quarantineLocked(day, path, why string) {
	orgs := []string{anyOrg}
	if i := slices.IndexFunc(s.parts[day], func(p Part) bool { return p.Path == path }); i >= 0 && s.parts[day][i].indexed() {
		orgs = slices.Sorted(maps.Keys(s.parts[day][i].orgs))
	}
	s.parts[day] = slices.DeleteFunc(s.parts[day], func(p Part) bool { return p.Path == path })
	s.quarantine(day, orgs, path, why)
}

// scanQuarantine notes the days (and, for parts of the older layout, the
// organization) of the parts an earlier run quarantined.
func (s *Store) scanQuarantine() {
	ents, _ := os.ReadDir(filepath.Join(s.dir, quarantine))
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), orgsSuffix) {
			continue
		}
		day, org, ok := quarantinedPartition(e.Name())
		if !ok {
			continue
		}
		if s.quarantined[day] == nil {
			s.quarantined[day] = map[string]bool{}
		}
		var orgs []string
		b, err := os.ReadFile(filepath.Join(s.dir, quarantine, e.Name()+orgsSuffix))
		if org != anyOrg || err != nil || json.Unmarshal(b, &orgs) != nil || len(orgs) == 0 {
			orgs = []string{org}
		}
		for _, o := range orgs {
			s.quarantined[day][o] = true
		}
	}
}

// quarantinedPartition reads the day (and organization, when the name
// says it) of a part from its quarantine name. Organization ids are
// escaped (escapePathValue), so "=" marks the start of the date key
// whatever the id holds.
func quarantinedPartition(name string) (day, org string, ok bool) {
	if rest, ok := strings.CutPrefix(name, eventsDir+quarantineSep+dayPrefix); ok {
		day, _, ok := strings.Cut(rest, quarantineSep)
		return day, anyOrg, ok
	}
	rest, ok := strings.CutPrefix(name, eventsDir+quarantineSep+orgPrefix)
	if !ok {
		return "", "", false
	}
	i := strings.LastIndex(rest, quarantineSep+datePrefix)
	if i < 0 {
		return "", "", false
	}
	dk, _, ok := strings.Cut(rest[i+len(quarantineSep+datePrefix):], quarantineSep)
	if !ok {
		return "", "", false
	}
	return dayOf(dk), unescapePathValue(rest[:i]), true
}

// Quarantined lists the days of [from, to] (epoch ms) with parts in
// quarantine that held (or may have held) org's events: answers over that
// range may lack those parts' events.
func (s *Store) Quarantined(org string, from, to int64) []string {
	lo, hi := dayOf(event.DateKeyOf(max(from, 0))), dayOf(event.DateKeyOf(min(to, event.MaxTime)))
	s.mu.Lock()
	defer s.mu.Unlock()
	var days []string
	for day, orgs := range s.quarantined {
		if (orgs[org] || orgs[anyOrg]) && day >= lo && day <= hi {
			days = append(days, day)
		}
	}
	slices.Sort(days)
	return days
}
