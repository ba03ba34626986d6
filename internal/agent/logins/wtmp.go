package logins

import (
	"bytes"
	"encoding/binary"
	"net"

	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/parse"
)

// The glibc utmp record of 64-bit Linux (utmp(5)), as wtmp holds them one
// after the other:
//
//	off size
//	  0    2  ut_type (int16), 2 bytes padding
//	  4    4  ut_pid
//	  8   32  ut_line (tty, NUL padded)
//	 40    4  ut_id
//	 44   32  ut_user
//	 76  256  ut_host (remote host or address)
//	332    4  ut_exit (two int16)
//	336    4  ut_session
//	340    8  ut_tv (int32 seconds, int32 microseconds)
//	348   16  ut_addr_v6 (4 × int32, network order; IPv4 in the first)
//	364   20  reserved
const (
	utmpSize = 384

	utUserProcess = 7 // a login
	utDeadProcess = 8 // its end
	utBootTime    = 2
)

// maxWtmpRecords bounds one read of wtmp (a host's whole history is
// usually far smaller; a huge or hostile file is read from its end).
const maxWtmpRecords = 100000

// utmp is one decoded record.
type utmp struct {
	typ     int16
	pid     int32
	line    string
	user    string
	host    string
	session int32
	sec     int32
	usec    int32
	addr    [16]byte
}

func decodeUtmp(b []byte) utmp {
	le := binary.LittleEndian
	u := utmp{
		typ:     int16(le.Uint16(b[0:])),
		pid:     int32(le.Uint32(b[4:])),
		line:    cstring(b[8:40]),
		user:    cstring(b[44:76]),
		host:    cstring(b[76:332]),
		session: int32(le.Uint32(b[336:])),
		sec:     int32(le.Uint32(b[340:])),
		usec:    int32(le.Uint32(b[344:])),
	}
	copy(u.addr[:], b[348:364])
	return u
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}

// ip returns the record's remote address: ut_addr_v6 when set, else the
// host field when it is an address.
func (u *utmp) ip() string {
	var zero [16]byte
	if u.addr != zero {
		if bytes.Equal(u.addr[4:], zero[4:]) {
			return net.IP(u.addr[:4]).String()
		}
		return net.IP(u.addr[:]).String()
	}
	if ip := net.ParseIP(u.host); ip != nil {
		return ip.String()
	}
	return ""
}

// wtmpEvents maps wtmp's login and logout records to session events
// (user_start, user_end: the sessions, not authentication attempts, so
// they do not count again the logons auth.log reports) and boots to a
// host event. Whole records are read, a trailing partial one is left (it
// returns how many bytes it used).
func wtmpEvents(b []byte, emit func(source.Event)) int {
	n := len(b) / utmpSize
	// Users by tty, to name the user of a logout (DEAD_PROCESS records
	// often leave ut_user empty).
	users := map[string]string{}
	for i := 0; i < n; i++ {
		rec := b[i*utmpSize : (i+1)*utmpSize]
		u := decodeUtmp(rec)
		if u.sec <= 0 {
			continue
		}
		t := int64(u.sec)*1000 + int64(u.usec)/1000
		ev := source.Event{"event_time": t, "log_source": "wtmp"}
		switch u.typ {
		case utUserProcess:
			if u.user == "" {
				continue
			}
			users[u.line] = u.user
			ev["event_type"], ev["type"], ev["success"], ev["user"] = "login", "user_start", true, u.user
		case utDeadProcess:
			ev["event_type"], ev["type"], ev["success"] = "logout", "user_end", true
			user := u.user
			if user == "" {
				user = users[u.line]
			}
			if user != "" {
				ev["user"] = user
			}
			delete(users, u.line)
		case utBootTime:
			ev["event_type"], ev["type"] = "host", "boot"
			if u.host != "" {
				ev["kernel"] = u.host // wtmp's reboot record holds the kernel release
			}
		default:
			continue
		}
		if u.pid > 0 {
			ev["pid"] = int64(u.pid)
		}
		if u.line != "" && u.typ != utBootTime {
			ev["tty"] = u.line
		}
		if u.session != 0 {
			ev["session"] = int64(u.session)
		}
		if u.typ == utUserProcess {
			if ip := u.ip(); ip != "" {
				ev["src_ip"] = ip
				ev["direction"] = "inbound"
			} else if u.host != "" {
				ev["src_host"] = u.host
			}
		}
		// The record itself (time to the microsecond, pid, tty) is the
		// identity: read again after a restart, it dedupes.
		ev["_id"] = parse.HashID("wtmp", string(rec))
		emit(ev)
	}
	return n * utmpSize
}
