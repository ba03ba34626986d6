// Package sigma evaluates Sigma rules (SigmaHQ rules as they are, spec v2)
// on spoor events as they stream in.
//
// Parse reads rule YAML; Compile turns a rule into a Compiled through a
// Mapping, which says which spoor events a Sigma logsource covers and
// where each Sigma field is read; a Set indexes many Compiled rules by
// event_type and win_event_id so that an event meets only the rules that
// can match it; a Doc wraps one event, parsing its raw JSON lazily once for
// every rule; a Correlator runs a correlation rule (event_count,
// value_count, temporal, temporal_ordered) over the base rules' matches.
//
// Matching follows the spec: case-insensitive unless |cased (or |re, which
// is case-sensitive unless |re|i), * and ? wildcards with \ escapes, lists
// ORed (ANDed with |all), maps ANDed, null for an absent or empty field, keywords
// searched in every value of the raw event. Modifiers: contains,
// startswith, endswith, all, exists, cased, neq, windash, re (i, m, s),
// base64, base64offset, utf16le/utf16be/utf16/wide, lt, lte, gt, gte,
// cidr, fieldref. Regular expressions are RE2 (linear time); those RE2
// cannot express, or whose program is too large, fail to compile.
// Not supported: the expand modifier, Sigma v1 aggregations (| count()).
//
// # Mapping YAML
//
// LoadMapping reads:
//
//	replace: false            # true: start from nothing, not DefaultMapping
//	logsources:
//	  - name: sysmon-process_creation   # same name as a default: replaces it
//	    product: windows                # the Sigma logsource it serves
//	    category: process_creation
//	    service: ""
//	    event_type: [sysmon]            # the event's conditions
//	    win_event_id: [1]
//	    channel: [Microsoft-Windows-Sysmon/Operational]
//	    require: {syscall: [execve]}    # a column or raw:<path>: accepted values
//	    default: raw                    # unnamed fields: raw (same name), audit, or none
//	    fields:
//	      Image: exe                    # a spoor column
//	      CommandLine: [arguments, raw:CommandLine]  # several: ORed
//	      User: raw:userIdentity.userName            # raw JSON path
//	      a0: audit:a0                  # an auditd record key=value
//	      Initiated: fn:initiated       # true for outbound connections
//	  - name: some-default
//	    disabled: true                  # removes a default source
package sigma
