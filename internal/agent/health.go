package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/atomicfile"
)

// StatusFile is the file under the state directory where the agent keeps
// its status for `spoor agent status`.
const StatusFile = "status.json"

// Status is what the agent reports about itself: the health event's
// content, and the status file's.
type Status struct {
	AgentID      string           `json:"agent_id"`
	Hostname     string           `json:"hostname"`
	AgentVersion string           `json:"agent_version"`
	PID          int              `json:"pid"`
	Running      bool             `json:"running"`
	Server       string           `json:"server,omitempty"`
	StartedAt    int64            `json:"started_at"`
	UpdatedAt    int64            `json:"updated_at"`
	SpoolBytes   int64            `json:"spool_bytes"`
	SpoolEvents  int64            `json:"spool_events"`
	LagMS        int64            `json:"lag_ms"`
	LastSend     int64            `json:"last_send"`
	LastError    string           `json:"last_error,omitempty"`
	Sent         int64            `json:"sent"`
	Losses       map[string]int64 `json:"losses"`
	LostTotal    int64            `json:"lost_total"`
}

// Status returns the agent's status now.
func (a *Agent) Status() Status {
	now := a.opts.Now().UnixMilli()
	sp := a.sp.Stats()
	sh := a.shipper.Stats()
	st := Status{AgentID: a.opts.Identity.AgentID, Hostname: a.opts.Identity.Hostname, AgentVersion: a.opts.Version,
		PID: os.Getpid(), Running: true, Server: a.opts.Server, StartedAt: a.started, UpdatedAt: now,
		SpoolBytes: sp.Bytes, SpoolEvents: sp.Events, LastSend: sh.LastSend, LastError: sh.LastError, Sent: sh.Sent,
		Losses: a.losses()}
	if sp.Events > 0 && sp.Oldest > 0 {
		st.LagMS = max(now-sp.Oldest, 0)
	}
	for _, n := range st.Losses {
		st.LostTotal += n
	}
	return st
}

// losses gathers every count of lost events: the sources', the spool's
// drops, the server's refusals, the agent's own, plus earlier runs'.
func (a *Agent) losses() map[string]int64 {
	out := map[string]int64{}
	a.mu.Lock()
	for k, v := range a.base {
		out[k] += v
	}
	for k, v := range a.own {
		out[k] += v
	}
	a.mu.Unlock()
	for _, s := range a.opts.Sources {
		if l, ok := s.(source.Lossy); ok {
			for k, v := range l.Losses() {
				out[k] += v
			}
		}
	}
	out["spool_dropped"] = a.sp.Stats().Dropped // kept by the spool over restarts
	sh := a.shipper.Stats()
	out["server_refused"] += sh.Refused
	for _, v := range sh.Rejected {
		out["server_rejected"] += v
	}
	return out
}

// previousLosses reads the losses of the agent's earlier runs from its
// status file: health events report counts over the agent's life.
func previousLosses(path, agentID string) map[string]int64 {
	st, err := ReadStatus(path)
	if err != nil || st.AgentID != agentID {
		return map[string]int64{}
	}
	delete(st.Losses, "spool_dropped")
	if st.Losses == nil {
		return map[string]int64{}
	}
	return st.Losses
}

// emitHealth emits the agent_health event.
func (a *Agent) emitHealth(phase string) {
	st := a.Status()
	now := st.UpdatedAt
	losses := make(map[string]any, len(st.Losses))
	for k, v := range st.Losses {
		losses[k] = v
	}
	ev := source.Event{
		"event_type": "host", "type": "agent_health", "event_time": now,
		"_id":           st.AgentID + "-health-" + strconv.FormatInt(now, 10),
		"agent_version": st.AgentVersion, "started_at": st.StartedAt,
		"spool_bytes": st.SpoolBytes, "spool_events": st.SpoolEvents, "lag_ms": st.LagMS, "last_send": st.LastSend,
		"losses": losses, "lost_total": st.LostTotal,
	}
	if phase != "" {
		ev["phase"] = phase
	}
	a.Emit(ev)
}

// emitMetadata emits the host_metadata event at start and when it changed.
func (a *Agent) emitMetadata(ctx context.Context) {
	id := a.opts.Identity
	ev := source.Event{
		"event_type": "host", "type": "host_metadata",
		"os_version": id.OSVersion, "kernel": id.Kernel, "private_ip": id.PrivateIP, "machine_id": id.MachineID,
		"agent_version": a.opts.Version,
	}
	if len(id.IPs) > 0 {
		ev["ip_addresses"] = id.IPs
	}
	if a.opts.CloudInfo != nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		info, err := a.opts.CloudInfo(cctx)
		cancel()
		if err != nil {
			a.log.Info("no cloud instance metadata", "err", err)
		}
		for k, v := range info {
			if v != "" {
				ev[k] = v
			}
		}
	}
	b, _ := json.Marshal(ev) // sorted keys: the same content, the same hash
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:8])
	a.mu.Lock()
	same := h == a.lastMeta
	a.lastMeta = h
	a.mu.Unlock()
	if same {
		return
	}
	ev["event_time"] = a.opts.Now().UnixMilli()
	ev["_id"] = id.AgentID + "-meta-" + h
	a.Emit(ev)
}

// writeStatus replaces the status file.
func (a *Agent) writeStatus(running bool) {
	st := a.Status()
	st.Running = running
	b, _ := json.MarshalIndent(st, "", "  ")
	if _, err := atomicfile.Write(filepath.Join(a.opts.StateDir, StatusFile), append(b, '\n'), 0o644); err != nil {
		a.log.Warn("status file", "err", err)
	}
}

// ReadStatus reads an agent's status file.
func ReadStatus(path string) (Status, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Status{}, fmt.Errorf("no agent status in %s: is the agent running with this --state?", filepath.Dir(path))
	}
	if err != nil {
		return Status{}, err
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return Status{}, fmt.Errorf("agent status %s: %w", path, err)
	}
	return st, nil
}

// LossNames returns the reasons of losses in order, for printing.
func LossNames(l map[string]int64) []string {
	names := make([]string, 0, len(l))
	for k := range l {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
