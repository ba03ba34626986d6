package datadir

import (
	"context"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
)

// A dotted name is known when raw has it as a nested path, as the filter
// language reads it; a name no event has is reported, with the closest
// known name when one is near; typed fields and aliases never are.
func TestUnknownFieldsNestedAndTyped(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	norm := event.Normalizer{Org: "o1"}
	e := new(event.Event)
	if err := norm.Normalize([]byte(`{"_id":"c1","event_time":1600000000000,"event_type":"cloudtrail","eventName":"CreateUser","requestParameters":{"userName":"bob"}}`), e); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Lake.Append(ctx, []*event.Event{e}); err != nil {
		t.Fatal(err)
	}
	f := func(q, want string) {
		t.Helper()
		ws, err := db.UnknownFields(ctx, "o1", 0, maxMS, q)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(ws, "\n")
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", q, got, want)
		}
	}
	f(`requestParameters.userName = "bob"`, "")
	f(`eventName = "CreateUser" AND event_name = "CreateUser"`, "")
	f(`requestParameters.usrName = "bob"`, "no field requestParameters.usrName")
	f(`requestParameter = "x"`, "did you mean requestParameters?")
	f(`evnt_type = "cloudtrail"`, "did you mean event_type?")
	// No event in the range: nothing found says nothing.
	if ws, err := db.UnknownFields(ctx, "nobody", 0, maxMS, `evnt_type = "x"`); err != nil || len(ws) != 0 {
		t.Errorf("an organization without events: %v %v", ws, err)
	}
}
