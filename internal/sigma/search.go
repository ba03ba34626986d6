package sigma

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// compiler

type compiler struct {
	rule     *Rule
	src      *Source
	searches map[string]node
	lits     []litMatcher // contains literals of the value being compiled
	field    *field       // the field being compiled
}

type litMatcher struct {
	kind litKind
	lit  string
	i    int // the matcher's position among the value's matchers
}

func (cp *compiler) search(name string) (node, error) {
	if n, ok := cp.searches[name]; ok {
		return n, nil
	}
	y, ok := cp.rule.Detection.Searches[name]
	if !ok {
		return nil, fmt.Errorf("condition names %q, which the detection does not define", name)
	}
	n, err := cp.searchNode(y)
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", name, err)
	}
	cp.searches[name] = n
	return n, nil
}

func (cp *compiler) searchNode(y *yaml.Node) (node, error) {
	switch y.Kind {
	case yaml.MappingNode:
		var and andNode
		for i := 0; i+1 < len(y.Content); i += 2 {
			n, err := cp.fieldSpec(y.Content[i].Value, y.Content[i+1])
			if err != nil {
				return nil, err
			}
			and = append(and, n)
		}
		if len(and) == 1 {
			return and[0], nil
		}
		// Cheap tests first: a map's fields are ANDed, in any order.
		slices.SortStableFunc(and, func(a, b node) int { return cost(a) - cost(b) })
		return and, nil
	case yaml.SequenceNode:
		var or orNode
		var kw []*yaml.Node
		for _, c := range y.Content {
			if c.Kind == yaml.ScalarNode {
				kw = append(kw, c)
				continue
			}
			n, err := cp.searchNode(c)
			if err != nil {
				return nil, err
			}
			or = append(or, n)
		}
		if len(kw) > 0 {
			n, err := cp.fieldValues("", keywordField, nil, kw)
			if err != nil {
				return nil, err
			}
			or = append(or, n)
		}
		if len(or) == 1 {
			return or[0], nil
		}
		return or, nil
	case yaml.ScalarNode:
		return cp.fieldValues("", keywordField, nil, []*yaml.Node{y})
	case yaml.AliasNode:
		return nil, errors.New("YAML aliases are not supported in detections")
	}
	return nil, fmt.Errorf("line %d: unexpected %s", y.Line, kindName(y.Kind))
}

// fieldSpec compiles "Field|mod|mod: values".
func (cp *compiler) fieldSpec(key string, y *yaml.Node) (node, error) {
	parts := strings.Split(key, "|")
	name, mods := parts[0], parts[1:]
	var f *field
	if name == "" {
		f = keywordField
	} else {
		ts, ok := cp.src.targets(name)
		if !ok {
			return nil, fmt.Errorf("field %s: no data for it in logsource %s (mapping %s)", name, cp.rule.Logsource, cp.src.Name)
		}
		var err error
		if f, err = internField(name, ts); err != nil {
			return nil, fmt.Errorf("field %s: %w", name, err)
		}
	}
	var vals []*yaml.Node
	switch y.Kind {
	case yaml.ScalarNode:
		vals = []*yaml.Node{y}
	case yaml.SequenceNode:
		for _, c := range y.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("field %s: line %d: a value list holds a %s", name, c.Line, kindName(c.Kind))
			}
		}
		vals = y.Content
	default:
		return nil, fmt.Errorf("field %s: line %d: value is a %s", name, y.Line, kindName(y.Kind))
	}
	n, err := cp.fieldValues(name, f, mods, vals)
	if err != nil {
		return nil, fmt.Errorf("field %s: %w", key, err)
	}
	return n, nil
}

func isNull(y *yaml.Node) bool { return y.Tag == "!!null" }
