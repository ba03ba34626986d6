package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func norm(t *testing.T, line string) (*Event, error) {
	t.Helper()
	n := Normalizer{Org: "org1", Now: func() int64 { return 1700000000000 }}
	e := new(Event)
	err := n.Normalize([]byte(line), e)
	return e, err
}

func TestNormalizeTyped(t *testing.T) {
	e, err := norm(t, `{"_id":"x1","agent_id":"a","event_time":1654273630167,"event_type":"audit","pid":2596,"exit":"0",`+
		`"success":true,"args":["/usr/sbin/chronyd","-d"],"containerId":"c1","uid":4294967295,"tty":null,`+
		`"host_metadata":{"hostname":"ip-1","os_version":"amzn-2"},"network_metadata":[{"private_ip_address":["172.31.30.113"]}],`+
		`"parent_metadata":{"exe":"/usr/lib/systemd/systemd","pid":1},"header":{"id":3}}`)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		id   FieldID
		want string
	}{
		{ID, "x1"}, {OrganizationID, "org1"}, {EventTime, "2022-06-03T16:27:10.167Z"}, {PID, "2596"}, {Exit, "0"},
		{Success, "true"}, {Args, `["/usr/sbin/chronyd","-d"]`}, {ContainerID, "c1"}, {UID, "4294967295"},
		{Hostname, "ip-1"}, {OSVersion, "amzn-2"}, {PrivateIP, "172.31.30.113"}, {ParentExe, "/usr/lib/systemd/systemd"},
		{DateKey, "2022-06-03-16"}, {InsertTime, "2023-11-14T22:13:20.000Z"},
	}
	for _, c := range checks {
		v, ok := e.Value(c.id)
		if !ok || v.String() != c.want {
			t.Errorf("%s = %q (present %v), want %q", Get(c.id).Name, v.String(), ok, c.want)
		}
	}
	if e.Has(TTY) {
		t.Errorf("tty null should be absent")
	}
	var raw map[string]any
	if err := json.Unmarshal(e.RawObject(), &raw); err != nil {
		t.Fatalf("raw is not JSON: %v: %s", err, e.RawObject())
	}
	var meta map[string]any
	if err := json.Unmarshal(e.Meta, &meta); err != nil || meta["host_metadata"] == nil {
		t.Errorf("meta %s lacks host_metadata (%v)", e.Meta, err)
	}
	if bytes.Contains(e.Raw, []byte("host_metadata")) {
		t.Errorf("raw %s repeats meta's host_metadata", e.Raw)
	}
	for _, k := range []string{"_id", "pid", "args", "containerId", "event_time"} {
		if _, ok := raw[k]; ok {
			t.Errorf("raw still holds lifted key %s", k)
		}
	}
	for _, k := range []string{"host_metadata", "header", "tty", "parent_metadata"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("raw lost %s", k)
		}
	}
}

func TestNormalizeOriginalRoundTrip(t *testing.T) {
	for _, line := range []string{
		`{"event_time":1654273630167,"pid":"12","exit":0,"success":"yes","args":["a",1,null],"user":"r\u00e9\"x\\","x":{"y":[1,2.5e3,true]}}`,
		`{"timestamp":"2020-09-17T17:15:02.289Z","eventName":"DescribeInstances","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/i"}}`,
		`{"event_time":1654273630.5, "pid": 1.5 , "path":[]}`,
	} {
		e, err := norm(t, line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		var a, b any
		json.Unmarshal([]byte(line), &a)
		if err := json.Unmarshal(e.Original(), &b); err != nil {
			t.Fatalf("original of %s is not JSON: %v: %s", line, err, e.Original())
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("original differs:\n got %s\nwant %s", e.Original(), line)
		}
	}
}

func TestNormalizeTimes(t *testing.T) {
	f := func(line string, want int64) {
		t.Helper()
		e, err := norm(t, line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if got := e.Int[EventTime]; got != want {
			t.Errorf("%s: event_time %d, want %d", line, got, want)
		}
	}
	f(`{"event_time":1600362902289}`, 1600362902289)
	f(`{"event_time":1600362902}`, 1600362902000)
	f(`{"event_time":1600362902289123}`, 1600362902289)
	f(`{"event_time":"1600362902289"}`, 1600362902289)
	f(`{"timestamp":1600362902289}`, 1600362902289)
	f(`{"eventTime":"2020-09-17T17:15:02Z"}`, 1600362902000)
	f(`{"@timestamp":"2020-09-17T17:15:02.5+00:00"}`, 1600362902500)
}

func TestNormalizeRejects(t *testing.T) {
	f := func(line, reason string) {
		t.Helper()
		_, err := norm(t, line)
		var r *RejectError
		if !errors.As(err, &r) || r.Reason != reason {
			t.Errorf("%.60q: got %v, want reason %q", line, err, reason)
		}
	}
	f(`{"event_time":1600362902289`, ReasonMalformed)
	f(`{"event_time":1600362902289} trailing`, ReasonMalformed)
	f(`{"event_time":1600362902289,"x":[1,}`, ReasonMalformed)
	f(`{"event_time":1600362902289,"x":{"a":tru}}`, ReasonMalformed)
	f(`{"event_time":1600362902289,"x":"a`+"\x01"+`"}`, ReasonMalformed)
	f(`[1,2]`, ReasonNotObject)
	f(`"just a string"`, ReasonNotObject)
	f(`{"exe":"/bin/sh"}`, ReasonNoTime)
	f(`{"event_time":"yesterday"}`, ReasonBadTime)
	f("{\"event_time\":1600362902289,\"exe\":\"\xff\xfe\"}", ReasonInvalidUTF8)
	f(`{"event_time":1600362902289,"x":"`+strings.Repeat("a", MaxEventBytes)+`"}`, ReasonTooLarge)
}

func TestNormalizeCacheKeepsFieldsPerBlock(t *testing.T) {
	n := Normalizer{Org: "o"}
	a := `{"event_time":1600362902289,"host_metadata":{"hostname":"host-a","kernel":"k1","os_version":"ubuntu","padding":"` + strings.Repeat("x", 80) + `"}}`
	b := `{"event_time":1600362902289,"host_metadata":{"hostname":"host-b","kernel":"k2","os_version":"ubuntu","padding":"` + strings.Repeat("x", 80) + `"}}`
	for i, line := range []string{a, b, a, b, a} {
		var e Event
		if err := n.Normalize([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		want := "host-a"
		if i%2 == 1 {
			want = "host-b"
		}
		if e.Str[Hostname] != want {
			t.Errorf("event %d: hostname %q, want %q", i, e.Str[Hostname], want)
		}
	}
}

func TestIDFromContentWhenMissing(t *testing.T) {
	a, _ := norm(t, `{"event_time":1600362902289,"exe":"/bin/sh"}`)
	b, _ := norm(t, `{"event_time":1600362902289,"exe":"/bin/sh"}`)
	c, _ := norm(t, `{"event_time":1600362902289,"exe":"/bin/bash"}`)
	if a.Str[ID] == "" || a.Str[ID] != b.Str[ID] || a.Str[ID] == c.Str[ID] {
		t.Errorf("ids %q %q %q: want equal for equal content, different otherwise", a.Str[ID], b.Str[ID], c.Str[ID])
	}
}

// A block's fields are remembered even when the first event that carried it
// had set them elsewhere (found by the gen engineers).
func TestNormalizeCacheIgnoresEarlierFields(t *testing.T) {
	n := Normalizer{Org: "o"}
	meta := `"host_metadata":{"hostname":"host-a","kernel":"k1","padding":"` + strings.Repeat("x", 80) + `"}`
	var e Event
	if err := n.Normalize([]byte(`{"event_time":1600362902289,"hostname":"top",`+meta+`}`), &e); err != nil {
		t.Fatal(err)
	}
	if e.Str[Hostname] != "top" {
		t.Errorf("top-level hostname %q, want top", e.Str[Hostname])
	}
	if err := n.Normalize([]byte(`{"event_time":1600362902289,`+meta+`}`), &e); err != nil {
		t.Fatal(err)
	}
	if e.Str[Hostname] != "host-a" || e.Str[Kernel] != "k1" {
		t.Errorf("from the cached block: hostname %q kernel %q, want host-a k1", e.Str[Hostname], e.Str[Kernel])
	}
}

func TestScanBytes(t *testing.T) {
	for _, c := range []struct {
		s              string
		ascii, control bool
	}{
		{"", true, false}, {"plain text that is long enough", true, false},
		{"tab\there", true, true}, {"0123456789abcdef\x01", true, true}, {"\x1f2345678", true, true},
		{"é and more text", false, false}, {"0123456789abcdef\xc3\xa9", false, false}, {" !~\x7f", true, false},
	} {
		a, ctl := scanBytes([]byte(c.s))
		if a != c.ascii || ctl != c.control {
			t.Errorf("scanBytes(%q) = %v, %v; want %v, %v", c.s, a, ctl, c.ascii, c.control)
		}
	}
}

// Events in spoor's own form (column names) get their typed fields too, and
// keep their keys as sent.
func TestNormalizeSpoorForm(t *testing.T) {
	e, err := norm(t, `{"event_time":1600362902289,"container_id":"c9","event_name":"GetObject","os_version":"ubuntu","user_type":"AssumedRole"}`)
	if err != nil {
		t.Fatal(err)
	}
	if e.Str[ContainerID] != "c9" || e.Str[EventName] != "GetObject" || e.Str[OSVersion] != "ubuntu" || e.Str[UserType] != "AssumedRole" {
		t.Errorf("typed fields: %q %q %q %q", e.Str[ContainerID], e.Str[EventName], e.Str[OSVersion], e.Str[UserType])
	}
	var o map[string]any
	json.Unmarshal(e.Original(), &o)
	if o["container_id"] != "c9" || o["containerId"] != nil {
		t.Errorf("original changed the keys: %s", e.Original())
	}
}
