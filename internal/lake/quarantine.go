package lake

import (
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

// quarantine moves a bad part of partition k out of the lake so the rest
// stays readable. s.mu is held (or the store is being opened).
func (s *Store) quarantine(k partKey, path, why string) {
	s.quarantined[k]++
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
	}
	s.problems = append(s.problems, Problem{What: "part", Path: path, Msg: why + " (moved to " + dst + ")"})
	s.opts.Logger.Warn("corrupt part quarantined", "path", path, "reason", why)
}

// quarantineSep joins the elements of a part's lake path in its quarantine
// name: events__organization_id=ORG__date_key=KEY__part-ULID.parquet.
const quarantineSep = "__"

// Quarantine takes a part that spoor found damaged out of the lake.
func (s *Store) Quarantine(path, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, ps := range s.parts {
		if slices.ContainsFunc(ps, func(p Part) bool { return p.Path == path }) {
			delete(s.ids, k)
			s.quarantineLocked(k, path, why)
			return
		}
	}
}

func (s *Store) quarantineLocked(k partKey, path, why string) {
	s.parts[k] = slices.DeleteFunc(s.parts[k], func(p Part) bool { return p.Path == path })
	s.quarantine(k, path, why)
}

// scanQuarantine counts the parts an earlier run quarantined, per partition.
func (s *Store) scanQuarantine() {
	ents, _ := os.ReadDir(filepath.Join(s.dir, quarantine))
	for _, e := range ents {
		if k, ok := quarantinedPartition(e.Name()); ok {
			s.quarantined[k]++
		}
	}
}

// quarantinedPartition reads the partition of a part from its quarantine
// name. Organization ids are escaped (escapePathValue), so "=" marks the
// start of the date key whatever the id holds.
func quarantinedPartition(name string) (partKey, bool) {
	rest, ok := strings.CutPrefix(name, eventsDir+quarantineSep+orgPrefix)
	if !ok {
		return partKey{}, false
	}
	i := strings.LastIndex(rest, quarantineSep+datePrefix)
	if i < 0 {
		return partKey{}, false
	}
	dk, _, ok := strings.Cut(rest[i+len(quarantineSep+datePrefix):], quarantineSep)
	if !ok {
		return partKey{}, false
	}
	return partKey{unescapePathValue(rest[:i]), dk}, true
}

// Quarantined lists the hours (date keys) of org's partitions in [from, to]
// (epoch ms) that have parts in quarantine: answers over that range lack
// those parts' events.
func (s *Store) Quarantined(org string, from, to int64) []string {
	lo, hi := event.DateKeyOf(max(from, 0)), event.DateKeyOf(min(to, event.MaxTime))
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k, n := range s.quarantined {
		if n > 0 && k.org == org && k.dateKey >= lo && k.dateKey <= hi {
			keys = append(keys, k.dateKey)
		}
	}
	slices.Sort(keys)
	return keys
}
