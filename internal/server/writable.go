package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/spoor-dev/spoor/internal/diskspace"
)

// lowSpaceRetry is the Retry-After of a batch refused for disk space:
// freeing space takes an operator, so senders need not try every second.
const lowSpaceRetry = 10

// storeFailed answers a batch the store could not take. Nothing of it was
// acknowledged, so the sender retries it whole and the dedupe on _id keeps
// each event once. Below the disk reserve the answer is 507 Insufficient
// Storage, else (the WAL failed, a flush is behind) 503.
func storeFailed(w http.ResponseWriter, err error) {
	if errors.Is(err, diskspace.ErrLow) {
		w.Header().Set("Retry-After", strconv.Itoa(lowSpaceRetry))
		writeError(w, http.StatusInsufficientStorage, "store refuses new events, retry the batch later: "+err.Error()+" (ingest resumes by itself once space is freed)", "")
		return
	}
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, "store unavailable, retry the batch: "+err.Error(), "")
}

// ready answers 200 while the store takes writes, else 503 with the reason
// (a load balancer then sends ingest elsewhere until space is freed).
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if err := s.db.Lake.Writable(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true})
}
