package detect

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/rules"
	"github.com/spoor-dev/spoor/internal/sigma"
)

// RunSigmaBacktest runs a Sigma rule file's detection rules over org's
// events in [from, to], in Go: the events of the types the rules' logsources
// map to are read from the lake and matched one by one. Alerts are counted
// as spoor raises them for Sigma rules: per host and hour.
func RunSigmaBacktest(ctx context.Context, db *datadir.DB, org string, text []byte, from, to int64) (*Backtest, error) {
	start := time.Now()
	parsed, err := sigma.Parse(text)
	if err != nil {
		return nil, err
	}
	var compiled []*sigma.Compiled
	for _, r := range parsed {
		if r.Correlation != nil {
			continue
		}
		c, err := sigma.Compile(r, sigma.DefaultMapping())
		if err != nil {
			return nil, err
		}
		compiled = append(compiled, c)
	}
	if len(compiled) == 0 {
		return nil, fmt.Errorf("the file holds no Sigma detection rule to backtest")
	}
	set := sigma.NewSet(compiled)
	bt := newBacktest(sigmaName(compiled[0].Rule), from, to)
	rows, err := db.Query(ctx, org, from, to, "SELECT * FROM events WHERE event_type IN ('sysmon', 'winsec', 'windows', 'audit', 'cloudtrail', 'login', 'logout', 'network', 'file')")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	doc := sigma.NewDoc(nil)
	hosts := map[string]int64{}
	windows := map[string]bool{}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		e := new(event.Event)
		if err := datadir.EventFromRow(cols, vals, e); err != nil {
			return nil, err
		}
		doc.Reset(e)
		matched := false
		set.Match(doc, func(*sigma.Compiled) { matched = true })
		if !matched {
			continue
		}
		bt.Matched++
		h := e.Str[event.Hostname]
		hosts[h]++
		windows[h+"\x00"+fmt.Sprint(e.Int[event.EventTime]/3600000)] = true
		if len(bt.Samples) < 5 {
			bt.Samples = append(bt.Samples, map[string]any{"_id": e.Str[event.ID], "event_time": e.Time(), "hostname": h,
				"event_type": e.Str[event.EventType], "exe": e.Str[event.Exe], "arguments": e.Str[event.Arguments]})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	bt.Alerts = int64(len(windows))
	for h, n := range hosts {
		bt.Hosts = append(bt.Hosts, HostCount{Hostname: h, Events: n})
	}
	sort.Slice(bt.Hosts, func(i, j int) bool { return bt.Hosts[i].Events > bt.Hosts[j].Events })
	bt.Took = time.Since(start)
	return bt, nil
}

// IsSigma says whether a rule file is a Sigma rule rather than a native one.
func IsSigma(text []byte) bool { return rules.IsSigma(text) }
