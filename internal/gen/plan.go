package gen

import (
	"path"
	"strings"
)

// kind is the renderer of a spec.
type kind uint8

const (
	kAudit kind = iota + 1
	kLogin
	kLogout
	kNetwork
	kFile
	kWinsec
	kSysmon
	kCloudTrail
)

// label marks a scenario event.
type label struct {
	scenario string
	step     string
}

// luser is a Linux account.
type luser struct {
	name, group string
	uid, gid    int64
	home        string
}

var (
	uRoot      = &luser{"root", "root", 0, 0, "/root"}
	uChrony    = &luser{"chrony", "chrony", 996, 994, "/var/lib/chrony"}
	uTimesync  = &luser{"systemd-timesync", "systemd-timesync", 100, 102, "/run/systemd"}
	uResolve   = &luser{"systemd-resolve", "systemd-resolve", 101, 103, "/run/systemd"}
	uWWW       = &luser{"www-data", "www-data", 33, 33, "/var/www"}
	uPostgres  = &luser{"postgres", "postgres", 112, 117, "/var/lib/postgresql"}
	uDeploy    = &luser{"deploy", "deploy", 1100, 1100, "/home/deploy"}
	uUbuntu    = &luser{"ubuntu", "ubuntu", 1000, 1000, "/home/ubuntu"}
	uEC2User   = &luser{"ec2-user", "ec2-user", 1000, 1000, "/home/ec2-user"}
	uRedis     = &luser{"redis", "redis", 113, 118, "/var/lib/redis"}
	uJenkins   = &luser{"jenkins", "jenkins", 1200, 1200, "/var/lib/jenkins"}
	noSession  = int64(4294967295)
	noAUID     = int64(4294967295)
	daemonCtx  = sctx{auid: noAUID, sess: noSession}
	systemdPar = pinfo{pid: 1, exe: "/lib/systemd/systemd"}
)

// sctx is the login context of a process: audit uid, session and tty.
type sctx struct {
	auid int64
	sess int64
	tty  string
	sshd int32 // the session's sshd process, 0 when none
}

// pinfo is a running process, the parent of what it starts.
type pinfo struct {
	pid   int32
	exe   string
	start int64
	user  *luser
}

// proc is a process template: everything about an exec that does not change
// from one run to the next, with its JSON pre-rendered.
type proc struct {
	exe, command string
	args         []string
	arguments    string
	cwd          string
	u            *luser
	syscall, typ string
	ctr          *container
	frag         []byte
}

// newProc makes an execve template. exe is the binary, args the argv.
func newProc(exe string, args []string, cwd string, u *luser) *proc {
	return newProcC(exe, args, cwd, u, nil)
}

func newProcC(exe string, args []string, cwd string, u *luser, ctr *container) *proc {
	cmd := path.Base(exe)
	if len(args) > 0 {
		cmd = path.Base(args[0])
	}
	if len(cmd) > 15 {
		cmd = cmd[:15]
	}
	p := &proc{exe: exe, command: cmd, args: args, arguments: strings.Join(args, " "), cwd: cwd, u: u, syscall: "execve", typ: "start", ctr: ctr}
	p.render()
	return p
}

// newSyscall makes a template of a non-exec syscall by a daemon.
func newSyscall(exe string, args []string, u *luser, syscall string) *proc {
	p := &proc{exe: exe, command: path.Base(exe), args: args, arguments: strings.Join(args, " "), u: u, syscall: syscall, typ: syscall}
	p.render()
	return p
}

func (p *proc) render() {
	b := klist(nil, "args", p.args)
	b = kstr(b, "arguments", p.arguments)
	b = kstr(b, "command", p.command)
	if p.ctr != nil {
		b = kstr(b, "containerId", p.ctr.id)
		b = kstr(b, "containerImage", p.ctr.image)
	}
	if p.cwd != "" {
		b = kstr(b, "cwd", p.cwd)
	}
	b = kstr(b, "exe", p.exe)
	b = kint(b, "gid", p.u.gid)
	b = kstr(b, "group", p.u.group)
	if p.syscall == "execve" {
		b = klist(b, "path", []string{p.exe})
	} else {
		b = append(b, `,"path":[]`...)
	}
	b = kstr(b, "syscall", p.syscall)
	b = kstr(b, "type", p.typ)
	b = kint(b, "uid", p.u.uid)
	b = kstr(b, "user", p.u.name)
	p.frag = b
}

// spec is one planned event. Plans are sorted by time, then rendered; all
// per-host counters (record numbers, audit serials) advance at render time.
type spec struct {
	t      int64
	kind   kind
	fail   bool
	udp    bool
	in     bool
	h      *host
	lbl    *label
	p      *proc
	pid    int32
	ppid   int32
	auid   int64
	sess   int64
	tty    string
	pexe   string
	pstart int64
	sip    string
	dip    string
	sport  int32
	dport  int32
	u      *luser
	s1, s2 string
	n1, n2 int64
	wu     *winUser
	ct     *ctEv
}

// planner collects the specs of one hour.
type planner struct {
	specs   []spec
	carry   []spec
	start   int64 // hour start
	end     int64 // hour end
	winEnd  int64
	lbl     *label
	n       int // specs emitted for the current host-hour
	dropped int
}

func (g *planner) add(s spec) {
	if s.h != nil && s.t < s.h.since || s.t >= g.winEnd {
		g.dropped++
		return
	}
	if s.lbl == nil {
		s.lbl = g.lbl
	}
	g.n++
	if s.t >= g.end {
		g.carry = append(g.carry, s)
		return
	}
	if s.t < g.start {
		s.t = g.start
	}
	g.specs = append(g.specs, s)
}

// newPID allocates the host's next pid; pids wrap like pid_max 32768.
func (h *host) newPID(n int32) int32 {
	h.nextPID += n
	if h.nextPID >= 32768 {
		h.nextPID = 300 + h.nextPID%32768
	}
	return h.nextPID
}

// exec plans an execve of p at t by parent par; it returns the new process.
func (g *planner) exec(h *host, t int64, p *proc, par pinfo, c sctx) pinfo {
	pid := h.newPID(1 + int32(t%3))
	g.add(spec{t: t, kind: kAudit, h: h, p: p, pid: pid, ppid: par.pid, auid: c.auid, sess: c.sess, tty: c.tty, pexe: par.exe, pstart: par.start})
	return pinfo{pid: pid, exe: p.exe, start: t, user: p.u}
}

// sys plans a non-exec syscall by a running process.
func (g *planner) sys(h *host, t int64, p *proc, self pinfo, ppid int32, par pinfo) {
	g.add(spec{t: t, kind: kAudit, h: h, p: p, pid: self.pid, ppid: ppid, auid: noAUID, sess: noSession, pexe: par.exe, pstart: par.start})
}

// conn plans a network connection by process pr.
func (g *planner) conn(h *host, t int64, pr pinfo, sip string, sport int32, dip string, dport int32, udp, inbound bool) {
	u := pr.user
	if u == nil {
		u = uRoot
	}
	g.add(spec{t: t, kind: kNetwork, h: h, pid: pr.pid, pexe: pr.exe, u: u, sip: sip, sport: sport, dip: dip, dport: dport, udp: udp, in: inbound})
}

// fim plans a file integrity event.
func (g *planner) fim(h *host, t int64, pr pinfo, file, action string) {
	u := pr.user
	if u == nil {
		u = uRoot
	}
	g.add(spec{t: t, kind: kFile, h: h, pid: pr.pid, pexe: pr.exe, u: u, s1: file, s2: action})
}

// login plans an sshd login (or a failed one) and returns its session.
func (g *planner) login(h *host, t int64, u *luser, src string, sport int32, ok bool, tty string) sctx {
	pid := h.newPID(2)
	s := spec{t: t, kind: kLogin, h: h, u: u, sip: src, sport: sport, pid: pid, fail: !ok, tty: tty}
	c := sctx{auid: u.uid, sess: noSession, tty: tty, sshd: pid}
	if ok {
		h.nextSess++
		c.sess = h.nextSess
		s.sess = c.sess
	} else {
		s.sess = noSession
		s.tty = ""
	}
	g.add(s)
	return c
}

// logout plans the end of a login session.
func (g *planner) logout(h *host, t int64, u *luser, src string, c sctx) {
	g.add(spec{t: t, kind: kLogout, h: h, u: u, sip: src, pid: c.sshd, sess: c.sess, tty: c.tty})
}

// newSession opens an audit session without a login event (cron, su).
func (h *host) newSession(u *luser) sctx {
	h.nextSess++
	return sctx{auid: u.uid, sess: h.nextSess}
}
