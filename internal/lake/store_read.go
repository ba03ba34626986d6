package lake

import (
	"maps"
	"slices"

	"github.com/spoor-dev/spoor/internal/event"
)

// Problems lists what recovery found and worked around.
func (s *Store) Problems() []Problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.problems)
}

// Parts returns the part files holding org's events in the days that
// overlap [from, to] (epoch ms, inclusive). It reads the footer index of
// each part of those days the first time (a part whose footer is unsound
// goes to quarantine), and no other part.
func (s *Store) Parts(org string, from, to int64) []string {
	lo, hi := dayOf(event.DateKeyOf(max(from, 0))), dayOf(event.DateKeyOf(min(to, event.MaxTime)))
	s.mu.Lock()
	defer s.mu.Unlock()
	var files []string
	for day := range s.parts {
		if day < lo || day > hi {
			continue
		}
		s.indexDay(day)
		for _, p := range s.parts[day] {
			if p.orgs[org] > 0 {
				files = append(files, p.Path)
			}
		}
	}
	slices.Sort(files)
	return files
}

// indexDay reads the footer index of the day's parts not indexed yet,
// quarantining those it cannot read. s.mu is held.
func (s *Store) indexDay(day string) {
	ps := s.parts[day]
	for i := 0; i < len(ps); i++ {
		p := &ps[i]
		if p.indexed() {
			continue
		}
		orgs, rows, err := readIndex(p.Path)
		if err != nil {
			s.quarantineLocked(day, p.Path, err.Error())
			ps = s.parts[day]
			i--
			continue
		}
		p.orgs, p.rows = orgs, rows
	}
}

// Orgs lists the organizations that have parts or head events.
func (s *Store) Orgs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for day := range s.parts {
		s.indexDay(day)
		for _, p := range s.parts[day] {
			for o := range p.orgs {
				seen[o] = true
			}
		}
	}
	for k := range s.head {
		seen[k.org] = true
	}
	return slices.Sorted(maps.Keys(seen))
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
	for _, rs := range s.runs {
		for _, r := range rs {
			st.HeadEvents += r.n // not in parts either
		}
	}
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

// OrgStats counts the parts holding one organization's events, its share
// of their bytes (in proportion to its rows) and its head events; WAL bytes
// are shared by all and left out.
func (s *Store) OrgStats(org string) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st Stats
	for day := range s.parts {
		s.indexDay(day)
		for _, p := range s.parts[day] {
			if n := p.orgs[org]; n > 0 {
				st.Parts++
				st.PartBytes += p.Size * n / max(p.rows, 1)
			}
		}
	}
	for k, evs := range s.head {
		if k.org == org {
			st.HeadEvents += len(evs)
		}
	}
	return st
}
