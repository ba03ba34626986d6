package sigma

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/event"
)

func TestZZCost(t *testing.T) {
	evs := benchEvents(t)
	s := benchSet(t)
	cost := map[string]time.Duration{}
	cnt := map[string]int{}
	d := NewDoc(nil)
	for r := 0; r < 3; r++ {
		for _, e := range evs {
			k := fmt.Sprintf("%s/%d", e.Str[event.EventType], e.Int[event.WinEventID])
			st := time.Now()
			d.Reset(e)
			s.Match(d, func(*Compiled) {})
			cost[k] += time.Since(st)
			cnt[k]++
		}
	}
	type kv struct{ k string; v time.Duration }
	var all []kv
	var tot time.Duration
	for k, v := range cost { all = append(all, kv{k, v}); tot += v }
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v })
	t.Logf("total %v", tot)
	for _, x := range all[:15] { t.Logf("%v %s n=%d per=%v", x.v, x.k, cnt[x.k], x.v/time.Duration(cnt[x.k])) }
}
