// Package logins is the agent's login collector for hosts where Linux audit
// is absent: it follows /var/log/auth.log (or /var/log/secure), or journald
// through journalctl when there is no such file, and reads the login
// history in wtmp at start. Its events are shaped like auditd's
// (internal/parse/auditd): "login" events of type user_auth (each password
// or key refused, success false), user_login (accepted), user_start
// (session opened), "logout" user_end, and sudo's commands as "audit"
// user_cmd, so `spoor logins`, the sessions hunt and the brute-force rules
// read them as they read audit.
package logins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spoor-dev/spoor/internal/agent/losses"
	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/parse"
)

// Off, as a path in Config, turns that input off.
const Off = "-"

// Loss reasons reported by Losses.
const (
	LossRotationGap = "authlog_rotation_gap" // the log rotated and its old file was gone before it was read to the end
	LossLongLine    = "authlog_long_line"    // lines over 64 KiB, skipped
	LossWtmpBounded = "wtmp_skipped"         // wtmp records beyond the bound of one read
)

// Config configures a Source. Zero values take the defaults.
type Config struct {
	// AuthLog is the followed file; "": the first of /var/log/auth.log and
	// /var/log/secure that exists; Off: none.
	AuthLog string
	// Wtmp is read at start for the login history; "": /var/log/wtmp; Off: none.
	Wtmp string
	// Journalctl is the journalctl binary, used when there is no auth log;
	// "": journalctl on PATH; Off: never.
	Journalctl string
	// StateDir holds the read positions. Required.
	StateDir string
	// Poll is how often the auth log is checked for new lines. 0: 1s.
	Poll time.Duration
	// Location dates auth.log's traditional timestamps (no zone). nil: time.Local.
	Location *time.Location
	// Flushed, when set, returns once every event emitted so far is durable
	// (the agent's spool); a read position is saved only after it.
	Flushed func(context.Context) error
	Logger  *slog.Logger
	Now     func() time.Time
}

// Source is the login collector; it implements source.Source and source.Lossy.
type Source struct {
	cfg    Config
	log    *slog.Logger
	losses losses.Counter
}

// New returns a login source with cfg's defaults filled in.
func New(cfg Config) *Source {
	if cfg.Wtmp == "" {
		cfg.Wtmp = "/var/log/wtmp"
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Source{cfg: cfg, log: cfg.Logger.With("source", "logins")}
}

// Name implements source.Source.
func (s *Source) Name() string { return "logins" }

// Losses implements source.Lossy.
func (s *Source) Losses() map[string]int64 { return s.losses.Snapshot() }

func (s *Source) lose(reason string, n int64) { s.losses.Add(reason, n) }

// Run implements source.Source.
func (s *Source) Run(ctx context.Context, emit source.Emit) error {
	if s.cfg.StateDir == "" {
		return errors.New("logins: no state directory")
	}
	if err := os.MkdirAll(s.cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("logins: state directory: %w", err)
	}
	if s.cfg.Wtmp != Off {
		if err := s.readWtmp(emit); err != nil {
			s.log.Warn("wtmp", "path", s.cfg.Wtmp, "err", err)
		}
	}
	authLog := s.authLog()
	if authLog == "" {
		if bin := s.journalctl(); bin != "" {
			return s.followJournal(ctx, bin, emit)
		}
		s.log.Info("no auth log and no journalctl: login history from wtmp only")
		<-ctx.Done()
		return nil
	}
	return s.followAuthLog(ctx, authLog, emit)
}

// authLog is the auth log to follow, "" for none.
func (s *Source) authLog() string {
	switch s.cfg.AuthLog {
	case Off:
		return ""
	case "":
		for _, p := range []string{"/var/log/auth.log", "/var/log/secure"} {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
		return ""
	}
	return s.cfg.AuthLog
}

func (s *Source) journalctl() string {
	switch s.cfg.Journalctl {
	case Off:
		return ""
	case "":
		p, err := exec.LookPath("journalctl")
		if err != nil {
			return ""
		}
		return p
	}
	return s.cfg.Journalctl
}

// followAuthLog polls the auth log until ctx ends.
func (s *Source) followAuthLog(ctx context.Context, path string, emit source.Emit) error {
	f := &follower{path: path, posFile: filepath.Join(s.cfg.StateDir, "logins-authlog.pos")}
	if s.cfg.Flushed != nil {
		f.beforeSave = func() error { return s.cfg.Flushed(ctx) }
	}
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		skipped := f.skipped
		_, gap, err := f.poll(func(b []byte, ino uint64, off int64) {
			l, ok := parseHeader(string(b), s.cfg.Now(), s.cfg.Location)
			if !ok {
				return
			}
			ev, ok := authEvent(l)
			if !ok {
				return
			}
			ev["log_source"] = "auth.log"
			// The line's place in the file names it on this host: read
			// again after a crash, it dedupes; two equal lines (sshd logs
			// the same failure twice in a second) stay two events.
			ev["_id"] = parse.HashID("authlog", strconv.FormatUint(ino, 10), strconv.FormatInt(off, 10), string(b))
			emit(ev)
		})
		s.lose(LossLongLine, f.skipped-skipped)
		if gap {
			s.lose(LossRotationGap, 1)
			s.log.Warn("auth log rotated before it was read to the end", "path", path)
		}
		if err != nil {
			s.log.Warn("auth log", "path", path, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// readWtmp emits the wtmp records appended since the last start (the whole
// file, bounded, at the first).
func (s *Source) readWtmp(emit source.Emit) error {
	f := &follower{path: s.cfg.Wtmp, posFile: filepath.Join(s.cfg.StateDir, "logins-wtmp.pos")}
	f.load()
	file, err := os.Open(s.cfg.Wtmp)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return err
	}
	dev, ino := devIno(fi)
	if dev != f.pos.Dev || ino != f.pos.Ino || fi.Size() < f.pos.Offset {
		f.pos = position{Dev: dev, Ino: ino} // rotated or new: from the start
	}
	off := f.pos.Offset - f.pos.Offset%utmpSize
	if max := int64(maxWtmpRecords * utmpSize); fi.Size()-off > max {
		skip := (fi.Size() - off - max + utmpSize - 1) / utmpSize * utmpSize
		s.lose(LossWtmpBounded, skip/utmpSize)
		off += skip
	}
	if _, err := file.Seek(off, io.SeekStart); err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(file, maxWtmpRecords*utmpSize))
	if err != nil {
		return err
	}
	used := wtmpEvents(b, func(ev source.Event) { emit(ev) })
	f.pos.Offset = off + int64(used)
	return f.save()
}
