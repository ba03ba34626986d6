package gen

import (
	"math/rand/v2"
	"strconv"
)

// A Linux host's hour: package upgrades, cron runs, administrators'
// sessions and the failed logins of the internet's scanners.

var ubuntuPkgs = []string{"openssl", "libssl1.1", "tzdata", "curl", "libcurl4", "sudo", "git", "python3.6", "libsystemd0", "linux-aws", "ca-certificates", "bind9-host", "vim-common", "libx11-6"}
var pkgFiles = map[string]string{"openssl": "/usr/bin/openssl", "curl": "/usr/bin/curl", "sudo": "/usr/bin/sudo", "git": "/usr/bin/git", "python3.6": "/usr/bin/python3.6", "tzdata": "/usr/share/zoneinfo/UTC", "ca-certificates": "/etc/ssl/certs/ca-certificates.crt", "bind9-host": "/usr/bin/host", "vim-common": "/usr/bin/xxd"}

var (
	dpkgProc = newProc("/usr/bin/dpkg", []string{"/usr/bin/dpkg", "--status-fd", "10", "--no-triggers", "--unpack", "--auto-deconfigure", "--recursive", "/tmp/apt-dpkg-install-Xq2a1T"}, "/", uRoot)
	dpkgConf = newProc("/usr/bin/dpkg", []string{"/usr/bin/dpkg", "--status-fd", "10", "--configure", "--pending"}, "/", uRoot)
	yumProc  = newProc("/usr/bin/python2.7", []string{"/usr/bin/python", "/usr/bin/yum", "-y", "update", "--security"}, "/", uRoot)
)

// upgradePackages plans an unattended upgrade of a few packages.
func upgradePackages(g *planner, h *host, r *rand.Rand, t int64, par pinfo) {
	n := 1 + r.IntN(3)
	if h.info.ubuntu {
		p := g.exec(h, t, dpkgProc, par, daemonCtx)
		for k := 0; k < n; k++ {
			pkg := pick(r, ubuntuPkgs)
			if f, ok := pkgFiles[pkg]; ok {
				g.fim(h, t+500+int64(k)*700, p, f, "modify")
			}
		}
		g.exec(h, t+4000, dpkgConf, par, daemonCtx)
		return
	}
	p := g.exec(h, t, yumProc, par, daemonCtx)
	g.conn(h, t+300, p, h.privateIP, 0, pick(r, amznMirrors), 443, false, false)
	g.fim(h, t+9000, p, pick(r, []string{"/usr/bin/openssl", "/usr/bin/curl", "/usr/bin/sudo", "/usr/bin/python2.7"}), "modify")
}

// runCron plans one run of job j at t.
func (h *host) runCron(g *planner, r *rand.Rand, t int64, j *cronJob) {
	if j.sh == nil {
		j.run(g, h, r, t, systemdPar, daemonCtx)
		return
	}
	c := h.newSession(j.u)
	child := pinfo{pid: h.newPID(1), exe: h.info.cron, start: t, user: uRoot}
	sh := g.exec(h, t+2, j.sh, child, c)
	if j.run != nil {
		j.run(g, h, r, t+4, sh, c)
	}
}

// adminSession plans an ssh login by an administrator, some commands and
// the logout.
func (h *host) adminSession(g *planner, r *rand.Rand, t int64) {
	au := h.admins[r.IntN(len(h.admins))]
	src := h.org.bastion
	if h.role == "bastion" || src == h.privateIP {
		src = pick(r, h.org.office)
	}
	tty := "pts/" + strconv.Itoa(r.IntN(3))
	sport := 40000 + r.Int32N(20000)
	g.conn(h, t-40, pinfo{pid: 1010, exe: "/usr/sbin/sshd", user: uRoot}, src, sport, h.privateIP, 22, false, true)
	c := g.login(h, t, au.u, src, sport, true, tty)
	sshd := pinfo{pid: c.sshd, exe: "/usr/sbin/sshd", start: t, user: uRoot}
	sh := g.exec(h, t+350, au.shell, sshd, c)
	for k := 2 + r.IntN(5); k > 0; k-- {
		t += 2000 + r.Int64N(120000)
		i := r.IntN(len(au.cmds))
		p := sh
		for _, s := range au.cmds[i] {
			p = g.exec(h, t, s, p, c)
			t += 30 + r.Int64N(200)
			if s.command == "ssh" {
				g.conn(h, t, p, h.privateIP, 0, s.args[len(s.args)-1], 22, false, false)
			}
		}
		if f := au.fim[i]; f != "" {
			g.fim(h, t+20000+r.Int64N(60000), p, f, "modify")
		}
	}
	g.logout(h, t+5000+r.Int64N(600000), au.u, src, c)
}

var invalidUsers = []string{"admin", "test", "oracle", "postgres", "ubuntu", "root", "user", "git", "ftpuser", "support", "pi", "guest"}

// planLinuxHour plans one hour of a Linux host.
func (h *host) planLinuxHour(g *planner, r *rand.Rand, hs int64, target float64) {
	hod, wd := hourOfDay(hs), weekday(hs)
	for _, j := range h.cron {
		if (j.hour >= 0 && j.hour != hod) || (j.weekday >= 0 && j.weekday != wd) {
			continue
		}
		for m := j.minute; m < 60; m += j.period {
			h.runCron(g, r, hs+int64(m)*60000+r.Int64N(1500), j)
		}
	}
	p := 0.15 * workFactor(hs)
	if h.role == "bastion" {
		p *= 3
	}
	for p > 0 {
		if r.Float64() < min(p, 1) {
			h.adminSession(g, r, hs+r.Int64N(3300000))
		}
		p--
	}
	if h.publicIP != "" {
		for k := r.IntN(4); k > 0; k-- {
			src := pick(r, h.org.scanners)
			t := hs + r.Int64N(3600000)
			for a := 0; a < 1+r.IntN(3); a++ {
				u := &luser{name: pick(r, invalidUsers), uid: noAUID}
				if u.name == "root" {
					u.uid = 0
				}
				g.login(h, t+int64(a)*1500, u, src, 30000+r.Int32N(30000), false, "")
			}
		}
	}
	for guard := 0; float64(g.n) < target && guard < int(target)*4+16; guard++ {
		x := r.Float64() * h.habitSum
		for _, hb := range h.habits {
			x -= hb.w
			if x < 0 {
				hb.fn(g, h, r, hs+r.Int64N(3600000))
				break
			}
		}
	}
}
