package rules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spoor-dev/spoor/internal/atomicfile"
)

// DefaultWatchInterval is how often a watch polls by default.
const DefaultWatchInterval = 250 * time.Millisecond

// Polls paces a watch: it blocks until the next look is due and reports
// false once ctx has ended. Every is the real pace; a test passes its own
// to step a watch one look at a time (see rulestest).
type Polls func(ctx context.Context) bool

// Every paces a watch at one look per interval after the last look ended
// (DefaultWatchInterval when interval <= 0).
func Every(interval time.Duration) Polls {
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	return func(ctx context.Context) bool {
		t := time.NewTimer(interval)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
}

// ErrNotFound is returned (wrapped) by Get and Delete for unknown names.
var ErrNotFound = errors.New("no such rule")

// Problem is a rule file, or a document in one, that could not be loaded.
type Problem struct {
	File string
	Line int // 0 when unknown
	Err  error
}

func (p Problem) Error() string {
	if p.Line > 0 {
		return p.File + ":" + strconv.Itoa(p.Line) + ": " + unprefixed(p.Err, p.File)
	}
	return p.File + ": " + unprefixed(p.Err, p.File)
}

// unprefixed drops the file name a *ParseError already starts with.
func unprefixed(err error, file string) string {
	var pe *ParseError
	if errors.As(err, &pe) {
		c := *pe
		c.Source, c.Line = "", 0
		return c.Error()
	}
	return strings.TrimPrefix(err.Error(), file+": ")
}

// Dir is a rules directory (DATA/rules): one rule per <name>.yml written by
// Put, plus any *.yml and *.yaml files users add, in subdirectories too.
// Its methods are safe for concurrent use; files edited by hand are seen by
// the next Load.
//
// The directory OpenDir opens holds the operator's shared rules, which
// serve every organization; its org/ subdirectory, which the shared Dir
// does not read, holds each organization's own rules (Org). Paths that
// Dir reports (Rule.Source, Problem.File, errors) are relative to the
// directory, so they never tell where the data directory lives.
type Dir struct {
	path  string
	org   string     // "" for the shared rules, else the organization
	mu    sync.Mutex // serialises Put and Delete
	scope scopes     // the shared Dir's organizations' Dirs
}

// OpenDir opens a rules directory, creating it when absent; a directory it
// creates gets the default rules (Defaults) as files, so users see and edit
// them.
func OpenDir(path string) (*Dir, error) {
	d := &Dir{path: path, scope: scopes{dirs: map[string]*Dir{}}}
	st, err := os.Stat(path)
	switch {
	case err == nil && !st.IsDir():
		return nil, fmt.Errorf("rules dir %s: not a directory", path)
	case err == nil:
		return d, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("rules dir: %w", err)
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("create rules dir: %w", err)
	}
	for _, name := range defaultFiles() {
		text, err := defaultFS.ReadFile("defaults/" + name)
		if err != nil {
			return nil, fmt.Errorf("default rule %s: %w", name, err)
		}
		if _, err := atomicfile.Write(filepath.Join(path, name), text, 0o644); err != nil {
			return nil, fmt.Errorf("write default rule: %w", err)
		}
	}
	sigmaDefaults, _ := fs.ReadDir(defaultSigmaFS, "defaults-sigma")
	if len(sigmaDefaults) > 0 {
		if err := os.MkdirAll(filepath.Join(path, "sigma"), 0o755); err != nil {
			return nil, fmt.Errorf("create rules dir: %w", err)
		}
	}
	for _, e := range sigmaDefaults {
		text, err := defaultSigmaFS.ReadFile("defaults-sigma/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("default Sigma rule %s: %w", e.Name(), err)
		}
		if _, err := atomicfile.Write(filepath.Join(path, "sigma", e.Name()), text, 0o644); err != nil {
			return nil, fmt.Errorf("write default rule: %w", err)
		}
	}
	return d, nil
}

// Path is the directory's path.
func (d *Dir) Path() string { return d.path }

// Loaded is what LoadAll found.
type Loaded struct {
	Rules      []*Rule
	Problems   []Problem
	SigmaFiles []string // YAML files that are Sigma rules, left to the Sigma loader
}

// Load reads every rule of every *.yml and *.yaml file under the
// directory, in path order; see LoadAll.
func (d *Dir) Load() (rules []*Rule, problems []Problem) {
	l := d.LoadAll()
	return l.Rules, l.Problems
}

// SigmaFiles lists the YAML files under the directory that are Sigma
// rules (IsSigma), sorted.
func (d *Dir) SigmaFiles() []string { return d.LoadAll().SigmaFiles }

// LoadAll reads the directory: rules from every *.yml and *.yaml file
// (recursively, skipping names starting with '.'), Sigma files set apart
// unread, and a Problem for each file or document that cannot be used (bad
// YAML, an invalid rule, a name already taken by an earlier file). One bad
// file never stops the others.
func (d *Dir) LoadAll() Loaded {
	var l Loaded
	files, err := d.files()
	if err != nil && !(d.org != "" && errors.Is(err, fs.ErrNotExist)) { // an organization without rules yet
		l.Problems = append(l.Problems, Problem{File: ".", Err: d.unpathed(err)})
	}
	seen := map[string]string{}
	for _, f := range files {
		rel := d.Rel(f)
		text, err := readLimited(f)
		if err != nil {
			l.Problems = append(l.Problems, Problem{File: rel, Err: d.unpathed(err)})
			continue
		}
		if IsSigma(text) {
			l.SigmaFiles = append(l.SigmaFiles, f)
			continue
		}
		rules, errs := ParseRules(text, rel)
		for _, e := range errs {
			l.Problems = append(l.Problems, Problem{File: rel, Line: e.Line, Err: e})
		}
		for _, r := range rules {
			if prev, dup := seen[r.Name]; dup {
				l.Problems = append(l.Problems, Problem{File: rel, Line: nameLine(text, r.Name), Err: fmt.Errorf("duplicate rule name %q: already defined in %s", r.Name, prev)})
				continue
			}
			seen[r.Name] = rel
			r.Origin = d.originOf(rel)
			l.Rules = append(l.Rules, r)
		}
	}
	return l
}

// Rel is a path under the directory as the directory reports it: relative
// to it, with forward slashes.
func (d *Dir) Rel(path string) string {
	rel, err := filepath.Rel(d.path, path)
	if err != nil {
		return filepath.Base(path)
	}
	return filepath.ToSlash(rel)
}

// nameLine finds the line of `name: <name>` in a file, 0 when not found.
func nameLine(text []byte, name string) int {
	re := regexp.MustCompile(`(?m)^name:\s*["']?` + regexp.QuoteMeta(name) + `["']?\s*(#.*)?$`)
	loc := re.FindIndex(text)
	if loc == nil {
		return 0
	}
	return bytes.Count(text[:loc[0]], []byte("\n")) + 1
}

func readLimited(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%d bytes, more than the %d a rule file may hold", st.Size(), MaxFileSize)
	}
	return os.ReadFile(path)
}

// files lists the rule files under the directory, sorted.
func (d *Dir) files() ([]string, error) {
	var out []string
	err := filepath.WalkDir(d.path, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if p == d.path {
				return err
			}
			return nil // an unreadable subdirectory: skip it
		}
		if p != d.path && strings.HasPrefix(de.Name(), ".") {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.org == "" && de.IsDir() && p == filepath.Join(d.path, OrgsDir) {
			return filepath.SkipDir // the organizations' own rules
		}
		if de.Type().IsRegular() && isRuleFile(de.Name()) {
			out = append(out, p)
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

func isRuleFile(name string) bool {
	return strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".yaml")
}

var (
	sigmaDetection = regexp.MustCompile(`(?m)^detection[ \t]*:`)
	sigmaLogsource = regexp.MustCompile(`(?m)^logsource[ \t]*:`)
)

// IsSigma reports whether a YAML text is a Sigma rule: it has top-level
// detection: and logsource: keys. It reads the text line by line, so a
// malformed Sigma file is still recognised and left to the Sigma loader.
func IsSigma(yamlText []byte) bool {
	return sigmaDetection.Match(yamlText) && sigmaLogsource.Match(yamlText)
}

// Get returns the rule named name as the files hold it now.
func (d *Dir) Get(name string) (*Rule, error) {
	for _, r := range d.LoadAll().Rules {
		if r.Name == name {
			return r, nil
		}
	}
	return nil, fmt.Errorf("rule %q: %w", name, ErrNotFound)
}

// fileOf finds the file defining name and how many rules that file holds.
func (d *Dir) fileOf(name string) (file string, count int, found bool) {
	files, _ := d.files()
	for _, f := range files {
		text, err := readLimited(f)
		if err != nil || IsSigma(text) {
			continue
		}
		rules, _ := ParseRules(text, f)
		for _, r := range rules {
			if r.Name == name {
				return f, len(rules), true
			}
		}
	}
	return "", 0, false
}

// Put validates r and writes it to <name>.yml atomically (a temporary
// file, fsync, rename, fsync of the directory), replacing the rule of that
// name. A rule of that name in another file is moved into <name>.yml when
// that file holds nothing else; when it shares a file with other rules Put
// refuses, since rewriting that file would lose its comments and layout.
func (d *Dir) Put(r *Rule) error {
	if err := validate(r); err != nil {
		return fmt.Errorf("rule %s: %w", r.Name, err)
	}
	text, err := Marshal(r)
	if err != nil {
		return err
	}
	// What is written must read back as the same rule.
	if _, err := ParseRule(text, ""); err != nil {
		return fmt.Errorf("rule %s does not read back: %w", r.Name, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	target := filepath.Join(d.path, r.Name+".yml")
	old, count, found := d.fileOf(r.Name)
	if found && old != target && count > 1 {
		return fmt.Errorf("rule %s is defined in %s beside %d other rules: edit that file", r.Name, d.Rel(old), count-1)
	}
	if err := os.MkdirAll(d.path, 0o755); err != nil { // an organization's first rule
		return fmt.Errorf("write rule %s: %w", r.Name, d.unpathed(err))
	}
	if _, err := atomicfile.Write(target, text, 0o644); err != nil {
		return fmt.Errorf("write rule %s: %w", r.Name, d.unpathed(err))
	}
	if found && old != target {
		if err := os.Remove(old); err != nil {
			return fmt.Errorf("rule %s written to %s, but its old file %s stays: %w", r.Name, d.Rel(target), d.Rel(old), d.unpathed(err))
		}
	}
	return nil
}

// unpathed drops the path from a file system error, which would tell
// where the data directory is.
func (d *Dir) unpathed(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s %s: %w", pe.Op, d.Rel(pe.Path), pe.Err)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("%s %s: %w", le.Op, d.Rel(le.New), le.Err)
	}
	return err
}

// Delete removes the rule named name: its file, which must hold no other
// rule.
func (d *Dir) Delete(name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, count, found := d.fileOf(name)
	if !found {
		return fmt.Errorf("rule %q: %w", name, ErrNotFound)
	}
	if count > 1 {
		return fmt.Errorf("rule %s is defined in %s beside %d other rules: edit that file", name, d.Rel(f), count-1)
	}
	if err := os.Remove(f); err != nil {
		return fmt.Errorf("delete rule %s: %w", name, d.unpathed(err))
	}
	return d.unpathed(atomicfile.SyncDir(filepath.Dir(f)))
}

// Watch looks at the directory whenever polls says (Every(0) when nil)
// and calls onChange after any rule file is added, removed, renamed or
// changed (size, modification time, or, for files modified in the last two
// seconds, content, since a rewrite of the same size within the file
// system's time granularity changes neither). It blocks until ctx ends and
// returns ctx.Err(). onChange runs on Watch's goroutine; a slow onChange
// delays the next look.
func (d *Dir) Watch(ctx context.Context, polls Polls, onChange func()) error {
	cache := map[string]fileSig{}
	last := d.signature(cache)
	return watch(ctx, polls, func() {
		if s := d.signature(cache); s != last {
			last = s
			onChange()
		}
	})
}

// watch calls look whenever polls says, until ctx ends, and returns
// ctx.Err().
func watch(ctx context.Context, polls Polls, look func()) error {
	if polls == nil {
		polls = Every(0)
	}
	for polls(ctx) {
		look()
	}
	return ctx.Err()
}

type fileSig struct {
	size  int64
	mtime time.Time
	sum   uint64
}

// signature hashes the names, sizes, modification times and contents of
// the rule files. A file's content is read again only when its size or
// modification time changed or it was modified in the last two seconds
// (cache keeps the others' sums).
func (d *Dir) signature(cache map[string]fileSig) uint64 {
	h := fnv.New64a()
	files, err := d.files()
	if err != nil {
		h.Write([]byte(err.Error()))
	}
	now := time.Now()
	live := make(map[string]bool, len(files))
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			continue
		}
		live[f] = true
		c, ok := cache[f]
		if !ok || c.size != st.Size() || !c.mtime.Equal(st.ModTime()) || now.Sub(st.ModTime()) < 2*time.Second {
			c = fileSig{size: st.Size(), mtime: st.ModTime()}
			if st.Size() <= MaxFileSize {
				if b, err := os.ReadFile(f); err == nil {
					fh := fnv.New64a()
					fh.Write(b)
					c.sum = fh.Sum64()
				}
			}
			cache[f] = c
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d\x00", f, c.size, c.mtime.UnixNano(), c.sum)
	}
	for f := range cache {
		if !live[f] {
			delete(cache, f)
		}
	}
	return h.Sum64()
}
