package logins

import (
	"net"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/agent/source"
)

// The syslog header of auth.log: the traditional "Mar  3 10:15:01 host
// prog[pid]: message" and rsyslog's RFC 3339 form (Debian 12 and later).
var (
	headerRFC3339 = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (\S+) ([^\[: ]+)(?:\[(\d+)\])?: (.*)$`)
	headerBSD     = regexp.MustCompile(`^([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (\S+) ([^\[: ]+)(?:\[(\d+)\])?: (.*)$`)
)

// What sshd, PAM, sudo and su write (OpenSSH 9.8 and later log from
// sshd-session; the messages are the same).
var (
	sshAccepted    = regexp.MustCompile(`^Accepted (\S+) for (\S+) from (\S+) port (\d+)`)
	sshFailed      = regexp.MustCompile(`^Failed (\S+) for (invalid user )?(\S*) from (\S+) port (\d+)`)
	sshInvalidUser = regexp.MustCompile(`^Invalid user (\S*) from (\S+)(?: port (\d+))?`)
	pamOpened      = regexp.MustCompile(`^pam_unix\(([^:)]+):session\): session opened for user ([^\s(]+)(?:\(uid=\d+\))?(?: by (\S*))?`)
	pamClosed      = regexp.MustCompile(`^pam_unix\(([^:)]+):session\): session closed for user ([^\s(]+)`)
	sudoLine       = regexp.MustCompile(`^\s*(\S+) : (?:(.*?) ; )?TTY=(\S+) ; PWD=(.*?) ; USER=(\S+) ; (?:.* ; )?COMMAND=(.*)$`)
	suFailed       = regexp.MustCompile(`^FAILED SU \(to (\S+)\) (\S+) on (\S+)`)
)

// line is one parsed syslog line.
type line struct {
	t    time.Time
	host string
	prog string
	pid  int64
	msg  string
}

// parseHeader splits a syslog line; now and loc date the traditional
// form, which has no year or zone.
func parseHeader(s string, now time.Time, loc *time.Location) (line, bool) {
	if m := headerRFC3339.FindStringSubmatch(s); m != nil {
		t, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			return line{}, false
		}
		return line{t: t, host: m[2], prog: m[3], pid: atoi(m[4]), msg: m[5]}, true
	}
	if m := headerBSD.FindStringSubmatch(s); m != nil {
		t, err := time.ParseInLocation("Jan _2 15:04:05", m[1], loc)
		if err != nil {
			return line{}, false
		}
		t = t.AddDate(now.In(loc).Year(), 0, 0)
		if t.After(now.Add(24 * time.Hour)) { // December's lines read in January
			t = t.AddDate(-1, 0, 0)
		}
		return line{t: t, host: m[2], prog: m[3], pid: atoi(m[4]), msg: m[5]}, true
	}
	return line{}, false
}

// authEvent maps one syslog message to a login, logout or sudo event in
// the shape auditd's USER_AUTH, USER_LOGIN, USER_START, USER_END and
// USER_CMD take (internal/parse/auditd), so `spoor logins` and the
// brute-force rules read both alike: each password or key sshd refused is a
// user_auth with success false, an accepted one a user_login with success
// true. ok is false for lines that are not about logins.
func authEvent(l line) (source.Event, bool) {
	ev := source.Event{"event_time": l.t.UnixMilli(), "command": l.prog, "message": l.msg}
	if l.pid > 0 {
		ev["pid"] = l.pid
	}
	switch prog := l.prog; {
	case prog == "sshd" || strings.HasPrefix(prog, "sshd-"):
		if m := sshAccepted.FindStringSubmatch(l.msg); m != nil {
			login(ev, "user_login", true, m[2])
			ev["auth_method"] = m[1]
			remote(ev, m[3], m[4])
		} else if m := sshFailed.FindStringSubmatch(l.msg); m != nil {
			login(ev, "user_auth", false, m[3])
			ev["auth_method"] = m[1]
			if m[2] != "" {
				ev["invalid_user"] = true
			}
			remote(ev, m[4], m[5])
		} else if m := sshInvalidUser.FindStringSubmatch(l.msg); m != nil {
			// The Failed line that follows is the attempt; this one is
			// typed apart so it is not counted twice.
			login(ev, "invalid_user", false, m[1])
			ev["invalid_user"] = true
			remote(ev, m[2], m[3])
		} else if !pamSession(ev, l.msg) {
			return nil, false
		}
		ev["exe"] = "/usr/sbin/sshd"
		ev["tty"] = "ssh"
	case prog == "sudo":
		if pamSession(ev, l.msg) {
			break
		}
		m := sudoLine.FindStringSubmatch(l.msg)
		if m == nil {
			return nil, false
		}
		ev["user"], ev["tty"], ev["cwd"], ev["target_user"] = m[1], m[3], m[4], m[5]
		ev["exe"] = "/usr/bin/sudo"
		switch problem := m[2]; {
		case strings.Contains(problem, "incorrect password"):
			ev["event_type"], ev["type"], ev["success"] = "login", "user_auth", false
			ev["reason"] = problem
		case problem != "":
			ev["event_type"], ev["type"], ev["success"] = "audit", "user_cmd", false
			ev["reason"] = problem
			commandOf(ev, m[6])
		default:
			ev["event_type"], ev["type"], ev["success"] = "audit", "user_cmd", true
			commandOf(ev, m[6])
		}
	case prog == "su":
		if pamSession(ev, l.msg) {
			break
		}
		m := suFailed.FindStringSubmatch(l.msg)
		if m == nil {
			return nil, false
		}
		login(ev, "user_auth", false, m[2])
		ev["target_user"], ev["tty"] = m[1], m[3]
	default:
		if !pamSession(ev, l.msg) { // login, systemd-user, cron, ...
			return nil, false
		}
	}
	return ev, true
}

// pamSession fills ev from pam_unix's session opened/closed lines.
func pamSession(ev source.Event, msg string) bool {
	if m := pamOpened.FindStringSubmatch(msg); m != nil {
		login(ev, "user_start", true, m[2])
		ev["service"] = m[1]
		if by, _, _ := strings.Cut(m[3], "("); by != "" { // "alice(uid=1000)"
			ev["by_user"] = by
		}
		return true
	}
	if m := pamClosed.FindStringSubmatch(msg); m != nil {
		login(ev, "user_end", true, m[2])
		ev["event_type"] = "logout"
		ev["service"] = m[1]
		return true
	}
	return false
}

func login(ev source.Event, typ string, success bool, user string) {
	ev["event_type"], ev["type"], ev["success"] = "login", typ, success
	if user != "" {
		ev["user"] = user
	}
}

// remote sets the source address of an inbound logon (a host name, when
// sshd resolves names, is kept apart: src_ip holds addresses only).
func remote(ev source.Event, addr, port string) {
	if net.ParseIP(addr) == nil {
		if addr != "" {
			ev["src_host"] = addr
		}
		return
	}
	ev["src_ip"] = addr
	ev["direction"] = "inbound"
	if p, err := strconv.ParseUint(port, 10, 16); err == nil {
		ev["src_port"] = int64(p)
	}
}

// commandOf sets command, args and arguments of sudo's COMMAND= text (sudo
// joins the arguments with spaces, so that is where they are split).
func commandOf(ev source.Event, cmd string) {
	args := strings.Fields(cmd)
	if len(args) == 0 {
		return
	}
	ev["command"] = path.Base(args[0])
	ev["args"] = args
	ev["arguments"] = strings.Join(args, " ")
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
