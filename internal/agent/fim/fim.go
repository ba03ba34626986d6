// Package fim is the agent's file integrity monitor: it watches configured
// paths with inotify (fsnotify), keeps a baseline of every path's metadata
// and SHA-256 in a bbolt file under the state directory, and emits a "file"
// event for each create, modify, delete, rename and attribute change
// (chmod, chown). A periodic rescan, and an immediate one when the kernel's
// inotify queue overflows, finds what inotify missed; its events say so
// (detected_by "rescan") and overflows are counted in Losses.
package fim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/spoor-dev/spoor/internal/agent/losses"
	"github.com/spoor-dev/spoor/internal/agent/source"
)

// Defaults of Config.
const (
	DefaultMaxHashBytes = 64 << 20
	DefaultRescan       = time.Hour
	DefaultSettle       = 250 * time.Millisecond
)

// How a change was found (the detected_by field).
const (
	ByInotify = "inotify"
	ByRescan  = "rescan" // periodic or after an inotify queue overflow
	ByStart   = "start"  // the scan at start: changes made while the agent was stopped
)

// Loss reasons reported by Losses.
const (
	LossOverflow   = "inotify_overflow" // the kernel's inotify queue overflowed; a rescan followed
	LossWatchLimit = "fim_unwatched"    // directories inotify refused to watch (max_user_watches); rescans cover them
)

// DefaultPaths are the paths watched when Config.Paths is empty: system
// binaries and configuration, SSH keys and cron.
func DefaultPaths() []string {
	return []string{"/etc", "/usr/bin", "/usr/sbin", "/bin", "/sbin", "/root/.ssh", "/home/*/.ssh",
		"/var/spool/cron"}
}

// Config configures a Source.
type Config struct {
	// Paths are the watched paths (shell patterns allowed: /home/*/.ssh),
	// recursively where they are directories. Empty: DefaultPaths.
	Paths []string
	// StateDir holds the baseline (BaselineFile). Required.
	StateDir string
	// MaxHashBytes bounds hashing: larger regular files get no sha256 and
	// hash_skipped "size_limit"; their changes are told by size and mtime.
	// 0: DefaultMaxHashBytes; negative: never hash.
	MaxHashBytes int64
	// Rescan is the period of the full rescan. 0: DefaultRescan; negative: none.
	Rescan time.Duration
	// Settle is how long a path must be quiet before it is examined, so a
	// file being written gives one event, not one per write. 0: DefaultSettle.
	Settle time.Duration
	// Flushed, when set, returns once every event emitted so far is durable
	// (the agent's spool): the baseline takes a change only after its event
	// is kept, so a crash between the two reports the change again rather
	// than never.
	Flushed func(context.Context) error
	Logger  *slog.Logger
	Now     func() time.Time
}

// Source is the FIM collector; it implements source.Source and source.Lossy.
type Source struct {
	cfg Config
	log *slog.Logger

	losses losses.Counter

	// rescan asks Run for a full rescan (tests force one with it).
	rescan chan struct{}
	// scanned, when set (tests), receives the run after each full scan.
	scanned chan *run
}

// New returns a FIM source with cfg's defaults filled in.
func New(cfg Config) *Source {
	if len(cfg.Paths) == 0 {
		cfg.Paths = DefaultPaths()
	}
	if cfg.MaxHashBytes == 0 {
		cfg.MaxHashBytes = DefaultMaxHashBytes
	}
	if cfg.Rescan == 0 {
		cfg.Rescan = DefaultRescan
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Source{cfg: cfg, log: cfg.Logger.With("source", "fim"),
		rescan: make(chan struct{}, 1)}
}

// Name implements source.Source.
func (s *Source) Name() string { return "fim" }

// Losses implements source.Lossy.
func (s *Source) Losses() map[string]int64 { return s.losses.Snapshot() }

func (s *Source) lose(reason string, n int64) { s.losses.Add(reason, n) }

// Run implements source.Source: it builds or checks the baseline, then
// follows inotify until ctx ends.
func (s *Source) Run(ctx context.Context, emit source.Emit) error {
	if s.cfg.StateDir == "" {
		return errors.New("fim: no state directory")
	}
	if err := os.MkdirAll(s.cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("fim: state directory: %w", err)
	}
	base, err := openBaseline(s.cfg.StateDir)
	if err != nil {
		return fmt.Errorf("fim: %w", err)
	}
	defer base.Close()
	w, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return fmt.Errorf("fim: inotify: %w", err)
	}
	defer w.Close()

	r := &run{Source: s, base: base, w: w, emit: emit, owners: newOwners(),
		dirty: map[string]fsnotify.Op{}, unwatched: map[string]bool{}}
	r.fullScan(ctx, ByStart)

	var rescanC <-chan time.Time
	if s.cfg.Rescan > 0 {
		t := time.NewTicker(s.cfg.Rescan)
		defer t.Stop()
		rescanC = t.C
	}
	settle := time.NewTicker(s.cfg.Settle / 2)
	defer settle.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			r.mark(ev)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				s.lose(LossOverflow, 1)
				s.log.Warn("inotify queue overflow: rescanning the watched paths")
				r.fullScan(ctx, ByRescan)
				continue
			}
			s.log.Warn("inotify", "err", err)
		case <-settle.C:
			r.settle(ctx)
		case <-rescanC:
			r.fullScan(ctx, ByRescan)
		case <-s.rescan:
			r.fullScan(ctx, ByRescan)
		}
	}
}

// afterScan tells a test a full scan ended.
func (r *run) afterScan() {
	if r.scanned != nil {
		select {
		case r.scanned <- r:
		default:
		}
	}
}

// run is the state of one Run; only Run's goroutine touches it.
type run struct {
	*Source
	base   *baseline
	w      *fsnotify.Watcher
	emit   source.Emit
	owners *owners
	roots  []root

	// dirty are the paths inotify named since they were last examined,
	// with the operations it reported.
	dirty                 map[string]fsnotify.Op
	firstDirty, lastDirty time.Time
	unwatched             map[string]bool
}

// root is one watched path, a pattern expanded and its symlinks resolved.
type root struct {
	pattern string
	path    string
	dir     bool
}

// expandRoots resolves the configured patterns to existing paths, each once.
func (r *run) expandRoots() []root {
	var out []root
	seen := map[string]bool{}
	for _, pat := range r.cfg.Paths {
		matches, err := filepath.Glob(pat)
		if err != nil {
			r.log.Warn("bad fim path pattern", "pattern", pat, "err", err)
			continue
		}
		for _, m := range matches {
			p, err := filepath.EvalSymlinks(m)
			if err != nil {
				continue
			}
			p = filepath.Clean(p)
			if seen[p] {
				continue
			}
			fi, err := os.Stat(p)
			if err != nil {
				continue
			}
			seen[p] = true
			out = append(out, root{pattern: pat, path: p, dir: fi.IsDir()})
		}
	}
	// A root inside another is covered by it.
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	kept := out[:0]
	for _, rt := range out {
		if len(kept) > 0 && under(kept[len(kept)-1], rt.path) {
			continue
		}
		kept = append(kept, rt)
	}
	return kept
}

// under says p is rt or below it.
func under(rt root, p string) bool {
	if p == rt.path {
		return true
	}
	if !rt.dir {
		return false
	}
	if rt.path == "/" {
		return true
	}
	return strings.HasPrefix(p, rt.path+"/")
}

// inScope says p is watched.
func (r *run) inScope(p string) bool {
	for _, rt := range r.roots {
		if under(rt, p) {
			return true
		}
	}
	return false
}

// watch adds an inotify watch on dir; a refusal (the watch limit) is
// counted once per directory, and rescans still cover it.
func (r *run) watch(dir string) {
	if err := r.w.Add(dir); err != nil {
		if !r.unwatched[dir] {
			r.unwatched[dir] = true
			r.lose(LossWatchLimit, 1)
			r.log.Warn("fim cannot watch directory; rescans cover it", "dir", dir, "err", err)
		}
		return
	}
	delete(r.unwatched, dir)
}

// mark records an inotify event; the path is examined once quiet.
func (r *run) mark(ev fsnotify.Event) {
	p := filepath.Clean(ev.Name)
	if !r.inScope(p) {
		return
	}
	now := r.cfg.Now()
	if len(r.dirty) == 0 {
		r.firstDirty = now
	}
	r.lastDirty = now
	r.dirty[p] |= ev.Op
}

// settle examines the dirty paths once inotify has been quiet for Settle,
// or when the oldest has waited 8 Settles (a path written without pause).
// They are examined together so a rename's two halves meet.
func (r *run) settle(ctx context.Context) {
	if len(r.dirty) == 0 {
		return
	}
	now := r.cfg.Now()
	if now.Sub(r.lastDirty) < r.cfg.Settle && now.Sub(r.firstDirty) < 8*r.cfg.Settle {
		return
	}
	ops := r.dirty
	r.dirty = map[string]fsnotify.Op{}
	paths := make([]string, 0, len(ops))
	for p := range ops {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	r.reconcile(ctx, paths, ops, ByInotify)
}

// fullScan walks every root, watching its directories, and reconciles what
// it finds and what the baseline holds. Paths under a root the baseline
// has never seen are recorded without events (the first baseline).
func (r *run) fullScan(ctx context.Context, how string) {
	r.roots = r.expandRoots()
	known := r.base.knownRoots()
	var check, fresh []string
	var newPatterns []string
	for _, rt := range r.roots {
		var found []string
		walk(rt, func(p string, isDir bool) {
			if isDir {
				r.watch(p)
			}
			found = append(found, p)
		})
		if !rt.dir {
			r.watch(filepath.Dir(rt.path))
		}
		if known[rt.pattern] {
			check = append(check, found...)
		} else {
			fresh = append(fresh, found...)
		}
	}
	// Every pattern is known after its first scan, matched or not: a
	// ~/.ssh that appears later is reported, not taken as the baseline.
	for _, pat := range r.cfg.Paths {
		if !known[pat] && !contains(newPatterns, pat) {
			newPatterns = append(newPatterns, pat)
		}
	}
	// Baseline paths: to find what went away; those out of scope now (the
	// configuration changed) are forgotten silently.
	var forget []change
	freshSet := map[string]bool{}
	for _, p := range fresh {
		freshSet[p] = true
	}
	for _, p := range r.base.paths() {
		switch {
		case !r.inScope(p):
			forget = append(forget, change{path: p, delete: true})
		case !freshSet[p]:
			check = append(check, p)
		}
	}
	if err := r.base.apply(forget, nil); err != nil {
		r.log.Warn("fim baseline", "err", err)
	}
	if len(fresh) > 0 {
		r.record(ctx, fresh)
	}
	if err := r.base.apply(nil, newPatterns); err != nil {
		r.log.Warn("fim baseline", "err", err)
	}
	check = dedupe(check)
	r.reconcile(ctx, check, nil, how)
	r.afterScan()
}

// record puts paths in the baseline without events.
func (r *run) record(ctx context.Context, paths []string) {
	var batch []change
	for _, p := range paths {
		if ctx.Err() != nil {
			return
		}
		if _, ok := r.base.get(p); ok {
			continue
		}
		cur, ok := r.observe(p, nil)
		if !ok {
			continue
		}
		batch = append(batch, change{path: p, rec: cur})
		if len(batch) == 1024 {
			if err := r.base.apply(batch, nil); err != nil {
				r.log.Warn("fim baseline", "err", err)
			}
			batch = batch[:0]
		}
	}
	if err := r.base.apply(batch, nil); err != nil {
		r.log.Warn("fim baseline", "err", err)
	}
}

// walk calls fn for rt's path and, for a directory, everything below it
// (not following symlinks). Unreadable entries are skipped.
func walk(rt root, fn func(p string, isDir bool)) {
	if !rt.dir {
		fn(rt.path, false)
		return
	}
	_ = filepath.WalkDir(rt.path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if d != nil && d.IsDir() && p != rt.path {
				return filepath.SkipDir
			}
			return nil
		}
		fn(p, d.IsDir())
		return nil
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func dedupe(paths []string) []string {
	sort.Strings(paths)
	out := paths[:0]
	for i, p := range paths {
		if i == 0 || p != paths[i-1] {
			out = append(out, p)
		}
	}
	return out
}
