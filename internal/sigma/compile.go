package sigma

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spoor-dev/spoor/internal/event"
)

// Compiled is a rule ready to be evaluated: one variant per mapping source
// that serves its logsource.
type Compiled struct {
	Rule     *Rule
	variants []*variant
}

type variant struct {
	c          *Compiled
	src        *Source
	eventTypes []string
	ids        []int64
	channels   []string
	require    []require
	root       node
}

// require is a condition of the logsource on one field: a typed column or
// a raw path (Sysmon 12's EventType tells registry_add from
// registry_delete).
type require struct {
	f    *field
	vals []string
}

// accepts checks the logsource condition: event type, event id, channel
// and required columns.
func (v *variant) accepts(d *Doc) bool {
	e := d.e
	if len(v.eventTypes) > 0 && !slices.Contains(v.eventTypes, e.Str[event.EventType]) {
		return false
	}
	if len(v.ids) > 0 && (!e.Has(event.WinEventID) || !slices.Contains(v.ids, e.Int[event.WinEventID])) {
		return false
	}
	return v.acceptsRest(d)
}

func (v *variant) acceptsRest(d *Doc) bool {
	e := d.e
	if len(v.channels) > 0 {
		ok := false
		for _, c := range v.channels {
			if strings.EqualFold(c, e.Str[event.Channel]) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, r := range v.require {
		if !r.accepts(d) {
			return false
		}
	}
	return true
}

func (r *require) accepts(d *Doc) bool {
	for _, got := range d.values(r.f) {
		for _, s := range r.vals {
			if strings.EqualFold(s, got) {
				return true
			}
		}
	}
	return false
}

// Match reports whether the rule matches the event in d.
func (c *Compiled) Match(d *Doc) bool {
	for _, v := range c.variants {
		if v.accepts(d) && v.root.eval(d) {
			return true
		}
	}
	return false
}

// ErrUnsupportedLogsource is wrapped by Compile's error when the mapping
// has no source for the rule's logsource.
var ErrUnsupportedLogsource = errors.New("unsupported logsource")

// Compile compiles a detection rule against a mapping. The error says why a
// rule cannot be compiled: an unsupported logsource, an unknown modifier, a
// field the logsource has no data for, a regular expression RE2 refuses...
func Compile(r *Rule, m *Mapping) (*Compiled, error) {
	if r.Correlation != nil {
		return nil, errors.New("sigma: a correlation rule is run by a Correlator, not compiled")
	}
	srcs := m.sourcesFor(r.Logsource)
	if len(srcs) == 0 {
		return nil, fmt.Errorf("sigma: %w: %s", ErrUnsupportedLogsource, r.Logsource)
	}
	c := &Compiled{Rule: r}
	var firstErr error
	for _, s := range srcs {
		v, err := compileVariant(r, s)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		v.c = c
		c.variants = append(c.variants, v)
	}
	if len(c.variants) == 0 {
		return nil, fmt.Errorf("sigma: %w", firstErr)
	}
	return c, nil
}

func compileVariant(r *Rule, s *Source) (*variant, error) {
	cp := &compiler{rule: r, src: s, searches: map[string]node{}}
	if len(r.Detection.Condition) == 0 {
		return nil, errors.New("no condition")
	}
	var roots []node
	for _, cond := range r.Detection.Condition {
		n, err := cp.condition(cond)
		if err != nil {
			return nil, err
		}
		roots = append(roots, n)
	}
	root := roots[0]
	if len(roots) > 1 {
		root = orNode(roots)
	}
	v := &variant{src: s, eventTypes: s.EventTypes, channels: s.Channels, root: root, ids: s.EventIDs}
	if ids := requiredIDs(root); ids != nil && slices.Contains(s.Fields["EventID"], "win_event_id") {
		if len(v.ids) == 0 {
			v.ids = ids
		} else {
			var both []int64
			for _, id := range ids {
				if slices.Contains(v.ids, id) {
					both = append(both, id)
				}
			}
			if len(both) > 0 {
				v.ids = both
			}
		}
	}
	for _, key := range sortedKeys(s.Require) {
		f, err := internField(key, []string{key})
		if err != nil {
			return nil, fmt.Errorf("mapping %s: require %s: %w", s.Name, key, err)
		}
		v.require = append(v.require, require{f: f, vals: s.Require[key]})
	}
	return v, nil
}
