// Package audit collects Linux audit events for the agent: it follows
// auditd's log file across rotations, or reads the kernel's audit netlink
// socket, and turns the records into events with the auditd decoder that
// `spoor ingest` uses (one decoder, two sources).
package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/atomicfile"
	"github.com/spoor-dev/spoor/internal/parse/auditd"
)

// Defaults of FollowConfig.
const (
	DefaultLogPath   = "/var/log/audit/audit.log"
	DefaultPoll      = 250 * time.Millisecond
	DefaultSaveEvery = time.Second
	readBytes        = 64 << 10
	// quietPolls is how many polls that read nothing close an event whose
	// last line never ended.
	quietPolls = 20
)

// FollowConfig configures a Follower.
type FollowConfig struct {
	Path string // the audit log (default /var/log/audit/audit.log)
	// PositionFile keeps the read position (file identity and offset)
	// across restarts; "" keeps none.
	PositionFile string
	// Host names the records that name none (no node=).
	Host string
	// Flushed returns once every event emitted so far is durable (in the
	// agent's spool); the read position is saved only after it, so a crash
	// reads events again rather than losing them. nil: saved at once.
	Flushed func(ctx context.Context) error
	// Poll is how often the end of the file is looked at (default 250 ms);
	// a poll that finds nothing new also completes the last event.
	Poll      time.Duration
	SaveEvery time.Duration // how often the position is saved (default 1 s)
	Logger    *slog.Logger
}

// Follower is the audit log source.
type Follower struct {
	cfg FollowConfig

	mu     sync.Mutex
	losses map[string]int64

	// Owned by Run.
	g       *grouper
	f       *os.File
	id      fileID
	off     int64  // offset after the last byte read into buf
	buf     []byte // bytes read and not yet cut into lines
	long    bool   // skipping the rest of a line over the limit
	quiet   int    // polls in a row that read nothing
	savedAt time.Time
	saved   position
}

// fileID names a file across renames.
type fileID struct{ Dev, Ino uint64 }

// position is the saved read position.
type position struct {
	Path   string `json:"path"`
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	Offset int64  `json:"offset"`
}

// NewFollower returns the source following cfg.Path.
func NewFollower(cfg FollowConfig) *Follower {
	if cfg.Path == "" {
		cfg.Path = DefaultLogPath
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.SaveEvery <= 0 {
		cfg.SaveEvery = DefaultSaveEvery
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Follower{cfg: cfg, losses: map[string]int64{}}
}

// Name implements source.Source.
func (f *Follower) Name() string { return "audit-log" }

// Losses implements source.Lossy: "reassembly_gaps" (serials missing from
// the log: events the kernel or auditd lost), "unreadable_records" and
// "truncated" (times the log was truncated under the reader).
func (f *Follower) Losses() map[string]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int64, len(f.losses))
	for k, v := range f.losses {
		out[k] = v
	}
	return out
}

// Run implements source.Source.
func (f *Follower) Run(ctx context.Context, emit source.Emit) error {
	f.g = newGrouper(f.cfg.Host, emit)
	if err := f.start(); err != nil {
		return err
	}
	defer func() {
		if f.f != nil {
			f.f.Close()
		}
	}()
	t := time.NewTicker(f.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := f.poll(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			f.g.flush(context.WithoutCancel(ctx), true)
			f.publish()
			return f.save(context.WithoutCancel(ctx), true)
		case <-t.C:
		}
	}
}

// start opens the log at the saved position. When the file there is no
// longer the one the position names (rotated while the agent was down),
// the rotated file is read from the position first, then the new one
// from its start.
func (f *Follower) start() error {
	var p position
	if f.cfg.PositionFile != "" {
		if b, err := os.ReadFile(f.cfg.PositionFile); err == nil {
			if json.Unmarshal(b, &p) != nil || p.Offset < 0 {
				f.cfg.Logger.Warn("audit read position unreadable, reading the log from its start", "file", f.cfg.PositionFile)
				p = position{}
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("audit read position: %w", err)
		}
	}
	f.saved = p
	want := fileID{p.Dev, p.Ino}
	if p.Ino != 0 {
		if old := f.findFile(want); old != "" && old != f.cfg.Path {
			f.cfg.Logger.Info("audit log rotated while stopped: reading the rotated file first", "file", old)
			if err := f.openAt(old, p.Offset); err == nil {
				return nil // poll moves to the new file at the end of this one
			}
		}
	}
	err := f.openAt(f.cfg.Path, 0)
	if errors.Is(err, fs.ErrNotExist) {
		f.cfg.Logger.Warn("audit log not there yet: waiting for it", "path", f.cfg.Path)
		return nil
	}
	if err != nil {
		return err
	}
	if f.id == want {
		if st, err := f.f.Stat(); err == nil && st.Size() >= p.Offset {
			if _, err := f.f.Seek(p.Offset, io.SeekStart); err != nil {
				return fmt.Errorf("audit log: %w", err)
			}
			f.off = p.Offset
			f.g.safe, f.g.chunkEnd, f.g.curEnd = p.Offset, p.Offset, p.Offset
		}
	} else if p.Ino != 0 {
		f.cfg.Logger.Warn("the audit log of the saved read position is gone: reading the current one from its start")
	}
	return nil
}

// findFile returns the file in the log's directory with identity id: the
// log itself or one of its rotations (audit.log.1, ...), "" when none.
func (f *Follower) findFile(id fileID) string {
	dir, base := filepath.Split(f.cfg.Path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), base) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if got, ok := statID(p); ok && got == id {
			return p
		}
	}
	return ""
}

func statID(path string) (fileID, bool) {
	st, err := os.Stat(path)
	if err != nil {
		return fileID{}, false
	}
	return idOf(st)
}

func idOf(st os.FileInfo) (fileID, bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(sys.Dev), sys.Ino}, true
}

// openAt makes path the file read, from offset off.
func (f *Follower) openAt(path string, off int64) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return err
	}
	if off > st.Size() {
		off = 0
	}
	if _, err := file.Seek(off, io.SeekStart); err != nil {
		file.Close()
		return err
	}
	if f.f != nil {
		f.f.Close()
	}
	f.id, _ = idOf(st)
	f.f, f.off, f.buf, f.long = file, off, f.buf[:0], false
	f.g.reset()
	f.g.safe, f.g.chunkEnd, f.g.curEnd = off, off, off
	return nil
}

// poll reads what the log holds past the position, follows a rotation or
// truncation, and saves the position when due. It reports whether it read
// anything.
func (f *Follower) poll(ctx context.Context) (bool, error) {
	if f.f == nil {
		if err := f.openAt(f.cfg.Path, 0); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return false, nil
			}
			return false, fmt.Errorf("audit log: %w", err)
		}
	}
	read, err := f.readToEnd(ctx)
	if err != nil {
		return read, err
	}
	if read {
		f.quiet = 0
	} else {
		f.quiet++
	}
	// Quiet, with no line half written: the last event is whole (auditd
	// writes an event's records together). A partial line left alone for
	// many polls is a writer that stopped mid-line.
	f.g.flush(ctx, !read && (len(f.buf) == 0 || f.quiet >= quietPolls))
	if err := f.follow(ctx); err != nil {
		return read, err
	}
	f.publish()
	return read, f.save(ctx, false)
}

// readToEnd reads the file to its current end, line by line.
func (f *Follower) readToEnd(ctx context.Context) (bool, error) {
	read := false
	for {
		if len(f.buf)+readBytes > cap(f.buf) {
			nb := make([]byte, len(f.buf), len(f.buf)+2*readBytes)
			copy(nb, f.buf)
			f.buf = nb
		}
		n, err := f.f.Read(f.buf[len(f.buf) : len(f.buf)+readBytes])
		if n > 0 {
			read = true
			f.buf = f.buf[:len(f.buf)+n]
			f.off += int64(n)
			f.lines(ctx)
		}
		if err == io.EOF || n == 0 {
			return read, nil
		}
		if err != nil {
			return read, fmt.Errorf("read audit log: %w", err)
		}
	}
}

// lines hands the whole lines of buf to the grouper, keeping a partial last
// line for the next read; a line over the decoder's limit is skipped.
func (f *Follower) lines(ctx context.Context) {
	start := f.off - int64(len(f.buf)) // file offset of buf[0]
	b := f.buf
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		end := start + int64(len(f.buf)-len(b)) + int64(i) + 1
		if f.long || i > auditd.MaxLineBytes {
			f.long = false
			f.g.skipped(end)
		} else {
			f.g.line(ctx, bytes.TrimRight(b[:i], "\r"), end)
		}
		b = b[i+1:]
	}
	if len(b) > auditd.MaxLineBytes {
		f.long, b = true, b[:0]
	}
	f.buf = append(f.buf[:0], b...)
}

// follow looks at the path after reading to the end: a new file there
// (rename and create) is opened once the old one is read out; a file
// shorter than the offset was truncated (copytruncate) and is read again
// from its start.
func (f *Follower) follow(ctx context.Context) error {
	id, ok := statID(f.cfg.Path)
	if ok && id != f.id {
		if _, err := f.readToEnd(ctx); err != nil { // what was written before the rename
			return err
		}
		f.g.flush(ctx, true)
		f.publish()
		if err := f.save(ctx, true); err != nil {
			return err
		}
		if err := f.openAt(f.cfg.Path, 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("audit log: %w", err)
		}
		return nil
	}
	st, err := f.f.Stat()
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if st.Size() < f.off {
		f.g.flush(ctx, true)
		f.cfg.Logger.Warn("audit log truncated: reading it from its start", "path", f.cfg.Path)
		f.mu.Lock()
		f.losses["truncated"]++
		f.mu.Unlock()
		if _, err := f.f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
		f.off, f.buf, f.long = 0, f.buf[:0], false
		f.g.reset()
	}
	return nil
}

// publish copies the grouper's tallies into the losses.
func (f *Follower) publish() {
	f.mu.Lock()
	f.losses["reassembly_gaps"] = f.g.gaps
	f.losses["unreadable_records"] = f.g.rejects
	f.mu.Unlock()
}

// save writes the safe read position once what was emitted is durable,
// at most every SaveEvery unless now.
func (f *Follower) save(ctx context.Context, now bool) error {
	if f.cfg.PositionFile == "" || f.f == nil {
		return nil
	}
	p := position{Path: f.f.Name(), Dev: f.id.Dev, Ino: f.id.Ino, Offset: f.g.safe}
	if p == f.saved || (!now && time.Since(f.savedAt) < f.cfg.SaveEvery) {
		return nil
	}
	if f.cfg.Flushed != nil {
		if err := f.cfg.Flushed(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("audit read position: %w", err)
		}
	}
	b, _ := json.Marshal(p)
	if _, err := atomicfile.Write(f.cfg.PositionFile, b, 0o600); err != nil {
		return fmt.Errorf("audit read position: %w", err)
	}
	f.saved, f.savedAt = p, time.Now()
	return nil
}
