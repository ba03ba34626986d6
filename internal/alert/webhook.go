package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Webhook posts each newly opened alert as JSON to a URL, retrying with
// backoff until the receiver answers 2xx; an alert it has delivered is
// marked so, and one it has not is sent again after a restart.
type Webhook struct {
	URL    string
	Store  *Store
	Client *http.Client
	Log    *slog.Logger
	// Backoff is the first wait between attempts (default 1s), doubling
	// up to a minute.
	Backoff time.Duration

	queue chan Alert
}

// NewWebhook makes a webhook; Run delivers.
func NewWebhook(url string, st *Store, log *slog.Logger) *Webhook {
	if log == nil {
		log = slog.Default()
	}
	return &Webhook{URL: url, Store: st, Client: &http.Client{Timeout: 10 * time.Second}, Log: log, Backoff: time.Second, queue: make(chan Alert, 4096)}
}

// Send queues alerts for delivery. It never blocks the ingest: when the
// queue is full the alert stays unnotified and goes out after a restart.
func (w *Webhook) Send(alerts []Alert) {
	if w == nil {
		return
	}
	for _, a := range alerts {
		select {
		case w.queue <- a:
		default:
			w.Log.Warn("webhook queue full; the alert goes out after a restart", "alert", a.ID)
		}
	}
}

// Run delivers queued alerts, first those a previous run did not deliver.
func (w *Webhook) Run(ctx context.Context) {
	pending, err := w.Store.Unnotified()
	if err != nil {
		w.Log.Error("alerts a previous run did not deliver: not read", "err", err)
	}
	w.Send(pending)
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-w.queue:
			w.deliver(ctx, a)
		}
	}
}

func (w *Webhook) deliver(ctx context.Context, a Alert) {
	body, _ := json.Marshal(a)
	wait := w.Backoff
	for attempt := 1; ; attempt++ {
		err := w.post(ctx, body)
		if err == nil {
			if err := w.Store.MarkNotified(a.Org, a.ID); err != nil {
				w.Log.Warn("webhook: mark delivered", "alert", a.ID, "err", err)
			}
			return
		}
		w.Log.Warn("webhook: delivery failed; retrying", "alert", a.ID, "attempt", attempt, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

func (w *Webhook) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "spoor-webhook")
	resp, err := w.Client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}
