package datadir

import (
	"context"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
)

// The alerts view shows each alert's last version, of the caller's
// organization only.
func TestAlertsView(t *testing.T) {
	db, err := Open(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	at := time.Date(2020, 2, 14, 10, 0, 0, 0, time.UTC).UnixMilli()
	h := alert.Hit{Rule: "tmp-exec", Kind: "native", Title: "Binary run from /tmp", Severity: 1, Window: time.Hour, Threshold: 1, EventTime: at, Hostname: "web-1"}
	var hits []alert.Hit
	for _, id := range []string{"e1", "e2", "e3"} {
		h.EventID = id
		hits = append(hits, h)
	}
	opened, err := db.Alerts.Observe("o1", hits)
	if err != nil || len(opened) != 1 {
		t.Fatalf("observe: %v %v", opened, err)
	}
	if _, err := db.Alerts.Dismiss("o1", opened[0].ID, "ana", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Alerts.Observe("o2", hits[:1]); err != nil {
		t.Fatal(err)
	}
	rows, err := db.UserQuery(context.Background(), "o1", 0, maxMS, "SELECT rule, severity, count, status, hostname, first_time FROM alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var rule, status, host string
		var sev, count int64
		var first time.Time
		if err := rows.Scan(&rule, &sev, &count, &status, &host, &first); err != nil {
			t.Fatal(err)
		}
		n++
		if rule != "tmp-exec" || sev != 1 || count != 3 || status != alert.StatusDismissed || host != "web-1" || first.UnixMilli() != at {
			t.Errorf("row %s %d %d %s %s %v", rule, sev, count, status, host, first)
		}
	}
	if err := rows.Err(); err != nil || n != 1 {
		t.Fatalf("%d rows (want the one alert's last version), %v", n, err)
	}
	// An organization without alerts gets an empty, well-typed view.
	rows2, err := db.UserQuery(context.Background(), "nobody", 0, maxMS, "SELECT count(*) FROM alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer rows2.Close()
	var c int64
	for rows2.Next() {
		rows2.Scan(&c)
	}
	if c != 0 {
		t.Errorf("nobody sees %d alerts", c)
	}
}
