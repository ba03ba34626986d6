// Package agent runs spoor's host agent: its collectors (sources) hand
// events to it; it stamps them with the host's identity and a deterministic
// _id, makes them durable in the disk spool, and ships them to the server,
// reporting its own health and every loss as events of their own.
package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spoor-dev/spoor/internal/agent/hostmeta"
	"github.com/spoor-dev/spoor/internal/agent/ship"
	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/agent/spool"
)

// Defaults for the zero fields of Options.
const (
	DefaultHealthEvery = time.Minute
	DefaultStatusEvery = 5 * time.Second
	// DefaultQueue is 1024 lines (~1.2 MB of audit envelopes; it was
	// sized when the agent shipped decoded events of ~3 KB, when 2048
	// took the peak RSS over 60 MB in two runs of five and 1024 kept it
	// at 51-56 MB at no cost in CPU: the queue only rides out the
	// fsyncs). The netlink source has its own queue in front of the
	// kernel.
	DefaultQueue = 1024
	DefaultDrain = 5 * time.Second
	// writeBatch bounds the events made durable by one spool append (one
	// fsync); writeLinger is how long the writer waits for more. A batch
	// is held twice while the spool frames it, beside a full queue: at
	// 4096 decoded events of ~3 KB the agent's peak RSS went past 60 MB
	// once the decoder caught up with the disk; 512 keeps it a queue's
	// half.
	writeBatch  = 512
	writeLinger = 20 * time.Millisecond
	// maxPooledLine is the largest line buffer kept for reuse: a rare
	// huge event is not held for the agent's lifetime.
	maxPooledLine = 64 << 10
)

// Options configures an agent.
type Options struct {
	StateDir string // agent-id.json, spool/, status.json, read positions
	Identity hostmeta.Identity
	Version  string
	Sources  []source.Source
	Spool    spool.Options
	Sink     ship.Sink
	Ship     ship.Options
	// Server names the destination in the status ("" for a file sink).
	Server string

	HealthEvery time.Duration // health events (default 1 min)
	StatusEvery time.Duration // status.json (default 5 s)
	Queue       int           // events waiting for the spool (default 1024)
	Drain       time.Duration // how long the agent tries to send what is left when it stops (default 5 s)

	// CloudInfo returns the cloud instance's metadata (instance_id,
	// instance_type, region, account_id, cloud_provider, public_ip, ...);
	// nil leaves it out (--no-imds); spoor agent wires it to hostmeta.Cloud.
	CloudInfo func(ctx context.Context) (map[string]string, error)
	// ContainerOf names the container of a process, for events with a
	// pid; spoor agent wires it to hostmeta.ContainerOf.
	ContainerOf func(procRoot string, pid int) (id, runtime string, ok bool)

	Logger *slog.Logger
	Now    func() time.Time
}

// Agent is one running agent.
type Agent struct {
	opts    Options
	log     *slog.Logger
	sp      *spool.Spool
	shipper *ship.Shipper
	queue   chan item
	// lines recycles the buffers of encoded events: the writer returns
	// them once the spool holds their copy, so an event's few kilobytes
	// are not garbage the collector must chase.
	lines   sync.Pool
	started int64

	mu       sync.Mutex
	own      map[string]int64 // the agent's own losses this run
	base     map[string]int64 // losses of earlier runs
	lastMeta string           // content hash of the last host metadata event
	failed   int              // sources that could not run
}

// item is an encoded event for the spool, or a barrier the writer closes
// once everything queued before it is durable.
type item struct {
	line    *[]byte // from Agent.lines, back there once spooled
	barrier chan error
}

// New opens the agent's spool in StateDir.
func New(o Options) (*Agent, error) {
	if o.StateDir == "" {
		return nil, errors.New("agent: no state directory")
	}
	if o.Sink == nil {
		return nil, errors.New("agent: no sink")
	}
	if o.HealthEvery <= 0 {
		o.HealthEvery = DefaultHealthEvery
	}
	if o.StatusEvery <= 0 {
		o.StatusEvery = DefaultStatusEvery
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.Drain <= 0 {
		o.Drain = DefaultDrain
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Spool.Logger = o.Logger
	sp, err := spool.Open(filepath.Join(o.StateDir, "spool"), o.Spool)
	if err != nil {
		return nil, err
	}
	o.Ship.Logger = o.Logger
	a := &Agent{opts: o, log: o.Logger, sp: sp, queue: make(chan item, o.Queue), own: map[string]int64{},
		started: o.Now().UnixMilli()}
	a.lines.New = func() any { b := make([]byte, 0, 4<<10); return &b }
	a.shipper = ship.New(sp, o.Sink, o.Ship)
	a.base = previousLosses(filepath.Join(o.StateDir, StatusFile), o.Identity.AgentID)
	return a, nil
}

// AddSources adds collectors before Run (those made after the agent, to
// call its Flush).
func (a *Agent) AddSources(s ...source.Source) { a.opts.Sources = append(a.opts.Sources, s...) }

// Run runs the sources, the spool writer and the shipper until ctx ends,
// then stops them in order: sources first (they save their read
// positions once the spool holds what they read), then the writer, then a
// last attempt to send what is left.
func (a *Agent) Run(ctx context.Context) error {
	bg := context.WithoutCancel(ctx)
	writerDone := make(chan struct{})
	go func() { a.writer(); close(writerDone) }()
	shipCtx, stopShip := context.WithCancel(bg)
	shipDone := make(chan error, 1)
	go func() { shipDone <- a.shipper.Run(shipCtx) }()

	a.emitMetadata(ctx)
	a.emitHealth("start")
	var wg sync.WaitGroup
	for _, s := range a.opts.Sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(ctx, a.Emit); err != nil {
				a.log.Error("source cannot run", "source", s.Name(), "err", err)
				a.mu.Lock()
				a.failed++
				a.own["source_failed"]++
				a.mu.Unlock()
			}
		}()
	}
	a.loop(ctx)
	wg.Wait()
	a.emitHealth("stop")
	close(a.queue)
	<-writerDone
	stopShip()
	err := <-shipDone
	dctx, cancel := context.WithTimeout(bg, a.opts.Drain)
	if derr := a.shipper.Drain(dctx); derr != nil && a.sp.Stats().Events > 0 {
		a.log.Warn("stopping with events still spooled: they are sent at the next start", "events", a.sp.Stats().Events)
	}
	cancel()
	a.writeStatus(false)
	err = errors.Join(err, a.opts.Sink.Close(), a.sp.Close())
	a.mu.Lock()
	allFailed := len(a.opts.Sources) > 0 && a.failed == len(a.opts.Sources)
	a.mu.Unlock()
	if allFailed {
		err = errors.Join(err, errors.New("no source could run"))
	}
	return err
}

// loop emits health events and writes the status file until ctx ends.
func (a *Agent) loop(ctx context.Context) {
	health := time.NewTicker(a.opts.HealthEvery)
	status := time.NewTicker(a.opts.StatusEvery)
	meta := time.NewTicker(10 * a.opts.HealthEvery)
	defer health.Stop()
	defer status.Stop()
	defer meta.Stop()
	a.writeStatus(true)
	for {
		select {
		case <-ctx.Done():
			return
		case <-health.C:
			a.emitHealth("")
		case <-status.C:
			a.writeStatus(true)
		case <-meta.C:
			a.emitMetadata(ctx)
		}
	}
}

// Emit stamps ev with the host's identity and an _id, encodes it and
// queues it for the spool. It blocks only while the queue is full (the
// disk is slower than the sources).
func (a *Agent) Emit(ev source.Event) {
	id := a.opts.Identity
	ev["agent_id"] = id.AgentID
	if _, ok := ev["hostname"]; !ok {
		ev["hostname"] = id.Hostname
	}
	a.container(ev)
	if sid, ok := ev["_id"].(string); ok && !strings.HasPrefix(sid, id.AgentID) {
		// A source's _id names the observation on its host (a file's
		// change, a line's place in a log); hosts cloned from one image
		// make the same observations, so the host's identity is part of
		// the id the server dedupes by.
		sum := sha256.Sum256([]byte(id.AgentID + "\x00" + sid))
		ev["_id"] = hex.EncodeToString(sum[:16])
	} else if !ok {
		b, err := source.AppendJSON(nil, ev)
		if err != nil {
			a.lose("unencodable")
			return
		}
		sum := sha256.Sum256(b)
		ev["_id"] = hex.EncodeToString(sum[:16])
	}
	buf := a.lines.Get().(*[]byte)
	line, err := source.AppendJSON((*buf)[:0], ev)
	if err != nil {
		a.lines.Put(buf)
		a.lose("unencodable")
		return
	}
	*buf = line
	a.queue <- item{line: buf}
}

// container sets the container of an event's process, where the hook
// knows it.
func (a *Agent) container(ev source.Event) {
	if a.opts.ContainerOf == nil {
		return
	}
	if _, ok := ev["containerId"]; ok {
		return
	}
	pid, ok := ev["pid"].(int64)
	if !ok || pid <= 0 {
		return
	}
	if cid, runtime, ok := a.opts.ContainerOf("/proc", int(pid)); ok {
		ev["containerId"] = cid
		ev["container_runtime"] = runtime
	}
}

func (a *Agent) lose(reason string) {
	a.mu.Lock()
	a.own[reason]++
	a.mu.Unlock()
}

// Flush returns once every event emitted before it is durable in the
// spool. Sources call it before saving a read position.
func (a *Agent) Flush(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case a.queue <- item{barrier: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer moves queued events to the spool, many per append (one fsync),
// until the queue is closed.
func (a *Agent) writer() {
	var bufs []*[]byte
	var lines [][]byte
	var barriers []chan error
	for {
		it, ok := <-a.queue
		if !ok {
			return
		}
		bufs, barriers = add(bufs[:0], barriers[:0], it)
		linger := time.NewTimer(writeLinger)
	collect:
		for len(bufs) < writeBatch && len(barriers) == 0 {
			select {
			case it, ok := <-a.queue:
				if !ok {
					break collect
				}
				bufs, barriers = add(bufs, barriers, it)
			case <-linger.C:
				break collect
			}
		}
		linger.Stop()
	drain:
		for len(bufs) < writeBatch {
			select {
			case it, ok := <-a.queue:
				if !ok {
					break drain
				}
				bufs, barriers = add(bufs, barriers, it)
			default:
				break drain
			}
		}
		lines = lines[:0]
		for _, b := range bufs {
			lines = append(lines, *b)
		}
		err := a.append(lines)
		for i, b := range bufs {
			if cap(*b) <= maxPooledLine {
				a.lines.Put(b)
			}
			bufs[i], lines[i] = nil, nil
		}
		for _, b := range barriers {
			b <- err
		}
	}
}

func add(bufs []*[]byte, barriers []chan error, it item) ([]*[]byte, []chan error) {
	if it.barrier != nil {
		return bufs, append(barriers, it.barrier)
	}
	return append(bufs, it.line), barriers
}

// append makes lines durable; what the spool refuses is counted lost.
func (a *Agent) append(lines [][]byte) error {
	if len(lines) == 0 {
		return nil
	}
	_, err := a.sp.Append(context.Background(), lines)
	if errors.Is(err, spool.ErrTooLarge) {
		// One event over the limit: keep the others.
		for _, l := range lines {
			if _, err := a.sp.Append(context.Background(), [][]byte{l}); err != nil {
				a.lose("too_large")
			}
		}
		return nil
	}
	if err != nil {
		a.log.Error("spool append failed: events lost", "events", len(lines), "err", err)
		a.mu.Lock()
		a.own["spool_failed"] += int64(len(lines))
		a.mu.Unlock()
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}
