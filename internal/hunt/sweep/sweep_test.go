package sweep

import (
	"context"
	"encoding/json"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/hunt/hunttest"
)

const org = "5a8c4a54e11909bd290021ed"

// brief is what the tests need of each generated event.
type brief struct {
	agent, src, dst, raw string
}

// fleet is the shared generated fleet (package hunttest) with what the
// tests need of its events.
type fleet struct {
	db     *datadir.DB
	labels []hunttest.Label
	events []brief
}

func testFleet(t *testing.T) fleet {
	t.Helper()
	b := hunttest.Shared(t)
	f := fleet{db: b.DB, labels: b.Labels}
	for _, line := range b.Lines {
		var m struct {
			Agent string `json:"agent_id"`
			Src   string `json:"src_ip"`
			Dst   string `json:"dst_ip"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		f.events = append(f.events, brief{m.Agent, m.Src, m.Dst, line})
	}
	return f
}

func TestMain(m *testing.M) { hunttest.Main(m) }

func TestParseIoCs(t *testing.T) {
	in := `# seed 000
nmap
sliver

E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855
da39a3ee5e6b4b0d3255bfef95601890afd80709
d41d8cd98f00b204e9800998ecf8427e
104.248.50.87
2001:db8::1
10.0.0.0/8
evil.example.com
/tmp/sliver2
C:\Windows\Temp\p.exe
mimikatz.exe
install.sh
bash -i >& /dev/tcp
curl|sh
domain:not-a-tld.internal
cmdline:nmap
sha256:zz
cidr:2001:db8::/32
`
	got, errs := ParseIoCs(strings.NewReader(in))
	want := []IoC{
		{FileName, "nmap", 2}, {FileName, "sliver", 3},
		{SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 5},
		{SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", 6}, {MD5, "d41d8cd98f00b204e9800998ecf8427e", 7},
		{IP, "104.248.50.87", 8}, {IP, "2001:db8::1", 9}, {CIDR, "10.0.0.0/8", 10},
		{Domain, "evil.example.com", 11}, {Path, "/tmp/sliver2", 12}, {Path, `C:\Windows\Temp\p.exe`, 13},
		{FileName, "mimikatz.exe", 14}, {FileName, "install.sh", 15}, {Cmdline, "bash -i >& /dev/tcp", 16},
		{Cmdline, "curl|sh", 17}, {Domain, "not-a-tld.internal", 18}, {Cmdline, "nmap", 19},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "line 20") || !strings.Contains(errs[1].Error(), "line 21") {
		t.Errorf("errors %v, want lines 20 and 21", errs)
	}
}

func sweepHosts(t *testing.T, f fleet, iocs ...string) (map[string]bool, [][]any) {
	t.Helper()
	var list []IoC
	for _, s := range iocs {
		i, err := ParseIoC(s)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, i)
	}
	tab, err := Run(context.Background(), f.db, org, list, 0, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tab.Columns, Columns) {
		t.Fatalf("columns %v", tab.Columns)
	}
	hosts := map[string]bool{}
	for _, r := range tab.Rows {
		hosts[r[1].(string)] = true
		t.Logf("%v", r)
	}
	return hosts, tab.Rows
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The seed-000 IoCs find exactly the hosts the labels say were attacked.
func TestSeed000IoCs(t *testing.T) {
	f := testFleet(t)
	want := map[string]bool{}
	for _, l := range f.labels {
		if l.Scenario == "seed000" {
			want[l.AgentID] = true
		}
	}
	got, rows := sweepHosts(t, f, "nmap", "sliver")
	if !slices.Equal(keys(got), keys(want)) {
		t.Errorf("hosts %v, want %v", keys(got), keys(want))
	}
	if len(want) != 3 {
		t.Errorf("labels name %d attacked hosts, want 3", len(want))
	}
	for _, r := range rows {
		if r[4] != "exe" && !strings.Contains(r[4].(string), "exe") && !strings.Contains(r[4].(string), "path") {
			t.Errorf("file name matched in field %v", r[4])
		}
	}
}

// IP and CIDR IoCs hit exactly the hosts whose events carry them.
func TestIPAndCIDR(t *testing.T) {
	f := testFleet(t)
	ip := "104.248.50.87"
	wantIP := map[string]bool{}
	for _, e := range f.events {
		if e.src == ip || e.dst == ip {
			wantIP[e.agent] = true
		}
	}
	if len(wantIP) == 0 {
		t.Fatal("no event carries the attacker's address")
	}
	got, _ := sweepHosts(t, f, ip)
	if !slices.Equal(keys(got), keys(wantIP)) {
		t.Errorf("ip: hosts %v, want %v", keys(got), keys(wantIP))
	}
	for _, c := range []string{"104.248.0.0/16", "104.240.0.0/12", "104.248.50.87/32", "10.0.0.0/8", "10.0.2.0/23"} {
		pfx := netip.MustParsePrefix(c)
		wantNet := map[string]bool{}
		for _, e := range f.events {
			for _, a := range []string{e.src, e.dst} {
				if x, err := netip.ParseAddr(a); err == nil && pfx.Contains(x) {
					wantNet[e.agent] = true
				}
			}
		}
		got, _ = sweepHosts(t, f, c)
		if !slices.Equal(keys(got), keys(wantNet)) {
			t.Errorf("cidr %s: hosts %v, want %v", c, keys(got), keys(wantNet))
		}
	}
}

var sha256Re = regexp.MustCompile(`SHA256=([0-9A-Fa-f]{64})`)

// A hash found in one Sysmon event's Hashes field hits its host.
func TestHash(t *testing.T) {
	f := testFleet(t)
	var hash, agent string
	for _, e := range f.events {
		if m := sha256Re.FindStringSubmatch(e.raw); m != nil {
			hash, agent = strings.ToUpper(m[1]), e.agent
			break
		}
	}
	if hash == "" {
		t.Fatal("no Sysmon hash in the generated fleet: the generator lost its hashes, and this test would test nothing")
	}
	got, rows := sweepHosts(t, f, hash)
	if !got[agent] {
		t.Errorf("hash %s: hosts %v lack %s", hash, keys(got), agent)
	}
	for _, r := range rows {
		if r[3] != SHA256 || r[4] != "raw" {
			t.Errorf("hash hit %v", r)
		}
	}
}

func TestCIDRPrefixes(t *testing.T) {
	for c, want := range map[string]string{
		"10.0.0.0/8":     "10.|",
		"0.0.0.0/0":      "|",
		"10.0.2.0/23":    "10.0.2.,10.0.3.|",
		"1.2.3.4/32":     "|1.2.3.4",
		"1.2.3.4/31":     "|1.2.3.4,1.2.3.5",
		"172.16.0.0/12":  "",
		"192.168.0.0/16": "192.168.|",
	} {
		p, e := cidrPrefixes(netip.MustParsePrefix(c))
		got := strings.Join(p, ",") + "|" + strings.Join(e, ",")
		if c == "172.16.0.0/12" {
			if len(p) != 16 || p[0] != "172.16." || p[15] != "172.31." {
				t.Errorf("%s: %v", c, p)
			}
			continue
		}
		if got != want {
			t.Errorf("%s: %q, want %q", c, got, want)
		}
	}
}

func TestWindowsPath(t *testing.T) {
	for v, want := range map[string]bool{`c:\windows\temp\x.exe`: true, `c:/windows/x.exe`: true, `\\share\x`: true, "/tmp/nmap": false, "nmap": false, "c:": false} {
		if windowsPath(v) != want {
			t.Errorf("windowsPath(%q) = %v", v, !want)
		}
	}
}
