package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Rule is one parsed Sigma rule: a detection rule, or a correlation rule
// (Correlation non-nil, Detection empty).
type Rule struct {
	ID          string
	Name        string // the rule's name: correlation rules may refer to base rules by it
	Title       string
	Description string
	Level       string
	Status      string
	Logsource   Logsource
	Tags        []string
	Detection   Detection
	Correlation *Correlation
}

// Technique returns the first ATT&CK technique among the rule's tags
// (attack.t1003.001 → T1003.001), "" when it names none.
func (r *Rule) Technique() string {
	for _, t := range r.Tags {
		t = strings.ToLower(t)
		id, ok := strings.CutPrefix(t, "attack.t")
		if !ok || len(id) < 4 || !isDigits(id[:4]) {
			continue
		}
		if len(id) == 4 || len(id) == 8 && id[4] == '.' && isDigits(id[5:]) {
			return "T" + id
		}
	}
	return ""
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Logsource is a rule's logsource: which events it is written for.
type Logsource struct {
	Product, Category, Service string
}

func (l Logsource) String() string {
	var parts []string
	if l.Product != "" {
		parts = append(parts, "product "+l.Product)
	}
	if l.Category != "" {
		parts = append(parts, "category "+l.Category)
	}
	if l.Service != "" {
		parts = append(parts, "service "+l.Service)
	}
	if len(parts) == 0 {
		return "no logsource"
	}
	return strings.Join(parts, ", ")
}

// Detection is a rule's detection section: its search identifiers, as YAML
// nodes so that values keep their literal text (0x1410 stays a string),
// and its condition(s).
type Detection struct {
	Searches  map[string]*yaml.Node
	Condition []string // several conditions are ORed
}

// Correlation is the correlation section of a correlation rule (Sigma spec
// v2): event_count, value_count, temporal or temporal_ordered.
type Correlation struct {
	Type     string
	Rules    []string // base rules, by ID or name
	GroupBy  []string
	Timespan time.Duration
	// Field is the field whose distinct values value_count counts.
	Field     string
	Condition CorrCondition
	// Aliases maps a group-by alias to the field it stands for, per base
	// rule (by ID or name).
	Aliases map[string]map[string]string
}

// CorrCondition is a correlation's threshold: Op is gt, gte, lt, lte or eq.
// HasOp is false for a temporal correlation without a condition (all rules
// must be seen).
type CorrCondition struct {
	Op    string
	Value int64
	HasOp bool
}

// Holds reports whether n satisfies the condition.
func (c CorrCondition) Holds(n int64) bool {
	switch c.Op {
	case "gt":
		return n > c.Value
	case "gte":
		return n >= c.Value
	case "lt":
		return n < c.Value
	case "lte":
		return n <= c.Value
	case "eq":
		return n == c.Value
	}
	return false
}

// Parse reads Sigma rules from YAML text: one rule per YAML document (a
// correlation rule and its base rules may share a file).
func Parse(yamlText []byte) ([]*Rule, error) {
	dec := yaml.NewDecoder(bytes.NewReader(yamlText))
	var rules []*Rule
	for i := 0; ; i++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("sigma: yaml document %d: %w", i+1, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		r, err := parseRule(doc.Content[0])
		if err != nil {
			if len(rules) > 0 || i > 0 {
				return nil, fmt.Errorf("sigma: yaml document %d: %w", i+1, err)
			}
			return nil, fmt.Errorf("sigma: %w", err)
		}
		rules = append(rules, r)
	}
	if len(rules) == 0 {
		return nil, errors.New("sigma: no rule in the text")
	}
	return rules, nil
}

// mapGet returns the value of key in a YAML mapping node.
func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func stringList(n *yaml.Node) ([]string, error) {
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a list of strings holds a %s", c.Line, kindName(c.Kind))
			}
			out = append(out, c.Value)
		}
		return out, nil
	}
	return nil, fmt.Errorf("line %d: want a string or a list of strings, got a %s", n.Line, kindName(n.Kind))
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "map"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

func parseRule(n *yaml.Node) (*Rule, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("a rule is a map, got a %s", kindName(n.Kind))
	}
	r := &Rule{
		ID:          scalar(mapGet(n, "id")),
		Name:        scalar(mapGet(n, "name")),
		Title:       scalar(mapGet(n, "title")),
		Description: scalar(mapGet(n, "description")),
		Level:       scalar(mapGet(n, "level")),
		Status:      scalar(mapGet(n, "status")),
	}
	if ls := mapGet(n, "logsource"); ls != nil {
		if ls.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: logsource is not a map", ls.Line)
		}
		r.Logsource = Logsource{
			Product:  strings.ToLower(scalar(mapGet(ls, "product"))),
			Category: strings.ToLower(scalar(mapGet(ls, "category"))),
			Service:  strings.ToLower(scalar(mapGet(ls, "service"))),
		}
	}
	tags, err := stringList(mapGet(n, "tags"))
	if err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	r.Tags = tags
	det, corr := mapGet(n, "detection"), mapGet(n, "correlation")
	switch {
	case corr != nil:
		c, err := parseCorrelation(corr)
		if err != nil {
			return nil, fmt.Errorf("correlation: %w", err)
		}
		r.Correlation = c
	case det != nil:
		if err := parseDetection(det, &r.Detection); err != nil {
			return nil, fmt.Errorf("detection: %w", err)
		}
	default:
		return nil, errors.New("rule has neither detection nor correlation")
	}
	return r, nil
}

func parseDetection(n *yaml.Node, d *Detection) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: detection is not a map", n.Line)
	}
	d.Searches = map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		switch k {
		case "condition":
			c, err := stringList(v)
			if err != nil {
				return fmt.Errorf("condition: %w", err)
			}
			d.Condition = c
		case "timeframe":
			// Sigma v1 aggregation window: only meaningful with a
			// count() condition, which Compile refuses.
		default:
			d.Searches[k] = v
		}
	}
	if len(d.Condition) == 0 {
		return errors.New("no condition")
	}
	return nil
}

// ParseTimespan reads a Sigma timespan: a number and a unit of s, m, h, d,
// w, M (30 days) or y (365 days).
func ParseTimespan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, fmt.Errorf("timespan %q: want a number and a unit (30s, 5m, 1h, 1d)", s)
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 32)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("timespan %q: want a positive number before the unit", s)
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 's':
		unit = time.Second
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	case 'w':
		unit = 7 * 24 * time.Hour
	case 'M':
		unit = 30 * 24 * time.Hour
	case 'y':
		unit = 365 * 24 * time.Hour
	default:
		return 0, fmt.Errorf("timespan %q: unknown unit %q", s, s[len(s)-1:])
	}
	return time.Duration(n) * unit, nil
}

func parseCorrelation(n *yaml.Node) (*Correlation, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: not a map", n.Line)
	}
	c := &Correlation{Type: scalar(mapGet(n, "type"))}
	switch c.Type {
	case "event_count", "value_count", "temporal", "temporal_ordered":
	case "":
		return nil, errors.New("no type")
	default:
		return nil, fmt.Errorf("unsupported type %q (want event_count, value_count, temporal or temporal_ordered)", c.Type)
	}
	var err error
	if c.Rules, err = stringList(mapGet(n, "rules")); err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	if len(c.Rules) == 0 {
		return nil, errors.New("no rules")
	}
	if c.GroupBy, err = stringList(mapGet(n, "group-by")); err != nil {
		return nil, fmt.Errorf("group-by: %w", err)
	}
	ts := mapGet(n, "timespan")
	if ts == nil {
		ts = mapGet(n, "timeframe")
	}
	if ts == nil {
		return nil, errors.New("no timespan")
	}
	if c.Timespan, err = ParseTimespan(scalar(ts)); err != nil {
		return nil, err
	}
	if al := mapGet(n, "aliases"); al != nil && al.Kind == yaml.MappingNode {
		c.Aliases = map[string]map[string]string{}
		for i := 0; i+1 < len(al.Content); i += 2 {
			m := map[string]string{}
			per := al.Content[i+1]
			if per.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("aliases: %s is not a map", al.Content[i].Value)
			}
			for j := 0; j+1 < len(per.Content); j += 2 {
				m[per.Content[j].Value] = scalar(per.Content[j+1])
			}
			c.Aliases[al.Content[i].Value] = m
		}
	}
	cond := mapGet(n, "condition")
	if cond != nil && cond.Tag != "!!null" {
		if cond.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: condition is not a map", cond.Line)
		}
		for i := 0; i+1 < len(cond.Content); i += 2 {
			k, v := cond.Content[i].Value, scalar(cond.Content[i+1])
			switch k {
			case "gt", "gte", "lt", "lte", "eq":
				if c.Condition.HasOp {
					return nil, errors.New("condition: more than one comparison")
				}
				x, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("condition %s: %q is not an integer", k, v)
				}
				c.Condition = CorrCondition{Op: k, Value: x, HasOp: true}
			case "field":
				c.Field = v
			default:
				return nil, fmt.Errorf("condition: unknown key %q", k)
			}
		}
	}
	switch c.Type {
	case "event_count", "value_count":
		if !c.Condition.HasOp {
			return nil, fmt.Errorf("%s needs a condition (gt, gte, lt, lte or eq)", c.Type)
		}
		if c.Type == "value_count" && c.Field == "" {
			return nil, errors.New("value_count needs condition.field")
		}
	}
	return c, nil
}
