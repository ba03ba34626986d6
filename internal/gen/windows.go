package gen

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// winUser is a Windows security principal.
type winUser struct {
	name, domain, sid string
}

type winProc struct {
	p      *proc
	parent string
	weight float64
}

func winProcT(exe, line string) *proc {
	base := exe[strings.LastIndexByte(exe, '\\')+1:]
	return &proc{exe: exe, command: base, arguments: line}
}

const (
	sysmonChannel = "Microsoft-Windows-Sysmon/Operational"
	winSys32      = `C:\Windows\System32\`
)

var winSystemProcs = []winProc{
	{winProcT(winSys32+"taskhostw.exe", `taskhostw.exe SYSTEM`), winSys32 + "svchost.exe", 3},
	{winProcT(winSys32+"wsqmcons.exe", `C:\Windows\system32\wsqmcons.exe`), winSys32 + "svchost.exe", 1},
	{winProcT(winSys32+"conhost.exe", `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`), winSys32 + "cmd.exe", 3},
	{winProcT(winSys32+"wbem\\WmiPrvSE.exe", `C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding`), winSys32 + "svchost.exe", 2},
	{winProcT(winSys32+"sppsvc.exe", `C:\Windows\system32\sppsvc.exe`), winSys32 + "services.exe", 1},
	{winProcT(`C:\Program Files\Amazon\SSM\ssm-document-worker.exe`, `"C:\Program Files\Amazon\SSM\ssm-document-worker.exe" "aws:runPowerShellScript"`), `C:\Program Files\Amazon\SSM\amazon-ssm-agent.exe`, 1},
	{winProcT(winSys32+`WindowsPowerShell\v1.0\powershell.exe`, `"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -File C:\ProgramData\Amazon\EC2-Windows\Launch\Module\Scripts\SendEventLogs.ps1`), winSys32 + "svchost.exe", 1},
	{winProcT(`C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.2001.10-0\MpCmdRun.exe`, `"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.2001.10-0\MpCmdRun.exe" SignatureUpdate -ScheduleJob -RestrictPrivileges`), winSys32 + "svchost.exe", 0.5},
	{winProcT(winSys32+"cmd.exe", `C:\Windows\system32\cmd.exe /c "C:\Program Files\Amazon\AmazonCloudWatchAgent\amazon-cloudwatch-agent-ctl.ps1" -a status`), `C:\Program Files\Amazon\SSM\ssm-document-worker.exe`, 1},
	{winProcT(winSys32+"svchost.exe", `C:\Windows\system32\svchost.exe -k netsvcs -p -s BITS`), winSys32 + "services.exe", 0.5},
	{winProcT(winSys32+"backgroundTaskHost.exe", `"C:\Windows\system32\backgroundTaskHost.exe" -ServerName:BackgroundTaskHost.WebAccountBackgroundTask`), winSys32 + "svchost.exe", 0.5},
}

var winAdminTools = []*proc{
	winProcT(winSys32+"rdpclip.exe", `rdpclip`),
	winProcT(`C:\Windows\explorer.exe`, `C:\Windows\Explorer.EXE`),
	winProcT(winSys32+"mmc.exe", `"C:\Windows\system32\mmc.exe" "C:\Windows\system32\services.msc"`),
	winProcT(winSys32+`WindowsPowerShell\v1.0\powershell.exe`, `"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"`),
	winProcT(winSys32+"eventvwr.exe", `"C:\Windows\system32\eventvwr.exe"`),
	winProcT(winSys32+"notepad.exe", `"C:\Windows\system32\notepad.exe" C:\inetpub\wwwroot\web.config`),
	winProcT(winSys32+"Taskmgr.exe", `"C:\Windows\system32\taskmgr.exe" /4`),
	winProcT(winSys32+"ServerManager.exe", `"C:\Windows\system32\ServerManager.exe"`),
}

var (
	wSystem  = &winUser{"SYSTEM", "NT AUTHORITY", "S-1-5-18"}
	wNetSvc  = &winUser{"NETWORK SERVICE", "NT AUTHORITY", "S-1-5-20"}
	wAppPool = &winUser{"DefaultAppPool", "IIS APPPOOL", "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415"}
)

func winSubtype(id int64) (string, string) {
	switch id {
	case 4624:
		return "Logon", "An account was successfully logged on."
	case 4625:
		return "Logon Failure", "An account failed to log on."
	case 4634:
		return "Logoff", "An account was logged off."
	case 4672:
		return "Special Logon", "Special privileges assigned to new logon."
	case 4688:
		return "Process Creation", "A new process has been created."
	case 4689:
		return "Process Termination", "A process has exited."
	case 1:
		return "Process Create", "Process Create:"
	case 3:
		return "Network connection detected", "Network connection detected:"
	case 11:
		return "File created", "File created:"
	}
	return "Other", ""
}

// machineUser is the host's machine account (SYSTEM seen from the network).
func (h *host) machineUser() *winUser {
	return &winUser{h.compName + "$", "WORKGROUP", "S-1-5-18"}
}

func (h *host) adminUser(name string) *winUser {
	rid := 500
	if name != "Administrator" {
		rid = 1000 + len(name)
	}
	return &winUser{name, h.compName, "S-1-5-21-" + strconv.FormatUint(mix(uint64(h.idx))%4000000000, 10) + "-" + strconv.FormatUint(mix(uint64(h.idx)+1)%4000000000, 10) + "-" + strconv.FormatUint(mix(uint64(h.idx)+2)%4000000000, 10) + "-" + strconv.Itoa(rid)}
}

func (h *host) winPID() int32 {
	h.nextPID += 4 * (1 + int32(h.nextPID%7))
	if h.nextPID > 65000 {
		h.nextPID = 600 + h.nextPID%4096
	}
	return h.nextPID &^ 3
}

// winProcess plans 4688 + Sysmon 1 and, after dur ms, 4689.
func (g *planner) winProcess(h *host, t int64, p *proc, parent string, ppid int32, u *winUser, logon int64, dur int64) int32 {
	pid := h.winPID()
	g.add(spec{t: t, kind: kWinsec, h: h, n1: 4688, p: p, pid: pid, ppid: ppid, pexe: parent, wu: u, sess: logon})
	g.add(spec{t: t + 3, kind: kSysmon, h: h, n1: 1, p: p, pid: pid, ppid: ppid, pexe: parent, wu: u, sess: logon})
	if dur > 0 {
		g.add(spec{t: t + dur, kind: kWinsec, h: h, n1: 4689, p: p, pid: pid, wu: u, sess: logon})
	}
	return pid
}

// winLogon plans 4624 (+4672 for privileged accounts).
func (g *planner) winLogon(h *host, t int64, u *winUser, logonType int64, src string, priv bool) int64 {
	h.logonID += 1 + int64(t%97)
	id := h.logonID
	g.add(spec{t: t, kind: kWinsec, h: h, n1: 4624, n2: logonType, wu: u, sess: id, sip: src, sport: int32(49152 + t%16000), pid: 640 + int32(h.idx%4)*4, pexe: winSys32 + "lsass.exe"})
	if priv {
		g.add(spec{t: t, kind: kWinsec, h: h, n1: 4672, wu: u, sess: id, pid: 640 + int32(h.idx%4)*4, pexe: winSys32 + "lsass.exe"})
	}
	return id
}

func (g *planner) winLogoff(h *host, t int64, u *winUser, id, logonType int64) {
	g.add(spec{t: t, kind: kWinsec, h: h, n1: 4634, n2: logonType, wu: u, sess: id})
}

func (g *planner) winConn(h *host, t int64, exe string, pid int32, u *winUser, dip string, dport int32, in bool, src string) {
	g.add(spec{t: t, kind: kSysmon, h: h, n1: 3, pexe: exe, pid: pid, wu: u, sip: src, dip: dip, dport: dport, in: in})
}

// planWindowsHour plans one hour of a Windows host.
func (h *host) planWindowsHour(g *planner, r *rand.Rand, hs int64, target float64) {
	o := h.org
	hod := hourOfDay(hs)
	work := workFactor(hs)
	// admin RDP sessions
	if r.Float64() < 0.12*work {
		t := hs + r.Int64N(3000000)
		who := h.adminUser(pick(r, []string{"Administrator", o.admins[0].name, o.admins[1].name}))
		id := g.winLogon(h, t, who, 10, o.bastion, true)
		g.winProcess(h, t+800, winAdminTools[0], winSys32+"svchost.exe", 1100, who, id, 0)
		exp := g.winProcess(h, t+1500, winAdminTools[1], winSys32+"userinit.exe", h.winPID(), who, id, 0)
		for k := 0; k < 1+r.IntN(3); k++ {
			t += 20000 + r.Int64N(300000)
			g.winProcess(h, t, winAdminTools[2+r.IntN(len(winAdminTools)-2)], `C:\Windows\explorer.exe`, exp, who, id, 5000+r.Int64N(200000))
		}
		g.winLogoff(h, t+60000+r.Int64N(600000), who, id, 10)
	}
	// brute force against public RDP
	if h.publicIP != "" {
		for k := r.IntN(3); k > 0; k-- {
			src := pick(r, o.scanners)
			t := hs + r.Int64N(3600000)
			for a := 0; a < 1+r.IntN(4); a++ {
				g.add(spec{t: t + int64(a)*900, kind: kWinsec, h: h, n1: 4625, n2: 3, fail: true, wu: &winUser{pick(r, []string{"ADMINISTRATOR", "admin", "user", "test", "scanner"}), "", "S-1-0-0"}, sip: src, sport: int32(1024 + r.IntN(60000)), pid: 0, pexe: "-"})
			}
		}
	}
	// daily Windows Update / Defender at the host's hour
	if hod == 3+h.idx%3 {
		t := hs + int64(h.idx%50)*60000
		g.winProcess(h, t, winProcT(winSys32+"wuauclt.exe", `"C:\Windows\system32\wuauclt.exe" /RunHandlerComServer`), winSys32+"svchost.exe", 1060, wSystem, 999, 40000)
		g.winConn(h, t+2000, winSys32+"svchost.exe", 1060, wNetSvc, "13.107.4.50", 443, false, h.privateIP)
		g.winProcess(h, t+60000, winProcT(winSys32+"TiWorker.exe", `C:\Windows\winsxs\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.14393.3380_none_7f5a4a8ad9bba1f5\TiWorker.exe -Embedding`), winSys32+"svchost.exe", 1060, wSystem, 999, 600000)
	}
	for float64(g.n) < target {
		x := r.Float64() * 10
		t := hs + r.Int64N(3600000)
		switch {
		case x < 4:
			wp := pickWeighted(r, winSystemProcs)
			g.winProcess(h, t, wp.p, wp.parent, 700+int32(h.idx%9)*4, h.machineUser(), 999, 200+r.Int64N(30000))
		case x < 6.5:
			switch h.role {
			case "iis":
				g.winConn(h, t, `c:\windows\system32\inetsrv\w3wp.exe`, 3312, wAppPool, h.privateIP, 443, true, pick(r, o.peers.alb))
			case "dc":
				dst := pick(r, o.hosts).privateIP
				g.winConn(h, t, winSys32+"lsass.exe", 640, wSystem, dst, 49668, false, h.privateIP)
			default:
				dst, port := "52.94.227."+strconv.Itoa(10+r.IntN(200)), int32(443)
				if r.IntN(3) == 0 {
					dst = o.peers.resolver
					port = 53
				}
				g.winConn(h, t, `C:\Program Files\Amazon\SSM\amazon-ssm-agent.exe`, 2484, wSystem, dst, port, false, h.privateIP)
			}
		case x < 8.5:
			if h.role == "dc" {
				peer := pick(r, o.hosts)
				u := &winUser{strings.ToUpper(strings.SplitN(peer.hostname, ".", 2)[0]) + "$", "CORP", "S-1-5-21-1004336348-1177238915-682003330-1104"}
				id := g.winLogon(h, t, u, 3, peer.privateIP, false)
				g.winLogoff(h, t+50+r.Int64N(4000), u, id, 3)
			} else {
				g.winLogon(h, t, wSystem, 5, "-", true)
			}
		default:
			g.winConn(h, t, winSys32+"svchost.exe", 1060, wNetSvc, o.peers.resolver, 53, false, h.privateIP)
		}
	}
}

func pickWeighted(r *rand.Rand, l []winProc) winProc {
	var sum float64
	for _, p := range l {
		sum += p.weight
	}
	x := r.Float64() * sum
	for _, p := range l {
		x -= p.weight
		if x < 0 {
			return p
		}
	}
	return l[len(l)-1]
}

// renderWin renders winsec and sysmon events.
func (w *renderer) renderWin(b []byte, s *spec) ([]byte, int, int, string) {
	h := s.h
	et := "winsec"
	if s.kind == kSysmon {
		et = "sysmon"
	}
	var i, j int
	b, i, j = w.head(b, h.head, s.t, et)
	subtype, summary := winSubtype(s.n1)
	u := s.wu
	if u == nil {
		u = wSystem
	}
	if s.kind == kSysmon {
		b = kstr(b, "channel", sysmonChannel)
		h.recSys++
		b = kint(b, "record_number", h.recSys)
	} else {
		b = kstr(b, "channel", "Security")
		h.recSec += 1 + int64(w.r.IntN(3))
		b = kint(b, "record_number", h.recSec)
	}
	b = kstr(b, "domain", u.domain)
	exe := s.pexe
	if s.p != nil {
		exe = s.p.exe
	}
	if exe != "" {
		b = kstr(b, "exe", exe)
	}
	b = kint(b, "pid", int64(s.pid))
	b = kint(b, "session", s.sess)
	if s.fail {
		b = append(b, `,"status":"0xc000006d","sub_status":"0xc0000064"`...)
	} else {
		b = append(b, `,"status":"0x0"`...)
	}
	b = kstr(b, "_subtype", subtype)
	b = kstr(b, "summary", summary)
	b = kstr(b, "user", u.name)
	b = kint(b, "win_event_id", s.n1)
	b = kstr(b, "sid", u.sid)
	switch {
	case s.kind == kWinsec && (s.n1 == 4624 || s.n1 == 4625):
		b = kint(b, "logon_type", s.n2)
		b = kstr(b, "src_ip", s.sip)
		if s.sport != 0 {
			b = kint(b, "src_port", int64(s.sport))
		}
		b = kstr(b, "workstation", strings.SplitN(h.compName, ".", 2)[0])
		if s.n2 == 3 && s.n1 == 4624 {
			b = append(b, `,"auth_package":"Kerberos","logon_process":"Kerberos"`...)
		} else {
			b = append(b, `,"auth_package":"Negotiate","logon_process":"User32"`...)
		}
	case s.kind == kWinsec && s.n1 == 4634:
		b = kint(b, "logon_type", s.n2)
	case s.kind == kWinsec && s.n1 == 4688:
		b = kstr(b, "arguments", s.p.arguments)
		b = kstr(b, "parent_exe", s.pexe)
		b = kint(b, "ppid", int64(s.ppid))
		b = append(b, `,"token_elevation":"%%1936"`...)
	case s.kind == kSysmon && s.n1 == 1:
		b = kstr(b, "arguments", s.p.arguments)
		b = kstr(b, "parent_exe", s.pexe)
		b = kint(b, "ppid", int64(s.ppid))
		b = kstr(b, "cwd", `C:\Windows\system32\`)
		b = append(b, `,"ProcessGuid":"`...)
		b = w.appendGUID(b, h, s.pid, s.t)
		b = append(b, `","ParentProcessGuid":"`...)
		b = w.appendGUID(b, h, s.ppid, h.boot)
		b = append(b, `","IntegrityLevel":"System","Hashes":"SHA256=`...)
		b = appendHex(b, mix(uint64(len(s.p.arguments))*31+uint64(len(s.p.exe))), 16)
		b = appendHex(b, mix(uint64(len(s.p.exe))), 16)
		b = appendHex(b, mix(uint64(s.p.exe[len(s.p.exe)-5])), 16)
		b = appendHex(b, mix(uint64(s.p.arguments[0])), 16)
		b = append(b, `","LogonId":"0x`...)
		b = strconv.AppendInt(b, s.sess, 16)
		b = append(b, '"')
	case s.kind == kSysmon && s.n1 == 3:
		dir := "outbound"
		src, dst := s.sip, s.dip
		sport, dport := w.ephemeral(), s.dport
		if s.in {
			dir = "inbound"
			src, dst = s.dip, s.sip
			sport, dport = s.dport, w.ephemeral()
		}
		b = kstr(b, "direction", dir)
		b = kstr(b, "dst_ip", dst)
		b = kint(b, "dst_port", int64(dport))
		b = append(b, `,"protocol":"`...)
		if s.dport == 53 {
			b = append(b, `udp"`...)
		} else {
			b = append(b, `tcp"`...)
		}
		b = kstr(b, "src_ip", src)
		b = kint(b, "src_port", int64(sport))
		b = kbool(b, "Initiated", !s.in)
	}
	b = append(b, h.meta...)
	b = append(b, h.work...)
	return b, i, j, et
}

func (w *renderer) appendGUID(b []byte, h *host, pid int32, t int64) []byte {
	b = append(b, '{')
	b = appendHex(b, mix(uint64(h.idx))&0xffffffff, 8)
	b = append(b, '-')
	b = appendHex(b, uint64(t/1000)&0xffff, 4)
	b = append(b, '-')
	b = appendHex(b, uint64(t/65536000)&0xffff, 4)
	b = append(b, '-')
	b = appendHex(b, uint64(pid)&0xffff, 4)
	b = append(b, '-')
	b = appendHex(b, uint64(t)&0xffffffffffff, 12)
	return append(b, '}')
}
