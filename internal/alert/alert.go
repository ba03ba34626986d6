// Package alert turns rule hits into alerts and keeps them: one alert per
// rule and aggregate values within the rule's window, counted by distinct
// event, stored durably per organization in the lake's alerts dataset
// (JSON lines of alert versions), open or dismissed, never deleted, kept
// 365 days; new alerts are posted to a webhook.
package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Statuses of an alert. A pending alert has fewer hits than its rule's
// threshold; it opens when it reaches it.
const (
	StatusPending   = "pending"
	StatusOpen      = "open"
	StatusDismissed = "dismissed"
)

// Retention is how long alerts are kept, counted from their last change
// (as the lake counts from ingestion, not event time: evidence imported
// from 2020 keeps its alerts for the whole period).
const Retention = 365 * 24 * time.Hour

// MaxSampleIDs bounds the event ids an alert lists (all are counted).
const MaxSampleIDs = 100

// Alert is one alert, as stored and as answered.
type Alert struct {
	ID          string   `json:"alert_id"`
	Org         string   `json:"organization_id"`
	Rule        string   `json:"rule"`
	Kind        string   `json:"kind"` // native, sigma, correlation
	Title       string   `json:"title"`
	Severity    int      `json:"severity"`            // 1 high, 2 medium, 3 low
	Technique   string   `json:"technique,omitempty"` // the rule's ATT&CK technique id
	Hostname    string   `json:"hostname,omitempty"`
	AgentID     string   `json:"agent_id,omitempty"`
	GroupKey    string   `json:"group_key,omitempty"`
	FirstTime   int64    `json:"first_time"` // event time, epoch ms
	LastTime    int64    `json:"last_time"`
	Count       int64    `json:"count"` // distinct matching events
	EventIDs    []string `json:"event_ids"`
	Status      string   `json:"status"`
	Reason      string   `json:"reason,omitempty"` // why it was dismissed
	DismissedBy string   `json:"dismissed_by,omitempty"`
	CreatedAt   int64    `json:"created_at"` // wall clock, epoch ms
	UpdatedAt   int64    `json:"updated_at"`
	Notified    bool     `json:"notified"` // the webhook has it
	Version     int64    `json:"version"`
}

// Hit is one event matching one rule.
type Hit struct {
	Rule      string
	Kind      string
	Title     string
	Severity  int
	Technique string        // ATT&CK technique id, "" when the rule names none
	GroupKey  string        // aggregate values; "" groups all of a rule's hits
	Window    time.Duration // an alert gathers the hits of one fixed window this long (an hour when 0)
	Threshold int64         // hits before the alert opens (at least 1)
	EventID   string
	EventTime int64 // epoch ms
	Hostname  string
	AgentID   string
}

// idOf names an alert by what it gathers: organization, rule, group key
// and the time its window starts, so the same hits make the same alert
// whatever order they come in, and replaying them finds it.
func idOf(org, rule, group string, first int64) string {
	h := sha256.New()
	for _, s := range []string{org, rule, group, strconv.FormatInt(first, 10)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
