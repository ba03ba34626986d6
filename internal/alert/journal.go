package alert

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/spoor-dev/spoor/internal/atomicfile"
)

// load reads a journal and returns the length of its whole lines.
func (o *orgAlerts) load(path string) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var good int64
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 && b[len(b)-1] == '\n' {
			var l line
			if jerr := json.Unmarshal(b, &l); jerr != nil {
				return good, nil // a damaged line: what follows is not trusted
			}
			o.apply(l)
			good += int64(len(b))
			o.lines++
		}
		if errors.Is(err, io.EOF) {
			return good, nil
		}
		if err != nil {
			return good, err
		}
	}
}

func (o *orgAlerts) apply(l line) {
	st := o.alerts[l.Alert.ID]
	if st == nil {
		st = &state{ids: map[uint64]struct{}{}}
		o.alerts[l.Alert.ID] = st
	}
	st.Alert = l.Alert
	if l.Window > 0 {
		st.window = time.Duration(l.Window) * time.Millisecond
	}
	// A line written before alerts named the event of their host: the
	// host stays unless an earlier event names one.
	st.hostAt, st.hostEvent = l.Alert.FirstTime, ""
	if l.HostEvent != "" {
		st.hostAt, st.hostEvent = l.HostAt, l.HostEvent
	}
	for _, id := range l.NewIDs {
		st.ids[idHash(id)] = struct{}{}
	}
	if sliding(l.Threshold) {
		st.restore(l)
	}
}

// rewrite replaces the journal with one line per alert.
func (o *orgAlerts) rewrite(path string) error {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriter(f)
	ids := make([]string, 0)
	for _, st := range o.sorted() {
		// The journal keeps each event id once; after a rewrite the ids
		// are known only by their hashes, so they are written as such.
		ids = ids[:0]
		for h := range st.ids {
			ids = append(ids, fmt.Sprintf("#%016x", h))
		}
		l := st.line(ids)
		l.Kept = st.marks
		b, _ := json.Marshal(l)
		bw.Write(append(b, '\n'))
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Commit(); err != nil {
		return err
	}
	nf, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	o.f.Close()
	o.f = nf
	o.lines = len(o.alerts)
	return nil
}

func (o *orgAlerts) sorted() []*state {
	out := make([]*state, 0, len(o.alerts))
	for _, st := range o.alerts {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].LastTime != out[j].LastTime {
			return out[i].LastTime > out[j].LastTime
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// idHash is the hash an event id is counted by; a rewritten journal holds
// the hashes themselves, as "#" and 16 hex digits.
func idHash(id string) uint64 {
	if len(id) == 17 && id[0] == '#' {
		if h, err := strconv.ParseUint(id[1:], 16, 64); err == nil {
			return h
		}
	}
	return xxhash.Sum64String(id)
}

// write appends to the journal (under the store's lock); the caller
// waits for its fsync with syncTo.
func (o *orgAlerts) write(b []byte) error {
	if _, err := o.f.Write(b); err != nil {
		return fmt.Errorf("alerts journal: %w", err)
	}
	o.written++
	o.lines += bytes.Count(b, []byte{'\n'})
	return nil
}
