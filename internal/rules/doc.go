// Package rules is spoor's native detection rules: Threat Stack's rule shape
// (a type, a severity, a filter in the filter language, suppressions,
// aggregation fields, a window and a threshold), parsed and validated from
// YAML, compiled to a streaming matcher and to DuckDB SQL for backtests,
// kept as files in a rules directory that the API and the files share, and
// linted against the suppression mistakes Threat Stack's guide warns about.
//
// A rule file holds one or more rules as YAML documents:
//
//	name: tmp-binary-exec
//	title: New binary executed from /tmp or /dev/shm
//	type: host
//	severity: 1
//	filter: event_type = 'audit' AND syscall = 'execve' AND exe starts_with '/tmp/'
//	suppressions:
//	  - user = 'deploy' AND exe = '/tmp/build/run' AND arguments = './run --ci' AND cwd = '/tmp/build'
//	aggregate: [agent_id, exe]
//	window: 1h
//	threshold: 1
//
// Type restricts the event types a rule sees (TypeEventTypes); the filter
// narrows further. An event that matches and matches no suppression counts
// toward an alert for its group (GroupKey: the aggregate fields' values);
// Threshold events of a group within Window make one alert.
//
// Sigma rules may live in the same directory: files that look like Sigma
// (IsSigma: top-level detection and logsource keys) are left to the Sigma
// loader and listed apart.
package rules
