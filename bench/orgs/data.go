package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// dataset is one generated file and what the runs check against.
type dataset struct {
	orgs    int // organizations asked of spoor gen
	path    string
	genCmd  string
	events  int
	size    int64
	first   int64     // event_time of the first event, ms
	last    int64     // and of the last
	refs    []lineRef // every line, grouped by organization
	segs    []segment // one per organization, in refs
	needle  needle
	perOrgN []int // events per organization, as segs
}

// lineRef locates one line of the file.
type lineRef struct {
	off int64
	n   int32
}

// segment is one organization's lines: refs[from:to].
type segment struct {
	org      string
	from, to int
}

// needle is a search of one agent over 90 s in one organization, with the
// number of events the file holds for it.
type needle struct {
	org, agent string
	from, to   int64
	want       int
}

func (n needle) query() string {
	return fmt.Sprintf("agent_id = %q AND event_time >= %d AND event_time <= %d", n.agent, n.from, n.to)
}

// generate writes the first c.events events of spoor gen's fleet of nOrgs
// organizations. The generator writes events in time order and gives every
// host a floor of hourly activity (about 200 events a day) that --rate does
// not lower, and 5,000 organizations need 5,000 hosts: so every file comes
// from the same fleet of c.hosts hosts, cut after the same number of events.
// The cut is a time window from the start; its length differs a little by
// the number of organizations (each adds its own logins and CloudTrail).
func generate(ctx context.Context, c *config, nOrgs int) (*dataset, error) {
	ds := &dataset{orgs: nOrgs, path: filepath.Join(c.scratch, fmt.Sprintf("gen-%d.ndjson", nOrgs))}
	args := []string{"gen", "--orgs", strconv.Itoa(nOrgs), "--hosts", strconv.Itoa(c.hosts),
		"--rate", strconv.FormatFloat(c.rate, 'g', -1, 64), "--days", strconv.Itoa(c.days),
		"--start", c.start, "--scenarios", "none", "--seed", "1", "--out", "-"}
	ds.genCmd = "spoor " + strings.Join(args, " ") + " | head -" + strconv.Itoa(c.events)
	logf("generating %s: %s", orgsName(nOrgs), ds.genCmd)
	out, err := os.Create(ds.path)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 1<<20)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p, pipe, err := startPiped(ctx, c.spoor, args...)
	if err != nil {
		return nil, err
	}
	t := newTally()
	r := bufio.NewReaderSize(pipe, 1<<20)
	for ds.events < c.events {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("gen: a line over %d bytes", r.Size())
		}
		if len(line) > 0 {
			if err := t.add(line, ds.size); err != nil {
				return nil, fmt.Errorf("gen line %d: %w", ds.events+1, err)
			}
			if _, err := w.Write(line); err != nil {
				return nil, err
			}
			ds.size += int64(len(line))
			ds.events++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read gen: %w", err)
		}
	}
	// Enough read: the rest of the day is not wanted.
	cancel()
	pipe.Close()
	if _, err := p.wait(); err != nil && ds.events < c.events {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	if ds.events == 0 {
		return nil, errors.New("gen wrote no events")
	}
	t.finish(ds)
	logf("  %s events of %s, %s of NDJSON, %s .. %s", commas(int64(ds.events)), orgsName(len(ds.segs)),
		bytesStr(ds.size), msTime(ds.first), msTime(ds.last))
	return ds, nil
}

// startPiped starts a measured process whose stdout is read through the
// returned pipe.
func startPiped(ctx context.Context, name string, args ...string) (*proc, io.ReadCloser, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	p, err := startProc(ctx, pw, name, args...)
	pw.Close() // the child holds its own copy
	if err != nil {
		pr.Close()
		return nil, nil, err
	}
	return p, pr, nil
}

// tally keeps, per line, what the runs need: its place in the file, its
// organization, agent and time.
type tally struct {
	orgs, agents map[string]int32
	orgName      []string
	agentName    []string
	off          []int64
	n            []int32
	org, agent   []int32
	time         []int64
	first, last  int64
	haveFirst    bool
}

func newTally() *tally {
	return &tally{orgs: map[string]int32{}, agents: map[string]int32{}}
}

func (t *tally) add(line []byte, off int64) error {
	var e struct {
		Org   string `json:"organization_id"`
		Agent string `json:"agent_id"`
		Time  int64  `json:"event_time"`
	}
	if err := json.Unmarshal(line, &e); err != nil {
		return err
	}
	if e.Org == "" || e.Agent == "" || e.Time == 0 {
		return errors.New("no organization_id, agent_id or event_time")
	}
	t.off = append(t.off, off)
	t.n = append(t.n, int32(len(line)))
	t.org = append(t.org, intern(t.orgs, &t.orgName, e.Org))
	t.agent = append(t.agent, intern(t.agents, &t.agentName, e.Agent))
	t.time = append(t.time, e.Time)
	if !t.haveFirst || e.Time < t.first {
		t.first, t.haveFirst = e.Time, true
	}
	t.last = max(t.last, e.Time)
	return nil
}

func intern(m map[string]int32, names *[]string, s string) int32 {
	if i, ok := m[s]; ok {
		return i
	}
	i := int32(len(*names))
	m[s] = i
	*names = append(*names, s)
	return i
}

// finish groups the lines by organization (in name order, each
// organization's in file order) and picks the needle: the agent of the
// middle event, 45 s either side of it.
func (t *tally) finish(ds *dataset) {
	ds.first, ds.last = t.first, t.last
	order := make([]int, len(t.off))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(t.orgName[t.org[a]], t.orgName[t.org[b]]) })
	ds.refs = make([]lineRef, len(order))
	for k, i := range order {
		ds.refs[k] = lineRef{off: t.off[i], n: t.n[i]}
		if k == 0 || t.org[i] != t.org[order[k-1]] {
			ds.segs = append(ds.segs, segment{org: t.orgName[t.org[i]], from: k})
		}
		ds.segs[len(ds.segs)-1].to = k + 1
	}
	for _, s := range ds.segs {
		ds.perOrgN = append(ds.perOrgN, s.to-s.from)
	}
	mid := len(t.off) / 2
	n := needle{org: t.orgName[t.org[mid]], agent: t.agentName[t.agent[mid]], from: t.time[mid] - 45_000, to: t.time[mid] + 45_000}
	for i := range t.off {
		if t.org[i] == t.org[mid] && t.agent[i] == t.agent[mid] && t.time[i] >= n.from && t.time[i] <= n.to {
			n.want++
		}
	}
	ds.needle = n
}

// body reads refs' lines from the file into one request body.
func (ds *dataset) body(f *os.File, refs []lineRef) ([]byte, error) {
	size := 0
	for _, r := range refs {
		size += int(r.n)
	}
	b := make([]byte, size)
	at := 0
	for _, r := range refs {
		if _, err := f.ReadAt(b[at:at+int(r.n)], r.off); err != nil {
			return nil, fmt.Errorf("read %s: %w", ds.path, err)
		}
		at += int(r.n)
	}
	return b, nil
}

// pieces cuts the lines into at least n pieces of whole organizations,
// or, when there are fewer organizations than n, cuts each organization's
// lines into about n/orgs pieces. Each piece holds at most limit lines
// (0: no limit) and one organization only.
func (ds *dataset) pieces(n, limit int) []segment {
	per := 1
	if len(ds.segs) < n {
		per = (n + len(ds.segs) - 1) / len(ds.segs)
	}
	var out []segment
	for _, s := range ds.segs {
		size := (s.to - s.from + per - 1) / per
		if limit > 0 && size > limit {
			size = limit
		}
		size = max(size, 1)
		for from := s.from; from < s.to; from += size {
			out = append(out, segment{org: s.org, from: from, to: min(from+size, s.to)})
		}
	}
	return out
}
