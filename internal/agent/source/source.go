// Package source is the contract between the agent's collectors and its shipper.
package source

import "context"

// Event is one event in spoor's native shape (Threat Stack's field names, DESIGN.md "Event schema"):
// event_type (audit, login, logout, file, network, host), event_time (epoch milliseconds, int64), and the
// native fields of its kind. The agent adds agent_id and hostname to every event before it is spooled.
// A source sets "_id" when it can derive a deterministic one (the same observation read twice gives the same
// _id, so the server dedupes retries and re-reads); the agent derives one from the event's content otherwise.
type Event map[string]any

// Emit hands one event to the agent. It never blocks for long: the spool absorbs back-pressure.
type Emit func(Event)

// Source is one collector.
type Source interface {
	Name() string
	// Run collects until ctx ends and returns nil then; an error means the source cannot run at all.
	Run(ctx context.Context, emit Emit) error
}

// Lossy is implemented by sources that can lose events; the agent reports the counts in its health events.
type Lossy interface {
	Losses() map[string]int64 // cumulative, by reason, e.g. "kernel_lost", "inotify_overflow"
}
