package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/spoor-dev/spoor/internal/event"
)

// After is the first step of a sequence rule: how many events matching
// Filter, in the rule's group (its aggregate fields' values) and within its
// Window, must come before an event matching the rule's filter counts:
//
//	filter: event_type = 'login' AND success = true
//	after:
//	  filter: event_type = 'login' AND success = false
//	  threshold: 5
//	aggregate: [hostname, src_ip]
//	window: 1h
//
// Suppressions apply to the rule's own matches, not to these events.
type After struct {
	Filter    string `yaml:"filter"`
	Threshold int    `yaml:"threshold"`
}

// afterOf reads an after mapping; threshold defaults to 1.
func afterOf(v *yaml.Node) (*After, error) {
	if v.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("want a mapping with filter and threshold, found %s", nodeKind(v))
	}
	a := &After{Threshold: DefaultThreshold}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		s, err := scalarString(val)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.Value, err)
		}
		switch k.Value {
		case "filter":
			a.Filter = s
		case "threshold":
			if a.Threshold, err = strconv.Atoi(s); err != nil {
				return nil, fmt.Errorf("threshold: want a whole number, found %q", s)
			}
		default:
			return nil, fmt.Errorf("unknown key %q (known: filter, threshold)", k.Value)
		}
	}
	return a, nil
}

func validateAfter(a *After) error {
	if a == nil {
		return nil
	}
	if strings.TrimSpace(a.Filter) == "" {
		return &fieldError{field: "after", err: fmt.Errorf("filter: required: the events that must come first")}
	}
	if _, err := compileFilter(a.Filter); err != nil {
		return &fieldError{field: "after", lineOff: queryLineOff(err), err: err}
	}
	if a.Threshold < 1 || a.Threshold > MaxThreshold {
		return &fieldError{field: "after", err: fmt.Errorf("threshold: want 1 to %d events, found %d", MaxThreshold, a.Threshold)}
	}
	return nil
}

// compileAfter compiles the rule's After, if any, and widens the event
// types the rule sees by those its After can match.
func (c *Compiled) compileAfter() error {
	a := c.Rule.After
	if a == nil {
		return nil
	}
	q, err := compileFilter(a.Filter)
	if err != nil {
		return fmt.Errorf("rule %s: after: %w", c.Rule.Name, err)
	}
	c.after = q
	for _, t := range narrowTypes(TypeEventTypes[c.Rule.Type], q.node) {
		if !slices.Contains(c.types, t) {
			c.types = append(c.types, t)
		}
	}
	slices.Sort(c.types)
	return nil
}

// MatchAfter reports whether e is one of the events the rule's After
// counts (false for a rule without After).
func (c *Compiled) MatchAfter(e *event.Event) bool {
	if c.after == nil || !e.Has(event.EventType) || !slices.Contains(c.types, e.Str[event.EventType]) {
		return false
	}
	return c.after.m.Match(e)
}
