package lake

import (
	"slices"

	"github.com/spoor-dev/spoor/internal/event"
)

// Problems lists what recovery found and worked around.
func (s *Store) Problems() []Problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.problems)
}

// Parts returns the part files of org whose partitions overlap [from, to]
// (epoch ms, inclusive), without opening any of them.
func (s *Store) Parts(org string, from, to int64) []string {
	lo, hi := event.DateKeyOf(max(from, 0)), event.DateKeyOf(min(to, event.MaxTime))
	s.mu.Lock()
	defer s.mu.Unlock()
	var files []string
	for k, ps := range s.parts {
		if k.org != org || k.dateKey < lo || k.dateKey > hi {
			continue
		}
		for i := 0; i < len(ps); i++ {
			p := &ps[i]
			// The cheap frame check runs when a part is first read, not at
			// open: a query over an hour opens no other part.
			if !p.checked {
				if err := checkParquetFrame(p.Path); err != nil {
					s.quarantineLocked(k, p.Path, err.Error())
					ps = s.parts[k]
					i--
					continue
				}
				p.checked = true
			}
			files = append(files, p.Path)
		}
	}
	slices.Sort(files)
	return files
}

// Orgs lists the organizations that have parts or head events.
func (s *Store) Orgs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for k := range s.parts {
		seen[k.org] = true
	}
	for k := range s.head {
		seen[k.org] = true
	}
	var out []string
	for o := range seen {
		out = append(out, o)
	}
	slices.Sort(out)
	return out
}

// Stats describe the store for summaries and metrics.
type Stats struct {
	Parts      int
	PartBytes  int64
	HeadEvents int
	WALBytes   int64
}

// Stats returns the current counts.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{HeadEvents: s.headN}
	if s.log != nil {
		st.WALBytes = s.log.size()
	}
	for _, ps := range s.parts {
		st.Parts += len(ps)
		for _, p := range ps {
			st.PartBytes += p.Size
		}
	}
	return st
}

// OrgStats counts one organization's parts and head events (WAL bytes are
// shared by all and left out).
func (s *Store) OrgStats(org string) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st Stats
	for k, ps := range s.parts {
		if k.org != org {
			continue
		}
		st.Parts += len(ps)
		for _, p := range ps {
			st.PartBytes += p.Size
		}
	}
	for k, evs := range s.head {
		if k.org == org {
			st.HeadEvents += len(evs)
		}
	}
	return st
}
