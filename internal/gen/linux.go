package gen

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// habit is a background activity: fn plans its events at t.
type habit struct {
	w  float64
	fn func(g *planner, h *host, r *rand.Rand, t int64)
}

// cronJob runs on a schedule: every period minutes from minute, in hour
// (-1 = every hour), on weekday (-1 = every day).
type cronJob struct {
	period, minute, hour, weekday int
	u                             *luser
	sh                            *proc // /bin/sh -c LINE; nil for systemd timers
	run                           func(g *planner, h *host, r *rand.Rand, t int64, par pinfo, c sctx)
}

// adminUser is an administrator with a home on the host and a repertoire.
type adminUser struct {
	u     *luser
	shell *proc
	cmds  [][]*proc // each a chain: a command, or sudo then its command
	fim   []string  // file edited by the chain with the same index ("" none)
}

// peer is a destination a host talks to.
type peer struct {
	ip   string
	port int32
	udp  bool
	w    float64
}

var (
	ubuntuMirrors = []string{"91.189.88.152", "91.189.88.142", "91.189.91.38", "91.189.91.39"}
	amznMirrors   = []string{"52.216.102.11", "52.216.176.91", "54.231.81.48"}
	githubIPs     = []string{"140.82.112.3", "140.82.113.3", "140.82.114.4"}
	awsAPIIPs     = []string{"52.46.136.41", "52.46.140.3", "52.94.233.131", "54.239.28.85"}
)

func hourOfDay(ms int64) int { return int((ms / 3600000) % 24) }

func weekday(ms int64) int { return int(time.UnixMilli(ms).UTC().Weekday()) }

// workFactor is the share of admin activity in this hour: US business hours
// on weekdays.
func workFactor(ms int64) float64 {
	h := hourOfDay(ms)
	wd := weekday(ms)
	f := 0.05
	if h >= 13 && h <= 23 {
		f = 1
	} else if h >= 11 || h <= 2 {
		f = 0.35
	}
	if wd == 0 || wd == 6 {
		f *= 0.15
	}
	return f
}

// diurnal scales a host's traffic by hour of day (averages about 1).
func diurnal(ms int64, role string) float64 {
	switch role {
	case "web", "api", "app", "iis", "cache":
		h := float64(hourOfDay(ms))
		d := h - 18
		if d < -12 {
			d += 24
		}
		return 0.7 + 0.6*max(0, 1-d*d/50)
	}
	return 1
}

// planHabits builds the host's stable habits: what it runs, when, and to
// whom it talks. They depend only on the seed and the host.
func planHabits(seed uint64, h *host, rate float64) {
	if h.info.windows {
		return
	}
	r := newRand(seed, 0x4ab1, uint64(h.idx))
	o := h.org
	osi := h.info
	sh := osi.shell
	bin := "/usr/bin/"
	if h.os == osUbuntu1804 {
		bin = "/bin/"
	}
	login := uUbuntu
	if h.os == osAmzn2 {
		login = uEC2User
	}

	// cron: the OS's hourly run-parts
	if osi.ubuntu {
		h.cron = append(h.cron, &cronJob{period: 60, minute: 17, hour: -1, weekday: -1, u: uRoot,
			sh:  newProc(sh, []string{"/bin/sh", "-c", "   cd / && run-parts --report /etc/cron.hourly"}, "/root", uRoot),
			run: chain(newProc("/bin/run-parts", []string{"run-parts", "--report", "/etc/cron.hourly"}, "/", uRoot))})
	} else {
		h.cron = append(h.cron, &cronJob{period: 60, minute: 1, hour: -1, weekday: -1, u: uRoot,
			sh: newProc(sh, []string{"/bin/bash", "-c", "run-parts /etc/cron.hourly"}, "/root", uRoot),
			run: chain(newProc("/usr/bin/run-parts", []string{"/bin/bash", "/bin/run-parts", "/etc/cron.hourly"}, "/", uRoot),
				newProc("/usr/sbin/anacron", []string{"/usr/sbin/anacron", "-s"}, "/", uRoot))})
	}
	// custom cron jobs, sized to about a quarter of the host's budget
	type jobDef struct {
		line  string
		u     *luser
		steps []*proc
		net   *peer
		creds bool
	}
	var defs []jobDef
	s3 := &peer{ip: "52.216." + strconv.Itoa(100+r.IntN(100)) + "." + strconv.Itoa(2+r.IntN(250)), port: 443}
	db := &peer{ip: pick(r, o.peers.db), port: 5432}
	api := &peer{ip: pick(r, o.peers.api), port: 8080}
	switch h.role {
	case "web", "app":
		defs = append(defs, jobDef{line: "/usr/local/bin/healthcheck.sh", u: uRoot, steps: []*proc{
			newProc(bin+"bash", []string{"/bin/bash", "/usr/local/bin/healthcheck.sh"}, "/root", uRoot),
			newProc("/usr/bin/curl", []string{"curl", "-fsS", "-m", "5", "http://" + api.ip + ":8080/healthz"}, "/root", uRoot)}, net: api})
	case "db":
		defs = append(defs, jobDef{line: "/usr/local/bin/pg_stats.sh >/dev/null 2>&1", u: uPostgres, steps: []*proc{
			newProc("/usr/lib/postgresql/10/bin/psql", []string{"psql", "-qAt", "-c", "select count(*) from pg_stat_activity"}, "/var/lib/postgresql", uPostgres)}})
	case "worker", "etl":
		defs = append(defs, jobDef{line: "/usr/bin/flock -n /tmp/batch.lock /usr/bin/python3 /opt/app/run_batch.py", u: uDeploy, steps: []*proc{
			newProc("/usr/bin/flock", []string{"/usr/bin/flock", "-n", "/tmp/batch.lock", "/usr/bin/python3", "/opt/app/run_batch.py"}, "/home/deploy", uDeploy),
			newProc("/usr/bin/python3.6", []string{"/usr/bin/python3", "/opt/app/run_batch.py"}, "/home/deploy", uDeploy)}, net: db})
	case "build", "k8s-node":
		defs = append(defs, jobDef{line: "/usr/bin/docker system prune -f --filter until=24h", u: uRoot, steps: []*proc{
			newProc("/usr/bin/docker", []string{"/usr/bin/docker", "system", "prune", "-f", "--filter", "until=24h"}, "/root", uRoot)}})
	default:
		defs = append(defs, jobDef{line: "/usr/local/bin/node_exporter_textfile.sh", u: uRoot, steps: []*proc{
			newProc(bin+"bash", []string{"/bin/bash", "/usr/local/bin/node_exporter_textfile.sh"}, "/root", uRoot),
			newProc(bin+"df", []string{"df", "-P", "-k"}, "/root", uRoot)}})
	}
	if r.Float64() < 0.5 || h.role == "db" || h.role == "build" {
		creds := h.role == "build" || h.role == "db"
		aws := newProc("/usr/bin/python3", []string{"/usr/bin/python3", "/usr/local/bin/aws", "s3", "sync", "/var/log/app", "s3://" + o.acct.bucket[1] + "/" + h.role + "/", "--quiet"}, "/root", uRoot)
		defs = append(defs, jobDef{line: "/usr/local/bin/ship-logs.sh", u: uRoot, steps: []*proc{
			newProc(bin+"bash", []string{"/bin/bash", "/usr/local/bin/ship-logs.sh"}, "/root", uRoot), aws}, net: s3, creds: creds})
		if creds {
			h.creds = "/root/.aws/credentials"
		}
	}
	budget := 0.25 * h.weight * rate
	per := budget / float64(len(defs))
	for _, d := range defs {
		n := float64(len(d.steps) + 1)
		if d.net != nil {
			n++
		}
		if d.creds {
			n++
		}
		runs := per / n
		period := 60
		for _, p := range []int{1, 2, 5, 10, 15, 20, 30, 60} {
			if 60/float64(p) <= runs {
				period = p
				break
			}
		}
		d := d
		j := &cronJob{period: period, minute: r.IntN(period), hour: -1, weekday: -1, u: d.u,
			sh: newProc(sh, []string{"/bin/sh", "-c", d.line}, d.u.home, d.u)}
		j.run = func(g *planner, h *host, r *rand.Rand, t int64, par pinfo, c sctx) {
			p := par
			for _, s := range d.steps {
				t += 2 + r.Int64N(30)
				p = g.exec(h, t, s, p, c)
			}
			if d.creds {
				g.fim(h, t+40, p, h.creds, "open")
			}
			if d.net != nil {
				g.conn(h, t+60+r.Int64N(200), p, h.privateIP, 0, d.net.ip, d.net.port, false, false)
			}
		}
		h.cron = append(h.cron, j)
	}

	// daily and weekly jobs at host-specific times
	dailyHour := 6
	if !osi.ubuntu {
		dailyHour = 3 + r.IntN(3)
	}
	runParts := "/bin/run-parts"
	if !osi.ubuntu {
		runParts = "/usr/bin/run-parts"
	}
	var dailies []*proc
	if osi.ubuntu {
		for _, s := range []string{"apt-compat", "bsdmainutils", "dpkg", "logrotate", "man-db", "mlocate", "passwd", "update-notifier-common"} {
			dailies = append(dailies, newProc(sh, []string{"/bin/sh", "/etc/cron.daily/" + s}, "/", uRoot))
		}
		dailies = append(dailies, newProc("/usr/sbin/logrotate", []string{"/usr/sbin/logrotate", "/etc/logrotate.conf"}, "/", uRoot),
			newProc("/usr/bin/mandb", []string{"/usr/bin/mandb", "--quiet"}, "/", uRoot),
			newProc("/usr/bin/updatedb.mlocate", []string{"/usr/bin/updatedb.mlocate"}, "/", uRoot))
	} else {
		for _, s := range []string{"logrotate", "man-db.cron", "mlocate"} {
			dailies = append(dailies, newProc("/usr/bin/bash", []string{"/bin/sh", "/etc/cron.daily/" + s}, "/", uRoot))
		}
		dailies = append(dailies, newProc("/usr/sbin/logrotate", []string{"/usr/sbin/logrotate", "-s", "/var/lib/logrotate/logrotate.status", "/etc/logrotate.conf"}, "/", uRoot))
	}
	rp := newProc(runParts, []string{"run-parts", "--report", "/etc/cron.daily"}, "/", uRoot)
	h.cron = append(h.cron, &cronJob{period: 60, minute: 25, hour: dailyHour, weekday: -1, u: uRoot,
		sh: newProc(sh, []string{"/bin/sh", "-c", "test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )"}, "/root", uRoot),
		run: func(g *planner, h *host, r *rand.Rand, t int64, par pinfo, c sctx) {
			p := g.exec(h, t+2, rp, par, c)
			for _, d := range dailies {
				t += 20 + r.Int64N(2000)
				g.exec(h, t, d, p, c)
			}
		}})
	// package updates (systemd timers, not cron)
	updHour := (dailyHour + 1 + r.IntN(4)) % 24
	if osi.ubuntu {
		upd := []*proc{
			newProc("/usr/bin/dash", []string{"/bin/sh", "/usr/lib/apt/apt.systemd.daily", "install"}, "/", uRoot),
			newProc("/usr/bin/python3.6", []string{"/usr/bin/python3", "/usr/bin/unattended-upgrade"}, "/", uRoot),
			newProc("/usr/bin/apt-get", []string{"apt-get", "-qq", "-y", "update"}, "/", uRoot),
			newProc("/usr/lib/apt/methods/http", []string{"/usr/lib/apt/methods/http"}, "/", uRoot),
		}
		h.cron = append(h.cron, &cronJob{period: 60, minute: r.IntN(50), hour: updHour, weekday: -1, u: uRoot,
			run: func(g *planner, h *host, r *rand.Rand, t int64, par pinfo, c sctx) {
				p := pinfo{pid: 1, exe: "/lib/systemd/systemd", start: h.boot}
				for k, s := range upd {
					t += 50 + r.Int64N(3000)
					q := g.exec(h, t, s, p, daemonCtx)
					if k < 2 {
						p = q
					}
					if k == 3 {
						g.conn(h, t+100, q, h.privateIP, 0, pick(r, ubuntuMirrors), 80, false, false)
						g.conn(h, t+900, q, h.privateIP, 0, pick(r, ubuntuMirrors), 80, false, false)
					}
				}
				if r.Float64() < 0.35 {
					upgradePackages(g, h, r, t+20000, p)
				}
			}})
		motd := newProc("/usr/bin/curl", []string{"curl", "--connect-timeout", "3", "--max-time", "3", "-A", "curl/7.58.0 Ubuntu/18.04", "-o-", "https://motd.ubuntu.com"}, "/", uRoot)
		for _, hr := range []int{r.IntN(12), 12 + r.IntN(12)} {
			h.cron = append(h.cron, &cronJob{period: 60, minute: r.IntN(60), hour: hr, weekday: -1, u: uRoot,
				run: func(g *planner, h *host, r *rand.Rand, t int64, par pinfo, c sctx) {
					s := g.exec(h, t, newMotd, systemdPar, daemonCtx)
					q := g.exec(h, t+40, motd, s, daemonCtx)
					g.conn(h, t+90, q, h.privateIP, 0, "91.189.92.41", 443, false, false)
				}})
		}
	} else {
		yum := []*proc{
			newProc("/usr/bin/python2.7", []string{"/usr/bin/python", "/usr/sbin/yum-cron", "/etc/yum/yum-cron.conf"}, "/", uRoot),
			newProc("/usr/bin/rpm", []string{"rpm", "-qa", "--qf", "%{NAME}\n"}, "/", uRoot),
		}
		h.cron = append(h.cron, &cronJob{period: 60, minute: r.IntN(50), hour: updHour, weekday: -1, u: uRoot,
			sh: newProc(sh, []string{"/bin/sh", "-c", "/usr/sbin/yum-cron /etc/yum/yum-cron.conf"}, "/root", uRoot),
			run: func(g *planner, h *host, r *rand.Rand, t int64, par pinfo, c sctx) {
				p := g.exec(h, t+5, yum[0], par, c)
				g.conn(h, t+800, p, h.privateIP, 0, pick(r, amznMirrors), 443, false, false)
				g.exec(h, t+2000, yum[1], p, c)
				if r.Float64() < 0.25 {
					upgradePackages(g, h, r, t+30000, p)
				}
			}})
	}
	fstrim := newProc("/sbin/fstrim", []string{"/sbin/fstrim", "--fstab", "--verbose", "--quiet"}, "/", uRoot)
	h.cron = append(h.cron, &cronJob{period: 60, minute: 0, hour: 0, weekday: 1, u: uRoot,
		run: func(g *planner, h *host, r *rand.Rand, t int64, par pinfo, c sctx) {
			g.exec(h, t+r.Int64N(40000), fstrim, systemdPar, daemonCtx)
		}})

	// admins: each with a shell and a repertoire drawn from the role's
	var lines []string
	lines = append(lines, "df -h", "free -m", "uptime", "ps aux", "w", "last -n 20", "ls -la", "sudo tail -n 200 /var/log/syslog", "top -b -n 1", "sudo journalctl -u "+roleUnit(h.role)+" --since today", "sudo systemctl status "+roleUnit(h.role))
	switch h.role {
	case "web":
		lines = append(lines, "sudo nginx -t", "sudo systemctl reload nginx", "tail -n 100 /var/log/nginx/access.log", "sudo vim /etc/nginx/sites-enabled/default")
	case "db":
		lines = append(lines, "sudo -u postgres psql -c select_1", "du -sh /var/lib/postgresql", "sudo vim /etc/postgresql/10/main/pg_hba.conf")
	case "k8s-node", "build":
		lines = append(lines, "sudo docker ps", "sudo docker images", "sudo docker logs --tail 50 "+h.ctrs[0].name)
	case "bastion":
		lines = append(lines, "ssh "+pick(r, o.peers.api), "ssh "+pick(r, o.peers.db))
	default:
		lines = append(lines, "sudo systemctl restart "+roleUnit(h.role), "htop", "sudo vim /etc/"+roleUnit(h.role)+"/config.yml")
	}
	r.Shuffle(len(lines), func(a, b int) { lines[a], lines[b] = lines[b], lines[a] })
	lines = lines[:7+r.IntN(3)]
	users := []*luser{login}
	for _, a := range o.admins {
		users = append(users, &luser{a.name, a.name, int64(a.uid), int64(a.uid), "/home/" + a.name})
	}
	for _, u := range users {
		au := &adminUser{u: u, shell: newProc(bin+"bash", []string{"-bash"}, u.home, u)}
		for _, l := range lines {
			var chainP []*proc
			f := strings.Fields(l)
			fim := ""
			if f[0] == "sudo" {
				chainP = append(chainP, newProc("/usr/bin/sudo", f, u.home, u))
				f = f[1:]
				if f[0] == "-u" {
					f = f[2:]
				}
				chainP = append(chainP, newProc(whichBin(h, f[0]), f, u.home, uRoot))
			} else {
				chainP = append(chainP, newProc(whichBin(h, f[0]), f, u.home, u))
			}
			if f[0] == "vim" {
				fim = f[len(f)-1]
			}
			au.cmds = append(au.cmds, chainP)
			au.fim = append(au.fim, fim)
		}
		h.admins = append(h.admins, au)
	}

	// background habits
	add := func(w float64, fn func(g *planner, h *host, r *rand.Rand, t int64)) {
		h.habits = append(h.habits, habit{w, fn})
		h.habitSum += w
	}
	var tick *proc
	var tickSelf pinfo
	if h.os == osAmzn2 || r.Float64() < 0.3 {
		tick = newSyscall("/usr/sbin/chronyd", []string{"/usr/sbin/chronyd"}, uChrony, "adjtimex")
		tickSelf = pinfo{pid: 400 + r.Int32N(500), exe: "/usr/sbin/chronyd", user: uChrony}
	} else {
		tick = newSyscall("/lib/systemd/systemd-timesyncd", []string{"/lib/systemd/systemd-timesyncd"}, uTimesync, "adjtimex")
		tickSelf = pinfo{pid: 300 + r.Int32N(300), exe: "/lib/systemd/systemd-timesyncd", user: uTimesync}
	}
	add(3, func(g *planner, h *host, r *rand.Rand, t int64) {
		g.sys(h, t, tick, tickSelf, 1, pinfo{pid: 1, exe: "/usr/lib/systemd/systemd", start: h.boot})
	})
	app := pinfo{pid: h.appPID, exe: h.app, user: appUser(h)}
	var peers []peer
	peers = append(peers, peer{ip: o.peers.resolver, port: 53, udp: true, w: 2})
	switch h.role {
	case "web", "app", "iis":
		peers = append(peers, peer{ip: pick(r, o.peers.api), port: 8080, w: 4}, peer{ip: pick(r, o.peers.cache), port: 6379, w: 2})
	case "api":
		peers = append(peers, peer{ip: pick(r, o.peers.db), port: 5432, w: 4}, peer{ip: pick(r, o.peers.cache), port: 6379, w: 3}, peer{ip: pick(r, awsAPIIPs), port: 443, w: 1})
	case "worker", "etl":
		peers = append(peers, peer{ip: pick(r, o.peers.queue), port: 5672, w: 4}, peer{ip: pick(r, o.peers.db), port: 5432, w: 3}, peer{ip: s3.ip, port: 443, w: 1})
	case "db", "cache":
		peers = append(peers, peer{ip: pick(r, o.peers.db), port: 5432, w: 1})
	case "build":
		peers = append(peers, peer{ip: pick(r, githubIPs), port: 443, w: 3}, peer{ip: "52.216.230.195", port: 443, w: 1}, peer{ip: "3.225." + strconv.Itoa(r.IntN(255)) + ".12", port: 443, w: 2})
	default:
		peers = append(peers, peer{ip: pick(r, o.peers.api), port: 443, w: 2})
	}
	h.peers = peers
	var psum float64
	for _, p := range peers {
		psum += p.w
	}
	resolved := pinfo{pid: 500 + r.Int32N(400), exe: "/lib/systemd/systemd-resolved", user: uResolve}
	add(4, func(g *planner, h *host, r *rand.Rand, t int64) {
		x := r.Float64() * psum
		p := peers[len(peers)-1]
		for _, q := range peers {
			x -= q.w
			if x < 0 {
				p = q
				break
			}
		}
		who := app
		if p.udp && h.info.ubuntu {
			who = resolved
		}
		g.conn(h, t, who, h.privateIP, 0, p.ip, p.port, p.udp, false)
	})
	switch h.role {
	case "web", "api", "app", "db", "cache":
		port := int32(443)
		switch h.role {
		case "api", "app":
			port = 8080
		case "db":
			port = 5432
		case "cache":
			port = 6379
		}
		add(3, func(g *planner, h *host, r *rand.Rand, t int64) {
			src := pick(r, o.peers.alb)
			if h.role == "db" || h.role == "cache" {
				src = pick(r, o.peers.api)
			}
			g.conn(h, t, app, src, 30000+r.Int32N(30000), h.privateIP, port, false, true)
		})
	}
	ssm := pinfo{pid: 700 + r.Int32N(300), exe: "/usr/bin/amazon-ssm-agent", user: uRoot}
	if osi.ubuntu {
		ssm.exe = "/snap/amazon-ssm-agent/1566/amazon-ssm-agent"
	}
	ssmIP := pick(r, awsAPIIPs)
	add(0.8, func(g *planner, h *host, r *rand.Rand, t int64) {
		g.conn(h, t, ssm, h.privateIP, 0, ssmIP, 443, false, false)
	})
	mon := pinfo{pid: 1200 + r.Int32N(500), exe: "/opt/datadog-agent/bin/agent/agent", user: uRoot}
	psCmd := newProc(osi.ps, []string{"ps", "-e", "-o", "pid,ppid,state,command"}, "/usr/bin", uRoot)
	add(0.6, func(g *planner, h *host, r *rand.Rand, t int64) {
		g.exec(h, t, psCmd, mon, daemonCtx)
	})
	if h.container {
		var hc []struct{ runc, sh, curl *proc }
		for _, c := range h.ctrs {
			hc = append(hc, struct{ runc, sh, curl *proc }{
				newProc("/usr/bin/runc", []string{"runc", "--root", "/var/run/docker/runtime-runc/moby", "--log", "/run/containerd/io.containerd.runtime.v1.linux/moby/" + c.id + "/log.json", "--log-format", "json", "exec", "--process", "/tmp/runc-process" + randDigits(r, 9), "--detach", "--pid-file", "/run/containerd/io.containerd.runtime.v1.linux/moby/" + c.id + "/" + randHex(r, 64) + ".pid", c.id}, "/run/containerd/io.containerd.runtime.v1.linux/moby/"+c.id, uRoot),
				newProcC("/bin/busybox", []string{"/bin/sh", "-c", c.health}, "/", uRoot, c),
				newProcC("/usr/bin/curl", []string{"curl", "-fs", "http://localhost:" + strconv.Itoa(c.port) + "/health"}, "/", uRoot, c),
			})
		}
		add(5, func(g *planner, h *host, r *rand.Rand, t int64) {
			k := r.IntN(len(hc))
			shim := pinfo{pid: h.shimPIDs[k], exe: "/usr/bin/containerd-shim", start: h.boot}
			g.exec(h, t, hc[k].runc, shim, daemonCtx)
			s := g.exec(h, t+30, hc[k].sh, shim, daemonCtx)
			g.exec(h, t+34, hc[k].curl, s, daemonCtx)
		})
	}
	if h.container {
		// a deploy on weekdays: pull, replace the container, start it
		deployHour := 14 + r.IntN(6)
		type deploy struct{ script, pull, rm, run, shim, create, entry *proc }
		var ds []deploy
		for _, c := range h.ctrs {
			ds = append(ds, deploy{
				script: newProc(bin+"bash", []string{"/bin/bash", "/opt/deploy/deploy.sh", c.name}, "/opt/deploy", uDeploy),
				pull:   newProc("/usr/bin/docker", []string{"docker", "pull", c.image}, "/opt/deploy", uDeploy),
				rm:     newProc("/usr/bin/docker", []string{"docker", "rm", "-f", c.name}, "/opt/deploy", uDeploy),
				run:    newProc("/usr/bin/docker", []string{"docker", "run", "-d", "--restart", "unless-stopped", "--name", c.name, "-p", strconv.Itoa(c.port) + ":" + strconv.Itoa(c.port), c.image}, "/opt/deploy", uDeploy),
				shim: newProc("/usr/bin/containerd-shim", []string{"containerd-shim", "-namespace", "moby", "-workdir", "/var/lib/containerd/io.containerd.runtime.v1.linux/moby/" + c.id, "-address", "/run/containerd/containerd.sock", "-containerd-binary", "/usr/bin/containerd", "-runtime-root", "/var/run/docker/runtime-runc"},
					"/run/containerd/io.containerd.runtime.v1.linux/moby/"+c.id, uRoot),
				create: newProc("/usr/bin/runc", []string{"runc", "--root", "/var/run/docker/runtime-runc/moby", "--log", "/run/containerd/io.containerd.runtime.v1.linux/moby/" + c.id + "/log.json", "--log-format", "json", "create", "--bundle", "/run/containerd/io.containerd.runtime.v1.linux/moby/" + c.id, "--pid-file", "/run/containerd/io.containerd.runtime.v1.linux/moby/" + c.id + "/init.pid", c.id},
					"/run/containerd/io.containerd.runtime.v1.linux/moby/"+c.id, uRoot),
				entry: newProcC(entrypoint(c.image), append([]string{entrypoint(c.image)}, entryArgs(c.image)...), "/", uRoot, c),
			})
		}
		registry := "54.236." + strconv.Itoa(r.IntN(255)) + "." + strconv.Itoa(1+r.IntN(254))
		containerd := pinfo{pid: 880 + r.Int32N(100), exe: "/usr/bin/containerd", start: h.boot, user: uRoot}
		h.cron = append(h.cron, &cronJob{period: 60, minute: r.IntN(60), hour: deployHour, weekday: -1, u: uDeploy,
			run: func(g *planner, h *host, r *rand.Rand, t int64, par pinfo, c sctx) {
				if wd := weekday(t); wd == 0 || wd == 6 || r.IntN(3) == 0 {
					return
				}
				k := r.IntN(len(ds))
				d := ds[k]
				sc := g.exec(h, t, d.script, systemdPar, daemonCtx)
				p := g.exec(h, t+40, d.pull, sc, daemonCtx)
				g.conn(h, t+300, p, h.privateIP, 0, registry, 443, false, false)
				t += 4000 + r.Int64N(20000)
				g.exec(h, t, d.rm, sc, daemonCtx)
				g.exec(h, t+900, d.run, sc, daemonCtx)
				shim := g.exec(h, t+1100, d.shim, containerd, daemonCtx)
				h.shimPIDs[k] = shim.pid
				g.exec(h, t+1130, d.create, shim, daemonCtx)
				g.exec(h, t+1200, d.entry, shim, daemonCtx)
			}})
	}
	if h.role == "build" {
		git := newProc("/usr/bin/git", []string{"git", "fetch", "--tags", "--progress", "origin", "+refs/heads/*:refs/remotes/origin/*"}, "/var/lib/jenkins/workspace/app", uJenkins)
		jenkins := pinfo{pid: 1500, exe: "/usr/bin/java", user: uJenkins}
		add(1, func(g *planner, h *host, r *rand.Rand, t int64) {
			p := g.exec(h, t, git, jenkins, daemonCtx)
			g.conn(h, t+200, p, h.privateIP, 0, pick(r, githubIPs), 443, false, false)
		})
	}
}

var newMotd = newProc("/bin/dash", []string{"/bin/sh", "/etc/update-motd.d/50-motd-news", "--force"}, "/", uRoot)

func roleUnit(role string) string {
	switch role {
	case "web":
		return "nginx"
	case "db":
		return "postgresql"
	case "cache":
		return "redis-server"
	case "build":
		return "jenkins"
	case "k8s-node":
		return "kubelet"
	case "bastion":
		return "sshd"
	}
	return "app-" + role
}

func appUser(h *host) *luser {
	switch h.role {
	case "web":
		return uWWW
	case "db":
		return uPostgres
	case "cache":
		return uRedis
	case "build":
		return uJenkins
	case "k8s-node":
		return uRoot
	}
	return uDeploy
}

// entrypoint is an image's main process.
func entrypoint(image string) string {
	switch {
	case strings.HasPrefix(image, "nginx"):
		return "/usr/sbin/nginx"
	case strings.HasPrefix(image, "redis"):
		return "/usr/local/bin/redis-server"
	case strings.HasPrefix(image, "python"), strings.HasPrefix(image, "spring4shell"):
		return "/usr/local/bin/python3.8"
	case strings.HasPrefix(image, "node"):
		return "/usr/local/bin/node"
	case strings.HasPrefix(image, "grafana"):
		return "/usr/share/grafana/bin/grafana-server"
	case strings.HasPrefix(image, "prom/"):
		return "/bin/node_exporter"
	case strings.HasPrefix(image, "jenkins"):
		return "/opt/java/openjdk/bin/java"
	}
	return "/usr/bin/ruby"
}

func entryArgs(image string) []string {
	switch {
	case strings.HasPrefix(image, "nginx"):
		return []string{"-g", "daemon off;"}
	case strings.HasPrefix(image, "redis"):
		return []string{"*:6379"}
	case strings.HasPrefix(image, "python"), strings.HasPrefix(image, "spring4shell"):
		return []string{"/app/main.py"}
	case strings.HasPrefix(image, "node"):
		return []string{"/app/server.js"}
	case strings.HasPrefix(image, "jenkins"):
		return []string{"-jar", "/usr/share/jenkins/agent.jar"}
	}
	return nil
}

// whichBin resolves a command name to its binary on the host's OS.
func whichBin(h *host, name string) string {
	if strings.HasPrefix(name, "/") {
		return name
	}
	switch name {
	case "vim":
		if h.info.ubuntu {
			return "/usr/bin/vim.basic"
		}
		return "/usr/bin/vim"
	case "top", "free", "uptime", "w", "last", "tail", "du", "htop", "ssh", "curl", "wget", "scp", "sudo", "nginx", "docker", "journalctl", "systemctl", "crontab", "lscpu", "awk", "python3", "less", "id", "apt-get", "apt", "dpkg", "aws":
		switch name {
		case "nginx":
			return "/usr/sbin/nginx"
		case "systemctl", "journalctl":
			if h.os == osUbuntu1804 {
				return "/bin/" + name
			}
		case "w":
			return "/usr/bin/w.procps"
		case "psql":
			return "/usr/lib/postgresql/10/bin/psql"
		}
		return "/usr/bin/" + name
	case "psql":
		return "/usr/lib/postgresql/10/bin/psql"
	case "ifconfig":
		return "/sbin/ifconfig"
	}
	if h.os == osUbuntu1804 {
		return "/bin/" + name
	}
	return "/usr/bin/" + name
}

// chain returns a cron body that runs procs one after the other, each the
// child of the previous.
func chain(procs ...*proc) func(g *planner, h *host, r *rand.Rand, t int64, par pinfo, c sctx) {
	return func(g *planner, h *host, r *rand.Rand, t int64, par pinfo, c sctx) {
		p := par
		for _, s := range procs {
			t += 3 + r.Int64N(40)
			p = g.exec(h, t, s, p, c)
		}
	}
}
