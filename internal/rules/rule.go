package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spoor-dev/spoor/internal/query"
)

// KindNative is Rule.Kind for the rules of this package.
const KindNative = "native"

// Defaults and limits of a rule.
const (
	DefaultWindow    = time.Hour
	DefaultThreshold = 1
	MaxWindow        = 30 * 24 * time.Hour
	MaxThreshold     = 1_000_000
	MaxNameLen       = 100
	MaxSuppressions  = 1000
	MaxAggregate     = 16
	// MaxFileSize bounds a rule file; larger files are reported, not read.
	MaxFileSize = 4 << 20
)

// Severities, as Threat Stack numbers them.
const (
	SeverityHigh   = 1
	SeverityMedium = 2
	SeverityLow    = 3
)

// Rule is one native detection rule as written in its YAML file.
type Rule struct {
	// Name is the rule's id: unique, file-safe (lowercase letters, digits,
	// '-' and '_', starting with a letter or digit); its file is <name>.yml.
	Name  string `yaml:"name"`
	Title string `yaml:"title,omitempty"`
	// Type is host, file, cloudtrail, winsec, sysmon or kubernetes and
	// restricts the event types the rule sees (TypeEventTypes).
	Type string `yaml:"type"`
	// Severity is 1 (high), 2 (medium) or 3 (low); YAML also takes the words.
	Severity    int    `yaml:"severity"`
	Description string `yaml:"description,omitempty"`
	// Technique is the MITRE ATT&CK technique the rule detects, by id
	// (T1003.001), shown by rules list and carried into its alerts.
	Technique string `yaml:"technique,omitempty"`
	// Filter is a query in the filter language.
	Filter string `yaml:"filter"`
	// Suppressions are filters; an event matching any of them is suppressed.
	Suppressions []string `yaml:"suppressions,omitempty"`
	// Aggregate lists the fields whose values split alerts: one alert per
	// rule and combination of their values within Window.
	Aggregate []string `yaml:"aggregate,omitempty"`
	// Window is the aggregation window (default 1h); YAML takes a Go
	// duration ("15m", "1h", "24h").
	Window time.Duration `yaml:"window"`
	// Threshold is how many matching events of a group within Window make
	// an alert (default 1).
	Threshold int  `yaml:"threshold"`
	Enabled   bool `yaml:"enabled"`
	// After, when set, makes the rule a sequence: a matching event counts
	// only after After.Threshold events matching After.Filter in its group
	// within Window before it (a logon that succeeds after failures).
	After *After `yaml:"after,omitempty"`
	// Kind is "native"; it tells these rules from Sigma rules.
	Kind string `yaml:"kind,omitempty"`
	// Source is the file the rule was read from ("" when built in code),
	// relative to its rules directory when read from one.
	Source string `yaml:"-"`
	// Origin says whose rule it is when read from a rules directory:
	// OriginBuiltin, OriginShared or OriginOrg.
	Origin string `yaml:"-"`
}

// TypeEventTypes maps a rule type to the event types it sees.
var TypeEventTypes = map[string][]string{
	"host":       {"audit", "login", "logout", "network", "host"},
	"file":       {"file"},
	"cloudtrail": {"cloudtrail"},
	"winsec":     {"winsec", "sysmon", "windows"},
	"sysmon":     {"sysmon"},
	"kubernetes": {"kubernetes"},
	// logon sees logon records of every source: auditd and Threat Stack
	// logins, Windows Security.
	"logon": {"login", "logout", "winsec"},
}

// types lists the rule types in the order error messages name them.
var types = []string{"host", "file", "cloudtrail", "winsec", "sysmon", "kubernetes", "logon"}

// ParseError is an error in a rule's text: where it is and what is wrong.
// Err is a *query.Error (with its source, so Caret works) when a filter or
// suppression does not compile.
type ParseError struct {
	Source string // file name, "" when not from a file
	Line   int    // 1-based line in the YAML text, 0 when unknown
	Field  string // the YAML key at fault, "" for the document
	Err    error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteByte(':')
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	var qe *query.Error
	if errors.As(e.Err, &qe) && qe.Src != "" {
		b.WriteString("bad filter\n")
		b.WriteString(qe.Caret())
	} else {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// ParseRule parses and validates one rule from YAML text; source names the
// file in errors and becomes Rule.Source. Errors are *ParseError. Unknown
// keys, missing or invalid values and filters that do not compile are
// errors; absent window, threshold and enabled take their defaults.
func ParseRule(yamlText []byte, source string) (*Rule, error) {
	rules, errs := ParseRules(yamlText, source)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	switch len(rules) {
	case 0:
		return nil, &ParseError{Source: source, Err: errors.New("no rule in the text")}
	case 1:
		return rules[0], nil
	}
	return nil, &ParseError{Source: source, Line: 1, Err: fmt.Errorf("%d rules in the text; ParseRule takes one (files may hold several, see ParseRules)", len(rules))}
}

// ParseRules parses every YAML document of a text as a rule. Empty
// documents are skipped; a bad document is reported (as a *ParseError)
// and the others are still parsed. A text that is not YAML yields one error.
func ParseRules(yamlText []byte, source string) ([]*Rule, []*ParseError) {
	if len(yamlText) > MaxFileSize {
		return nil, []*ParseError{{Source: source, Err: fmt.Errorf("%d bytes, more than the %d a rule file may hold", len(yamlText), MaxFileSize)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(yamlText))
	var rules []*Rule
	var errs []*ParseError
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, &ParseError{Source: source, Line: yamlErrLine(err), Err: fmt.Errorf("invalid YAML: %w", trimYAMLErr(err))})
			break // the decoder cannot resynchronise
		}
		if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
			continue
		}
		r, perr := fromNode(doc.Content[0], source)
		if perr != nil {
			errs = append(errs, perr)
			continue
		}
		rules = append(rules, r)
	}
	return rules, errs
}

// yamlErrLine digs the line out of yaml.v3's "yaml: line N: ..." errors.
func yamlErrLine(err error) int {
	s := err.Error()
	if i := strings.Index(s, "line "); i >= 0 {
		s = s[i+5:]
		if j := strings.IndexByte(s, ':'); j > 0 {
			if n, err := strconv.Atoi(s[:j]); err == nil {
				return n
			}
		}
	}
	return 0
}

func trimYAMLErr(err error) error {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	return errors.New(s)
}

var knownKeys = []string{"name", "title", "type", "severity", "description", "technique", "filter", "suppressions", "aggregate", "window", "threshold", "enabled", "kind", "after"}

// fromNode reads and validates a rule from a YAML mapping.
func fromNode(n *yaml.Node, source string) (*Rule, *ParseError) {
	fail := func(line int, field string, format string, args ...any) *ParseError {
		return &ParseError{Source: source, Line: line, Field: field, Err: fmt.Errorf(format, args...)}
	}
	if n.Kind != yaml.MappingNode {
		return nil, fail(n.Line, "", "a rule is a mapping of keys (name, type, filter, ...), found %s", nodeKind(n))
	}
	r := &Rule{Kind: KindNative, Source: source, Window: DefaultWindow, Threshold: DefaultThreshold, Enabled: true}
	seen := map[string]int{}
	nodes := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fail(k.Line, "", "keys are plain words, found %s", nodeKind(k))
		}
		key := k.Value
		if !slices.Contains(knownKeys, key) {
			return nil, fail(k.Line, "", "unknown key %q (known: %s)", key, strings.Join(knownKeys, ", "))
		}
		if prev, dup := seen[key]; dup {
			return nil, fail(k.Line, key, "given twice (first on line %d)", prev)
		}
		seen[key] = k.Line
		nodes[key] = v
		var err error
		switch key {
		case "name":
			r.Name, err = scalarString(v)
		case "title":
			r.Title, err = scalarString(v)
		case "type":
			r.Type, err = scalarString(v)
		case "description":
			r.Description, err = scalarString(v)
		case "technique":
			r.Technique, err = scalarString(v)
		case "filter":
			r.Filter, err = scalarString(v)
		case "kind":
			r.Kind, err = scalarString(v)
		case "after":
			r.After, err = afterOf(v)
		case "severity":
			r.Severity, err = severityOf(v)
		case "suppressions":
			r.Suppressions, err = stringList(v)
		case "aggregate":
			r.Aggregate, err = stringList(v)
		case "window":
			r.Window, err = durationOf(v)
		case "threshold":
			var s string
			if s, err = scalarString(v); err == nil {
				r.Threshold, err = strconv.Atoi(s)
				if err != nil {
					err = fmt.Errorf("want a whole number, found %q", s)
				}
			}
		case "enabled":
			var s string
			if s, err = scalarString(v); err == nil {
				switch strings.ToLower(s) {
				case "true", "yes", "on":
					r.Enabled = true
				case "false", "no", "off":
					r.Enabled = false
				default:
					err = fmt.Errorf("want true or false, found %q", s)
				}
			}
		}
		if err != nil {
			return nil, fail(v.Line, key, "%v", err)
		}
	}
	if err := validate(r); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			line := n.Line
			if v := nodes[fe.field]; v != nil {
				if v.Kind == yaml.SequenceNode && fe.index < len(v.Content) {
					v = v.Content[fe.index]
				}
				line = v.Line + fe.lineOff
				if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
					line++ // the text starts below the | or >
				}
			}
			return nil, &ParseError{Source: source, Line: line, Field: fe.label(), Err: fe.err}
		}
		return nil, &ParseError{Source: source, Line: n.Line, Err: err}
	}
	return r, nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", clip(n.Value))
	}
	return "nothing"
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func scalarString(v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("want a single value, found %s", nodeKind(v))
	}
	if v.Tag == "!!null" {
		return "", nil
	}
	return v.Value, nil
}

func stringList(v *yaml.Node) ([]string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return nil, nil
		}
		return []string{v.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(v.Content))
		for _, c := range v.Content {
			s, err := scalarString(c)
			if err != nil {
				return nil, fmt.Errorf("item on line %d: %w", c.Line, err)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list, found %s", nodeKind(v))
}

func severityOf(v *yaml.Node) (int, error) {
	s, err := scalarString(v)
	if err != nil {
		return 0, err
	}
	switch strings.ToLower(s) {
	case "1", "high":
		return SeverityHigh, nil
	case "2", "medium":
		return SeverityMedium, nil
	case "3", "low":
		return SeverityLow, nil
	}
	return 0, fmt.Errorf("want 1 (high), 2 (medium) or 3 (low), found %q", s)
}

func durationOf(v *yaml.Node) (time.Duration, error) {
	s, err := scalarString(v)
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as 15m, 1h or 24h, found %q", s)
	}
	return d, nil
}

// fieldError is a validation error of one field; index is the item of a
// list field, lineOff the line within a filter.
type fieldError struct {
	field   string
	index   int
	lineOff int
	err     error
}

func (e *fieldError) Error() string { return e.label() + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

func (e *fieldError) label() string {
	if e.field == "suppressions" || e.field == "aggregate" {
		return e.field + "[" + strconv.Itoa(e.index) + "]"
	}
	return e.field
}

// Validate checks a rule built in code the way ParseRule checks a file:
// name, type, severity, filter, suppressions, aggregate fields, window,
// threshold and kind. A zero Window or Threshold is an error here (the
// defaults apply only to absent YAML keys).
func Validate(r *Rule) error { return validate(r) }

func validate(r *Rule) error {
	ferr := func(field string, format string, args ...any) error {
		return &fieldError{field: field, err: fmt.Errorf(format, args...)}
	}
	if err := validName(r.Name); err != nil {
		return &fieldError{field: "name", err: err}
	}
	if _, ok := TypeEventTypes[r.Type]; !ok {
		if r.Type == "" {
			return ferr("type", "required: one of %s", strings.Join(types, ", "))
		}
		return ferr("type", "unknown type %q: want one of %s", r.Type, strings.Join(types, ", "))
	}
	if r.Severity < SeverityHigh || r.Severity > SeverityLow {
		if r.Severity == 0 {
			return ferr("severity", "required: 1 (high), 2 (medium) or 3 (low)")
		}
		return ferr("severity", "want 1 (high), 2 (medium) or 3 (low), found %d", r.Severity)
	}
	if r.Technique != "" && !techniqueRE.MatchString(r.Technique) {
		return ferr("technique", "want an ATT&CK technique id such as T1003 or T1003.001, found %q", r.Technique)
	}
	if strings.TrimSpace(r.Filter) == "" {
		return ferr("filter", "required: a query in the filter language")
	}
	if _, err := compileFilter(r.Filter); err != nil {
		return &fieldError{field: "filter", lineOff: queryLineOff(err), err: err}
	}
	if len(r.Suppressions) > MaxSuppressions {
		return ferr("suppressions", "%d suppressions, at most %d", len(r.Suppressions), MaxSuppressions)
	}
	for i, s := range r.Suppressions {
		if strings.TrimSpace(s) == "" {
			return &fieldError{field: "suppressions", index: i, err: errors.New("empty suppression")}
		}
		if _, err := compileFilter(s); err != nil {
			return &fieldError{field: "suppressions", index: i, lineOff: queryLineOff(err), err: err}
		}
	}
	if len(r.Aggregate) > MaxAggregate {
		return ferr("aggregate", "%d fields, at most %d", len(r.Aggregate), MaxAggregate)
	}
	for i, f := range r.Aggregate {
		if err := validFieldName(f); err != nil {
			return &fieldError{field: "aggregate", index: i, err: err}
		}
		if slices.Index(r.Aggregate, f) < i {
			return &fieldError{field: "aggregate", index: i, err: fmt.Errorf("field %q listed twice", f)}
		}
	}
	if r.Window <= 0 || r.Window > MaxWindow {
		return ferr("window", "want a duration above 0 and at most %s, found %s", fmtDuration(MaxWindow), r.Window)
	}
	if r.Window%time.Second != 0 {
		return ferr("window", "want whole seconds, found %s", r.Window)
	}
	if r.Threshold < 1 || r.Threshold > MaxThreshold {
		return ferr("threshold", "want 1 to %d events, found %d", MaxThreshold, r.Threshold)
	}
	if err := validateAfter(r.After); err != nil {
		return err
	}
	if r.Kind != "" && r.Kind != KindNative {
		return ferr("kind", "want %q (Sigma rules have their own format), found %q", KindNative, r.Kind)
	}
	return nil
}

// techniqueRE is an ATT&CK technique id, with its sub-technique or not.
var techniqueRE = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)

// queryLineOff is the 0-based line of a query error within its query.
func queryLineOff(err error) int {
	var qe *query.Error
	if errors.As(err, &qe) && qe.Pos.Line > 1 {
		return qe.Pos.Line - 1
	}
	return 0
}

func validName(s string) error {
	if s == "" {
		return errors.New("required: the rule's id, such as ec2-metadata-access")
	}
	if len(s) > MaxNameLen {
		return fmt.Errorf("%d characters, at most %d", len(s), MaxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || (i > 0 && (c == '-' || c == '_'))
		if !ok {
			return fmt.Errorf("%q is not a file-safe id: lowercase letters, digits, '-' and '_', starting with a letter or digit", s)
		}
	}
	return nil
}

// validFieldName accepts the filter language's bare field names.
func validFieldName(s string) error {
	if s == "" {
		return errors.New("empty field name")
	}
	for i, r := range s {
		letter := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '_' || r == '@'
		other := '0' <= r && r <= '9' || r == '.' || r == '-'
		if !letter && !(i > 0 && other) {
			return fmt.Errorf("%q is not a field name", s)
		}
	}
	return nil
}

// compileFilter parses and compiles a query with both compilers; errors
// carry the query text for Caret.
func compileFilter(src string) (*compiledQuery, error) {
	n, err := query.Parse(src)
	if err != nil {
		return nil, query.WithSource(err, src)
	}
	m, err := query.Compile(n)
	if err != nil {
		return nil, query.WithSource(err, src)
	}
	s, err := query.ToSQL(n)
	if err != nil {
		return nil, query.WithSource(err, src)
	}
	return &compiledQuery{src: src, node: n, m: m, sql: s}, nil
}

type compiledQuery struct {
	src  string
	node query.Node
	m    *query.Matcher
	sql  query.SQL
}

// fmtDuration writes a duration the short way: 1h, 90m, 45s, 1h30m.
func fmtDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	s := d.String()
	return s
}

// Marshal writes a rule as the YAML document ParseRule reads back.
func Marshal(r *Rule) ([]byte, error) {
	doc := ruleDoc{
		Name: r.Name, Title: r.Title, Type: r.Type, Severity: r.Severity, Description: r.Description,
		Technique: r.Technique, Filter: r.Filter, Suppressions: r.Suppressions, Aggregate: r.Aggregate,
		Window: fmtDuration(r.Window), Threshold: r.Threshold, Enabled: r.Enabled, After: r.After,
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encode rule %s: %w", r.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode rule %s: %w", r.Name, err)
	}
	return b.Bytes(), nil
}

// ruleDoc is the file form of a rule (window as text).
type ruleDoc struct {
	Name         string   `yaml:"name"`
	Title        string   `yaml:"title,omitempty"`
	Type         string   `yaml:"type"`
	Severity     int      `yaml:"severity"`
	Description  string   `yaml:"description,omitempty"`
	Technique    string   `yaml:"technique,omitempty"`
	Filter       string   `yaml:"filter"`
	Suppressions []string `yaml:"suppressions,omitempty"`
	Aggregate    []string `yaml:"aggregate,omitempty,flow"`
	Window       string   `yaml:"window"`
	Threshold    int      `yaml:"threshold"`
	Enabled      bool     `yaml:"enabled"`
	After        *After   `yaml:"after,omitempty"`
}
