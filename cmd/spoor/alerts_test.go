package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/auth"
	"github.com/spoor-dev/spoor/internal/datadir"
)

// alerts dismiss of an alert dismissed already says who dismissed it and
// why (the first dismissal stays), and an unknown id is named back, on a
// data directory and through a server alike; alerts show names an unknown
// id too.
func TestAlertsDismissSaysWhy(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	db, err := datadir.Open(ctx, data, datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2020, 2, 14, 10, 0, 0, 0, time.UTC).UnixMilli()
	var ids []string
	for _, group := range []string{"a", "b"} {
		opened, err := db.Alerts.Observe("o1", []alert.Hit{{Rule: "tmp-exec", Kind: "native", Title: "t", Severity: 1,
			Window: time.Hour, Threshold: 1, GroupKey: group, EventID: "e-" + group, EventTime: at, Hostname: "web-1"}})
		if err != nil || len(opened) != 1 {
			t.Fatalf("observe: %v %v", opened, err)
		}
		ids = append(ids, opened[0].ID)
	}
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}
	secret := analystToken(t, data, "o1")

	check := func(where string, d dataFlags, id, by string) {
		t.Helper()
		o := alertsOptions{data: d, reason: "backup job"}
		var out strings.Builder
		if err := runAlertsDismiss(ctx, o, id, &out); err != nil || !strings.Contains(out.String(), "dismissed "+id) {
			t.Fatalf("%s: dismiss: %v %q", where, err, out.String())
		}
		o.reason = "again"
		err := runAlertsDismiss(ctx, o, id, &out)
		if err == nil || !strings.Contains(err.Error(), "dismissed already by "+by) || !strings.Contains(err.Error(), "backup job") {
			t.Errorf("%s: second dismissal: %v; want who dismissed it first and why", where, err)
		}
		for _, run := range []func() error{
			func() error { return runAlertsDismiss(ctx, o, "no-such-alert", &out) },
			func() error { return runAlertsShow(ctx, o, "no-such-alert", &out) },
		} {
			if err := run(); err == nil || !strings.Contains(err.Error(), `"no-such-alert"`) {
				t.Errorf("%s: unknown id: %v; want the id named", where, err)
			}
		}
	}
	check("data directory", dataFlags{Dir: data, Org: "o1"}, ids[0], "cli")
	url := serveProcess(t, data)
	check("server", dataFlags{Server: url, Token: secret}, ids[1], "ana")
}

// analystToken makes an analyst token of org, named ana, in data's tokens.
func analystToken(t *testing.T, data, org string) string {
	t.Helper()
	tokens, err := auth.Open(filepath.Join(data, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := tokens.Create(org, auth.Analyst, "ana")
	if err != nil {
		t.Fatal(err)
	}
	return secret
}
