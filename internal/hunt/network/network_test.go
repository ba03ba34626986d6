package network

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/hunt"
	"github.com/spoor-dev/spoor/internal/hunt/hunttest"
)

// The fleet is built once for the package (package hunttest).
func TestMain(m *testing.M) { hunttest.Main(m) }

func TestExternal(t *testing.T) {
	for ip, want := range map[string]bool{
		"45.77.65.211": true, "140.82.114.4": true, "8.8.8.8": true, "2001:4860:4860::8888": true,
		"10.0.1.65": false, "172.16.0.1": false, "172.31.255.255": false, "172.32.0.1": true,
		"192.168.1.1": false, "127.0.0.1": false, "169.254.169.254": false, "100.64.0.1": false,
		"100.127.255.254": false, "100.128.0.1": true, "fd00::1": false, "fc00::1": false,
		"fe80::1": false, "::1": false, "::ffff:10.0.0.1": false, "::ffff:1.1.1.1": true,
		"0.0.0.0": false, "255.255.255.255": false, "224.0.0.251": false, "not-an-ip": true,
	} {
		if got := External(ip); got != want {
			t.Errorf("External(%q) = %v, want %v", ip, got, want)
		}
	}
}

// seed000's host connected out to its C2; Connections lists it first among
// external destinations and Talkers of the C2 lists the host.
func TestSeed000C2(t *testing.T) {
	f := hunttest.Shared(t)
	ctx := context.Background()
	var beaconID, host, loginID string
	for _, l := range f.Labels {
		if l.Scenario != "seed000" {
			continue
		}
		if strings.HasPrefix(l.Step, "c2 beacon") && l.EventType == "network" && beaconID == "" {
			beaconID, host = l.ID, l.Hostname
		}
		if l.Step == "attacker ssh login" && l.EventType == "login" && loginID == "" {
			loginID = l.ID
		}
	}
	if beaconID == "" || loginID == "" {
		t.Fatal("no seed000 beacon or login labelled")
	}
	one := func(sql, id string) string {
		tab, err := hunt.Query(ctx, f.DB, f.Org, 0, event.MaxTime, sql, id)
		if err != nil || len(tab.Rows) != 1 {
			t.Fatalf("%s: %v %v", sql, tab.Rows, err)
		}
		return tab.Rows[0][0].(string)
	}
	c2 := one(`SELECT dst_ip FROM events WHERE _id = ?`, beaconID)
	attacker := one(`SELECT src_ip FROM events WHERE _id = ?`, loginID)

	conns, err := Connections(ctx, f.DB, f.Org, host, 0, event.MaxTime)
	if err != nil {
		t.Fatal(err)
	}
	seenInternal, found := false, false
	for _, r := range conns.Rows {
		ext := r[2].(bool)
		if ext && seenInternal {
			t.Errorf("external %v after an internal destination", r)
		}
		seenInternal = seenInternal || !ext
		if ext != External(r[0].(string)) {
			t.Errorf("row %v: external wrong", r)
		}
		if r[0] == c2 && r[1] == int64(443) {
			found = true
			if !ext || r[4].(int64) < 2 || !slices.Contains(r[3].([]string), "/tmp/EXCITED_WHILE") {
				t.Errorf("c2 row %v", r)
			}
		}
	}
	if !found || !seenInternal {
		t.Errorf("connections of %s: c2 %s:443 found %v, internal ones %v", host, c2, found, seenInternal)
	}
	// the agent id names the host too
	agent := one(`SELECT agent_id FROM events WHERE _id = ?`, beaconID)
	byAgent, err := Connections(ctx, f.DB, f.Org, agent, 0, event.MaxTime)
	if err != nil || len(byAgent.Rows) != len(conns.Rows) {
		t.Errorf("by agent id: %d rows, by hostname %d, %v", len(byAgent.Rows), len(conns.Rows), err)
	}

	for _, addr := range []string{c2, c2[:strings.LastIndexByte(c2, '.')] + ".0/24"} {
		talk, err := Talkers(ctx, f.DB, f.Org, addr, 0, event.MaxTime)
		if err != nil {
			t.Fatal(err)
		}
		ok := false
		for _, r := range talk.Rows {
			if r[0] == host && r[2] == c2 && r[3] == "outbound" {
				ok = true
				if !slices.Equal(r[4].([]string), []string{"443"}) || r[8].(int64) < 2 ||
					r[6].(time.Time).After(r[7].(time.Time)) {
					t.Errorf("talker row %v", r)
				}
			}
		}
		if !ok {
			t.Errorf("talkers of %s lack %s: %v", addr, host, talk.Rows)
		}
	}

	talk, err := Talkers(ctx, f.DB, f.Org, attacker, 0, event.MaxTime)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, r := range talk.Rows {
		if r[0] == host {
			dirs = append(dirs, r[3].(string))
		}
	}
	if !slices.Contains(dirs, "login") {
		t.Errorf("attacker %s: directions on %s %v", attacker, host, dirs)
	}

	// an address nobody used
	none, err := Talkers(ctx, f.DB, f.Org, "203.0.113.77", 0, event.MaxTime)
	if err != nil || len(none.Rows) != 0 {
		t.Errorf("unused address: %v %v", none.Rows, err)
	}
	for _, bad := range []string{"", "10.0.0", "10.0.0.0/33", "x/8"} {
		if _, err := Talkers(ctx, f.DB, f.Org, bad, 0, event.MaxTime); err == nil {
			t.Errorf("Talkers(%q) accepted", bad)
		}
	}
}
