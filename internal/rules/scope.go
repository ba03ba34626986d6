package rules

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Origins of a rule: who wrote it, and so who may change it.
const (
	// OriginBuiltin is a default rule (Defaults) in the shared directory,
	// in the file spoor wrote it to.
	OriginBuiltin = "builtin"
	// OriginShared is any other rule of the shared directory: the
	// operator's, serving every organization, read-only to them.
	OriginShared = "shared"
	// OriginOrg is an organization's own rule: it sees that organization's
	// events only, and only that organization's admins change it.
	OriginOrg = "org"
)

// OrgsDir is the subdirectory of the shared rules directory holding one
// directory of rules per organization: DATA/rules/org/<org>/.
const OrgsDir = "org"

// ErrBadOrg is returned (wrapped) for an organization name that cannot
// name a directory.
var ErrBadOrg = errors.New("organization name cannot name a rules directory")

// scopes are the shared Dir's organization Dirs, made on first use.
type scopes struct {
	mu   sync.Mutex
	dirs map[string]*Dir
}

// ValidOrg checks that an organization name can be a directory name under
// OrgsDir without reaching elsewhere: no separators, no NUL or control
// characters, not "." or ".." or hidden, valid UTF-8, at most 200 bytes.
func ValidOrg(org string) error {
	bad := org == "" || len(org) > 200 || !utf8.ValidString(org) || strings.HasPrefix(org, ".") ||
		strings.ContainsAny(org, `/\`) || strings.ContainsFunc(org, unicode.IsControl)
	if bad {
		return fmt.Errorf("%w: %q", ErrBadOrg, org)
	}
	return nil
}

// Org returns the directory of org's own rules (DATA/rules/org/<org>/),
// created by its first Put. d must be the shared directory.
func (d *Dir) Org(org string) (*Dir, error) {
	if d.org != "" {
		return nil, fmt.Errorf("rules of %s have no organizations below them", d.org)
	}
	if err := ValidOrg(org); err != nil {
		return nil, err
	}
	d.scope.mu.Lock()
	defer d.scope.mu.Unlock()
	od, ok := d.scope.dirs[org]
	if !ok {
		od = &Dir{path: filepath.Join(d.path, OrgsDir, org), org: org}
		d.scope.dirs[org] = od
	}
	return od, nil
}

// Orgs lists the organizations that have a rules directory, sorted.
// Entries whose names are not valid organization names are ignored.
func (d *Dir) Orgs() []string {
	entries, _ := os.ReadDir(filepath.Join(d.path, OrgsDir))
	var out []string
	for _, e := range entries {
		if e.IsDir() && ValidOrg(e.Name()) == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// OrgName is the organization whose rules d holds, "" for shared rules.
func (d *Dir) OrgName() string { return d.org }

// originOf is the origin of the rules of a file of d (path relative to d).
func (d *Dir) originOf(rel string) string {
	switch {
	case d.org != "":
		return OriginOrg
	case slices.Contains(defaultFiles(), rel):
		return OriginBuiltin
	}
	return OriginShared
}

// Change says which scopes of a rules directory changed: the shared rules
// and the organizations whose own rules were added, changed or removed.
type Change struct {
	Shared bool
	Orgs   []string
}

// WatchScopes is Watch over the shared directory and every organization's
// (d must be the shared directory): it calls onChange with the scopes that
// changed since the last poll.
func (d *Dir) WatchScopes(ctx context.Context, polls Polls, onChange func(Change)) error {
	caches := map[string]map[string]fileSig{}
	sigs := func() map[string]uint64 {
		out := map[string]uint64{"": d.signature(caches[""])}
		for _, org := range d.Orgs() {
			od, err := d.Org(org)
			if err != nil {
				continue
			}
			if caches[org] == nil {
				caches[org] = map[string]fileSig{}
			}
			out[org] = od.signature(caches[org])
		}
		for org := range caches {
			if _, ok := out[org]; !ok && org != "" {
				delete(caches, org)
			}
		}
		return out
	}
	caches[""] = map[string]fileSig{}
	last := sigs()
	return watch(ctx, polls, func() {
		now := sigs()
		var c Change
		c.Shared = now[""] != last[""]
		for org, sig := range now {
			if old, ok := last[org]; org != "" && (!ok || old != sig) {
				c.Orgs = append(c.Orgs, org)
			}
		}
		for org := range last {
			if _, ok := now[org]; !ok {
				c.Orgs = append(c.Orgs, org)
			}
		}
		last = now
		if c.Shared || len(c.Orgs) > 0 {
			slices.Sort(c.Orgs)
			onChange(c)
		}
	})
}
