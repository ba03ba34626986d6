package gen

import (
	"math/rand/v2"
	"path"
	"strconv"
)

// renderer turns sorted specs into NDJSON. It owns every counter that must
// advance in time order: _id sequence, audit serials, record numbers.
type renderer struct {
	r       *rand.Rand
	counter uint64
	buf     []byte
	lab     []byte
	labels  bool
	stats   *Stats
	scen    map[string]int64
}

// appendID appends a version-1 UUID for the insert time ms: sub-ms ticks,
// backend node and clock sequence come from a global counter, which keeps
// ids unique for over a billion events sharing a millisecond pattern.
func (w *renderer) appendID(b []byte, ms int64) []byte {
	c := w.counter
	w.counter++
	sub := c % 10000
	c /= 10000
	node := c % uint64(len(backendNodes))
	c /= uint64(len(backendNodes))
	cs := uint16(0x2852+node*0x3a1) + uint16(c)
	return appendUUIDv1(b, ms, sub, cs, backendNodes[node])
}

// head appends the common keys and returns the _id's bounds in b.
func (w *renderer) head(b, hostHead []byte, t int64, et string) ([]byte, int, int) {
	ins := t + 250 + w.r.Int64N(3800)
	b = append(b, hostHead...)
	b = append(b, `,"_insert_time":`...)
	b = strconv.AppendInt(b, ins, 10)
	b = append(b, `,"_id":"`...)
	i := len(b)
	b = w.appendID(b, ins)
	j := len(b)
	b = append(b, `","timestamp":`...)
	b = strconv.AppendInt(b, t, 10)
	b = append(b, `,"event_time":`...)
	b = strconv.AppendInt(b, t, 10)
	b = append(b, `,"event_type":"`...)
	b = append(b, et...)
	b = append(b, '"')
	return b, i, j
}

func (w *renderer) ephemeral() int32 { return 32768 + w.r.Int32N(28231) }

// render appends one event line (and its label) for s.
func (w *renderer) render(s *spec) {
	b := w.buf
	start := len(b)
	var i, j int
	h := s.h
	var et string
	switch s.kind {
	case kAudit:
		et = "audit"
		b, i, j = w.head(b, h.head, s.t, et)
		b = append(b, s.p.frag...)
		b = kint(b, "auid", s.auid)
		if s.fail {
			b = kstr(b, "exit", s.s1)
		} else {
			b = append(b, `,"exit":"0"`...)
		}
		h.auditID += 1 + int64(w.r.IntN(40))
		h.seqID += 1 + w.r.Int64N(1<<20)
		b = append(b, `,"header":{"id":`...)
		b = strconv.AppendInt(b, h.auditID, 10)
		b = append(b, `,"milliseconds":`...)
		b = strconv.AppendInt(b, s.t%1000, 10)
		b = append(b, `,"timestamp":`...)
		b = strconv.AppendInt(b, s.t/1000, 10)
		b = append(b, `,"sequenceId":`...)
		b = strconv.AppendInt(b, h.seqID, 10)
		b = append(b, '}')
		b = kint(b, "pid", int64(s.pid))
		b = kint(b, "ppid", int64(s.ppid))
		b = kint(b, "session", s.sess)
		b = kbool(b, "success", !s.fail)
		if s.tty != "" {
			b = kstr(b, "tty", s.tty)
		}
		b = append(b, h.meta...)
		b = append(b, `,"parent_metadata":{"exe":`...)
		b = str(b, s.pexe)
		b = append(b, `,"pid":`...)
		b = strconv.AppendInt(b, int64(s.ppid), 10)
		b = append(b, `,"timestamp":`...)
		ps := s.pstart
		if ps == 0 {
			ps = h.boot
		}
		b = strconv.AppendInt(b, ps, 10)
		b = append(b, '}')
		b = append(b, h.work...)
	case kLogin, kLogout:
		et = "login"
		if s.kind == kLogout {
			et = "logout"
		}
		b, i, j = w.head(b, h.head, s.t, et)
		b = kint(b, "auid", s.u.uid)
		b = kstr(b, "exe", "/usr/sbin/sshd")
		b = kint(b, "pid", int64(s.pid))
		b = kint(b, "session", s.sess)
		b = kstr(b, "src_ip", s.sip)
		if s.kind == kLogin {
			b = kint(b, "src_port", int64(s.sport))
		}
		b = kbool(b, "success", !s.fail)
		if s.tty != "" {
			b = kstr(b, "terminal", "/dev/"+s.tty)
			b = kstr(b, "tty", s.tty)
		} else {
			b = kstr(b, "terminal", "ssh")
		}
		b = kint(b, "uid", s.u.uid)
		b = kstr(b, "user", s.u.name)
		b = kstr(b, "acct", s.u.name)
		b = append(b, h.meta...)
		b = append(b, h.work...)
	case kNetwork:
		et = "network"
		b, i, j = w.head(b, h.head, s.t, et)
		dir := "outbound"
		if s.in {
			dir = "inbound"
		}
		b = kstr(b, "direction", dir)
		b = kstr(b, "dst_ip", s.dip)
		b = kint(b, "dst_port", int64(s.dport))
		b = kstr(b, "exe", s.pexe)
		b = kint(b, "pid", int64(s.pid))
		if s.udp {
			b = append(b, `,"protocol":"udp"`...)
		} else {
			b = append(b, `,"protocol":"tcp"`...)
		}
		b = kstr(b, "src_ip", s.sip)
		sp := s.sport
		if sp == 0 {
			sp = w.ephemeral()
		}
		b = kint(b, "src_port", int64(sp))
		b = kint(b, "uid", s.u.uid)
		b = kstr(b, "user", s.u.name)
		b = append(b, h.meta...)
		b = append(b, h.work...)
	case kFile:
		et = "file"
		b, i, j = w.head(b, h.head, s.t, et)
		b = kstr(b, "action", s.s2)
		b = kstr(b, "exe", s.pexe)
		b = kstr(b, "filename", path.Base(s.s1))
		b = klist(b, "path", []string{s.s1})
		b = kint(b, "pid", int64(s.pid))
		b = kint(b, "uid", s.u.uid)
		b = kstr(b, "user", s.u.name)
		b = append(b, h.meta...)
		b = append(b, h.work...)
	case kWinsec, kSysmon:
		b, i, j, et = w.renderWin(b, s)
	case kCloudTrail:
		b, i, j = w.renderCloudTrail(b, s)
		et = "cloudtrail"
	}
	b = append(b, '\n')
	w.buf = b
	w.stats.Events++
	w.stats.Bytes += int64(len(b) - start)
	if s.lbl != nil {
		w.stats.ScenarioEvents++
		w.scen[s.lbl.scenario]++
		if w.labels {
			l := append(w.lab, `{"_id":"`...)
			l = append(l, b[i:j]...)
			l = append(l, `","scenario":`...)
			l = str(l, s.lbl.scenario)
			l = append(l, `,"step":`...)
			l = str(l, s.lbl.step)
			agent, hostname := "", ""
			if h != nil {
				agent, hostname = h.agentID, h.hostname
			} else if s.ct != nil {
				agent = s.ct.acct.agentID
			}
			l = append(l, `,"agent_id":`...)
			l = str(l, agent)
			l = append(l, `,"hostname":`...)
			l = str(l, hostname)
			l = append(l, `,"event_time":`...)
			l = strconv.AppendInt(l, s.t, 10)
			l = append(l, `,"event_type":"`...)
			l = append(l, et...)
			l = append(l, "\"}\n"...)
			w.lab = l
		}
	}
}
