package rules

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func lintOf(sup ...string) []Warning {
	return Lint(&Rule{Name: "r", Type: "host", Severity: 2, Filter: "command = 'ps'", Suppressions: sup, Window: time.Hour, Threshold: 1})
}

// The suppressions of Threat Stack's guide (seeds/002).
func TestLintSeedSuppressions(t *testing.T) {
	good := `user = 'root' AND tty = null AND cwd = '/usr/bin' AND session = '4294967295' AND auid = '4294967295' AND arguments = 'ps -e -o pid,ppid,state,command' AND exe = '/usr/sbin/chronyd'`
	if ws := lintOf(good); len(ws) != 0 {
		t.Errorf("the guide's good suppression warned: %v", ws)
	}
	bad := `pid = '3081' AND user = 'root' AND agent_id = "abcdef-1234-4va1-ad42-555bd87fa32a" AND command = 'ps' AND event_time = '1654270691800'`
	ws := lintOf(bad)
	text := ""
	for _, w := range ws {
		if w.Suppression != 0 || w.Rule != "r" {
			t.Errorf("warning %+v not on suppression 0 of r", w)
		}
		text += w.Message + "\n"
	}
	for _, want := range []string{"keyed on pid", "keyed on agent_id", "keyed on event_time", "too broad"} {
		if !strings.Contains(text, want) {
			t.Errorf("bad suppression: warnings\n%s lack %q", text, want)
		}
	}
	broad := `user = 'root' AND command = 'ps'`
	if ws := lintOf(broad); len(ws) != 1 || !strings.Contains(ws[0].Message, "too broad") {
		t.Errorf("broad suppression: %v", ws)
	}
}

func TestLintCases(t *testing.T) {
	for _, tc := range []struct {
		sup  string
		want string // "" for no warning
	}{
		{"exe = '/usr/bin/ps'", "too broad"},
		{"event_type = 'audit'", "too broad"},
		{"exe = '/usr/bin/ps' AND arguments starts_with 'ps -e'", ""},
		{"exe = '/usr/bin/ps' AND (arguments = 'ps' OR user = 'root')", "too broad"},
		{"(exe = '/a' AND cwd = '/') OR (exe = '/b' AND args = '-x')", ""},
		{"exe = '/a' AND NOT arguments = 'x'", "too broad"},
		{"exe = '/a' AND arguments != 'x'", "too broad"},
		{"_id = 'abc' AND arguments = 'x'", "keyed on _id"},
		{"id = 'abc' AND arguments = 'x'", "keyed on id"},
		{"timestamp > 5 AND arguments = 'x'", "keyed on timestamp"},
		{"ppid = 1 AND arguments = 'x'", "keyed on ppid"},
		{"session = 1234 AND arguments = 'x'", "keyed on session"},
		{"hostname = 'ip-1' AND arguments = 'x'", "keyed on hostname"},
		{"SourceImage ends_with 'MsMpEng.exe' AND GrantedAccess = '0x1000'", ""},
		{"ProcessGuid = '{x}'", "keyed on ProcessGuid"},
	} {
		ws := lintOf(tc.sup)
		if tc.want == "" {
			if len(ws) != 0 {
				t.Errorf("%s: warned %v", tc.sup, ws)
			}
			continue
		}
		found := false
		for _, w := range ws {
			found = found || strings.Contains(w.Message, tc.want)
		}
		if !found {
			t.Errorf("%s: warnings %v lack %q", tc.sup, ws, tc.want)
		}
	}
	ws := Lint(&Rule{Name: "r", Type: "host", Severity: 2, Filter: "command = 'ps'", Aggregate: []string{"pid"}, Window: time.Hour, Threshold: 1})
	if len(ws) != 1 || ws[0].Suppression != -1 {
		t.Errorf("aggregate on pid: %v", ws)
	}
}

func TestLintBroad(t *testing.T) {
	if w := LintBroad(100, 50, 0.5); w != nil {
		t.Errorf("half suppressed at share 0.5 warned: %v", w)
	}
	if w := LintBroad(100, 51, 0); w == nil || !strings.Contains(w.Message, "51 of 100") {
		t.Errorf("51 of 100 with the default share: %v", w)
	}
	if w := LintBroad(100, 11, 0.1); w == nil {
		t.Errorf("11 of 100 at share 0.1 did not warn")
	}
	if w := LintBroad(0, 0, 0.5); w != nil {
		t.Errorf("no alerts warned: %v", w)
	}
}

// Every default rule compiles, lints clean, and fires on a realistic event
// of the shape spoor stores, and not on its benign twin.
func TestDefaultsFire(t *testing.T) {
	const meta = `"agent_id":"436dd34c-f795-11ea-a752-21e3e3eb7c50","host_metadata":{"hostname":"ip-172-31-30-113"}`
	exec := func(exe, cmd, args string, more string) string {
		return `{"_id":"e1","event_time":1600362908389,"event_type":"audit","syscall":"execve","type":"start","exe":"` + exe +
			`","command":"` + cmd + `","args":` + args + `,"arguments":` + joinArgs(args) + `,"user":"root","uid":0,"auid":1000,"pid":4242,"ppid":4200,"session":3,"tty":"pts/0","success":true,"exit":"0","cwd":"/root",` + meta + more + `}`
	}
	fires := map[string][2]string{
		"ec2-metadata-access": {
			exec("/usr/bin/curl", "curl", `["curl","http://169.254.169.254/latest/meta-data/iam/security-credentials/"]`, ""),
			exec("/usr/bin/curl", "curl", `["curl","https://example.com/"]`, ""),
		},
		"tmp-binary-exec": {
			exec("/tmp/EXCITED_WHILE", "EXCITED_WHILE", `["./EXCITED_WHILE"]`, ""),
			exec("/usr/bin/scp", "scp", `["scp","-t","/tmp/"]`, ""),
		},
		"crontab-persistence": {
			exec("/usr/bin/crontab", "crontab", `["crontab","-"]`, ""),
			exec("/usr/bin/crontab", "crontab", `["crontab","-l"]`, ""),
		},
		"sudo-exec": {
			exec("/usr/bin/sudo", "sudo", `["sudo","su","-"]`, ""),
			exec("/usr/bin/su", "su", `["su","-"]`, ""),
		},
		"cron-file-write": {
			`{"_id":"f1","event_time":1600362908389,"event_type":"file","action":"create","exe":"/usr/bin/crontab","filename":"ubuntu","path":["/var/spool/cron/crontabs/ubuntu"],"pid":1,"uid":0,"user":"root",` + meta + `}`,
			`{"_id":"f2","event_time":1600362908389,"event_type":"file","action":"open","exe":"/usr/sbin/cron","filename":"ubuntu","path":["/var/spool/cron/crontabs/ubuntu"],"pid":1,"uid":0,"user":"root",` + meta + `}`,
		},
		"ssh-external-login": {
			`{"_id":"l1","event_time":1600362902289,"event_type":"login","exe":"/usr/sbin/sshd","src_ip":"203.0.113.7","src_port":50022,"success":true,"tty":"pts/0","user":"ubuntu","uid":1000,"auid":1000,"session":3,` + meta + `}`,
			`{"_id":"l2","event_time":1600362974889,"event_type":"login","exe":"/usr/sbin/sshd","src_ip":"172.31.30.113","src_port":50022,"success":true,"tty":"pts/0","user":"ubuntu","uid":1000,"auid":1000,"session":4,` + meta + `}`,
		},
		// sshd's failed USER_AUTH as the auditd parser stores it; a success is not a failure
		"brute-force-source": {
			`{"_id":"b1","event_time":1600362908389,"event_type":"login","type":"user_auth","success":false,"exe":"/usr/sbin/sshd","src_ip":"198.51.100.7","user":"root","pid":5001,` + meta + `}`,
			`{"_id":"b2","event_time":1600362908389,"event_type":"login","type":"user_auth","success":true,"exe":"/usr/sbin/sshd","src_ip":"198.51.100.7","user":"root","pid":5001,` + meta + `}`,
		},
		// a 4624 matches (whether failures came first is the detector's
		// sequence, tested in internal/detect); a 4625 does not
		"brute-force-success": {
			`{"_id":"w1","event_time":1600362908389,"event_type":"winsec","win_event_id":4624,"success":true,"src_ip":"198.51.100.8","user":"Administrator","hostname":"DC01"}`,
			`{"_id":"w2","event_time":1600362908389,"event_type":"winsec","win_event_id":4625,"success":false,"src_ip":"198.51.100.8","user":"Administrator","hostname":"DC01"}`,
		},
		"lsass-access": {
			`{"_id":"s1","event_time":1600362908389,"event_type":"sysmon","win_event_id":10,"channel":"Microsoft-Windows-Sysmon/Operational","exe":"C:\\Users\\bob\\mimikatz.exe","SourceImage":"C:\\Users\\bob\\mimikatz.exe","TargetImage":"C:\\Windows\\system32\\lsass.exe","GrantedAccess":"0x1410","hostname":"WS01"}`,
			`{"_id":"s2","event_time":1600362908389,"event_type":"sysmon","win_event_id":10,"channel":"Microsoft-Windows-Sysmon/Operational","exe":"C:\\Windows\\system32\\wininit.exe","SourceImage":"C:\\Windows\\system32\\wininit.exe","TargetImage":"C:\\Windows\\system32\\lsass.exe","GrantedAccess":"0x1000","hostname":"WS01"}`,
		},
	}
	// The Kubernetes rules have their test events in k8s_defaults_test.go,
	// the built-in pack in testdata/pack (TestPackFires).
	defs := slices.DeleteFunc(Defaults(), func(r *Rule) bool { return r.Type == "kubernetes" })
	pack := packCases(t)
	if len(defs) != len(fires)+len(pack) {
		t.Errorf("%d defaults, %d tested", len(defs), len(fires)+len(pack))
	}
	for _, r := range defs {
		if _, ok := pack[r.Name]; ok {
			continue
		}
		c := mustCompile(t, r)
		if ws := Lint(r); len(ws) > 0 {
			t.Errorf("%s lints: %v", r.Name, ws)
		}
		pair, ok := fires[r.Name]
		if !ok {
			t.Errorf("default %s has no test event", r.Name)
			continue
		}
		if m, s := c.Match(ev(t, pair[0])); !m || s {
			t.Errorf("%s does not fire on its attack event (matched %v, suppressed %v)", r.Name, m, s)
		}
		if m, _ := c.Match(ev(t, pair[1])); m {
			t.Errorf("%s fires on the benign event", r.Name)
		}
		for other, p := range fires {
			if other != r.Name && strings.HasPrefix(p[0], `{"_id":"s`) && r.Type == "host" {
				if m, _ := c.Match(ev(t, p[0])); m {
					t.Errorf("host rule %s fires on a sysmon event", r.Name)
				}
			}
		}
	}
	// The metadata rule also fires on the connection of curl to the service.
	var md *Compiled
	for _, r := range defs {
		if r.Name == "ec2-metadata-access" {
			md = mustCompile(t, r)
		}
	}
	conn := `{"_id":"n1","event_time":1600362908400,"event_type":"network","direction":"outbound","dst_ip":"169.254.169.254","dst_port":80,"exe":"/usr/bin/curl","pid":4242,"protocol":"tcp","src_ip":"172.31.30.113","src_port":41000,"uid":0,"user":"root",` + meta + `}`
	if m, _ := md.Match(ev(t, conn)); !m {
		t.Errorf("ec2-metadata-access does not fire on curl's connection to 169.254.169.254")
	}
	agent := strings.Replace(conn, "/usr/bin/curl", "/usr/bin/amazon-ssm-agent", 1)
	if m, _ := md.Match(ev(t, agent)); m {
		t.Errorf("ec2-metadata-access fires on the SSM agent's connection")
	}
}

// joinArgs renders a JSON list of strings as the JSON string of its
// space-joined elements (Threat Stack's arguments).
func joinArgs(list string) string {
	s := strings.TrimSuffix(strings.TrimPrefix(list, "["), "]")
	s = strings.ReplaceAll(s, `","`, " ")
	return s
}
