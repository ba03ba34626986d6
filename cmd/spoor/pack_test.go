package main

import (
	"path/filepath"
	"testing"
)

// The default rules, the built-in pack among them, raise their alerts as
// real attack telemetry is ingested: LSASS dumps (comsvcs, Dumpert, Task
// Manager over RDP), Empire's mimikatz logonpasswords and Stratus Red
// Team's CloudTrail attacks. Each alert carries its rule's ATT&CK
// technique. The RDP dataset's Group Policy task refresh (a 4702 by
// SYSTEM) is Windows' own and raises nothing.
func TestDefaultPackOnRealData(t *testing.T) {
	for _, tc := range []struct {
		name  string
		paths []string
		want  map[string]string // rule → technique
		quiet []string          // rules that must stay silent on Windows' own doings there
	}{
		{"lsass", []string{"windows/psh_lsass_memory_dump_comsvcs.zip", "windows/cmd_lsass_memory_dumpert_syscalls.zip", "windows/rdp_interactive_taskmanager_lsass_dump.zip"},
			map[string]string{"lsass-access": "T1003.001", "win-log-cleared": "T1070.001"}, []string{"win-scheduled-task"}},
		{"mimikatz", []string{"windows/empire_mimikatz_logonpasswords.zip"},
			map[string]string{"lsass-access": "T1003.001"}, nil},
		{"cloudtrail", []string{"cloudtrail/stratus/CloudTrail"},
			map[string]string{"aws-cloudtrail-tampered": "T1562.008", "aws-iam-credentials-created": "T1098.001", "aws-snapshot-shared": "T1537"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			for _, p := range tc.paths {
				args = append(args, needDataset(t, p))
			}
			dir := filepath.Join(t.TempDir(), tc.name)
			ingestInto(t, dir, args...)
			got := map[string]string{}
			counts := map[string]any{}
			for _, r := range sqlRows(t, dir, "SELECT rule, technique, sum(count) AS n FROM alerts WHERE kind = 'native' GROUP BY ALL ORDER BY rule") {
				rule, _ := r["rule"].(string)
				got[rule], _ = r["technique"].(string)
				counts[rule] = r["n"]
			}
			t.Logf("native alerts on %s: %v", tc.name, counts)
			for _, rule := range tc.quiet {
				if _, ok := got[rule]; ok {
					t.Errorf("%s raised an alert on %s", rule, tc.name)
				}
			}
			for rule, tech := range tc.want {
				if g, ok := got[rule]; !ok {
					t.Errorf("%s raised no alert on %s", rule, tc.name)
				} else if g != tech {
					t.Errorf("%s's alerts carry technique %q, want %q", rule, g, tech)
				}
			}
		})
	}
}
