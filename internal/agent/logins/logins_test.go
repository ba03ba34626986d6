package logins

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/agent/source"
)

var testNow = time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC)

func TestAuthLogLines(t *testing.T) {
	f := func(text string, want map[string]any) {
		t.Helper()
		l, ok := parseHeader(text, testNow, time.UTC)
		if !ok {
			t.Fatalf("header of %q not parsed", text)
		}
		ev, ok := authEvent(l)
		if want == nil {
			if ok {
				t.Errorf("%q: got %v, want no event", text, ev)
			}
			return
		}
		if !ok {
			t.Fatalf("%q: no event", text)
		}
		for k, v := range want {
			got := ev[k]
			if l, ok := got.([]string); ok {
				got = strings.Join(l, " ")
			}
			if got != v {
				t.Errorf("%q: %s = %#v, want %#v", text, k, ev[k], v)
			}
		}
	}
	march5 := time.Date(2024, 3, 5, 10, 15, 1, 0, time.UTC).UnixMilli()
	f("Mar  5 10:15:01 bastion sshd[4242]: Failed password for root from 198.51.100.7 port 52114 ssh2",
		map[string]any{"event_type": "login", "type": "user_auth", "success": false, "user": "root",
			"src_ip": "198.51.100.7", "src_port": int64(52114), "pid": int64(4242), "auth_method": "password",
			"event_time": march5, "exe": "/usr/sbin/sshd", "tty": "ssh", "direction": "inbound"})
	f("Mar  5 10:15:01 bastion sshd[4242]: Failed password for invalid user admin from 198.51.100.7 port 52114 ssh2",
		map[string]any{"type": "user_auth", "success": false, "user": "admin", "invalid_user": true})
	f("Mar  5 10:15:01 bastion sshd[4242]: Invalid user admin from 198.51.100.7 port 52114",
		map[string]any{"event_type": "login", "type": "invalid_user", "success": false, "user": "admin", "src_ip": "198.51.100.7"})
	f("2024-03-05T10:15:01.250000+00:00 bastion sshd-session[77]: Accepted publickey for ubuntu from 2001:db8::5 port 40000 ssh2: ED25519 SHA256:abc",
		map[string]any{"event_type": "login", "type": "user_login", "success": true, "user": "ubuntu",
			"src_ip": "2001:db8::5", "auth_method": "publickey", "event_time": march5 + 250, "command": "sshd-session"})
	f("Mar  5 10:15:01 bastion sshd[4242]: Failed publickey for git from 203.0.113.9 port 1 ssh2: RSA SHA256:x",
		map[string]any{"type": "user_auth", "success": false, "auth_method": "publickey", "user": "git"})
	f("Mar  5 10:15:01 bastion sshd[4242]: Accepted password for bob from gw.example.com port 22 ssh2",
		map[string]any{"type": "user_login", "src_ip": nil, "src_host": "gw.example.com"})
	f("Mar  5 10:15:01 bastion sshd[4242]: pam_unix(sshd:session): session opened for user ubuntu(uid=1000) by (uid=0)",
		map[string]any{"event_type": "login", "type": "user_start", "user": "ubuntu", "service": "sshd", "by_user": nil})
	f("Mar  5 10:15:01 bastion sshd[4242]: pam_unix(sshd:session): session closed for user ubuntu",
		map[string]any{"event_type": "logout", "type": "user_end", "user": "ubuntu"})
	f("Mar  5 10:15:01 bastion sudo:   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/su -",
		map[string]any{"event_type": "audit", "type": "user_cmd", "success": true, "user": "alice", "target_user": "root",
			"tty": "pts/0", "cwd": "/home/alice", "command": "su", "arguments": "/usr/bin/su -", "exe": "/usr/bin/sudo"})
	f("Mar  5 10:15:01 bastion sudo:   alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/sh",
		map[string]any{"event_type": "login", "type": "user_auth", "success": false, "user": "alice"})
	f("Mar  5 10:15:01 bastion sudo: pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
		map[string]any{"type": "user_start", "user": "root", "by_user": "alice", "service": "sudo"})
	f("Mar  5 10:15:01 bastion su[99]: FAILED SU (to root) alice on pts/1",
		map[string]any{"type": "user_auth", "success": false, "user": "alice", "target_user": "root"})
	f("Mar  5 10:15:01 bastion sshd[4242]: Connection closed by 198.51.100.7 port 52114 [preauth]", nil)
	f("Mar  5 10:15:01 bastion CRON[12]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
		map[string]any{"type": "user_start", "service": "cron"})
	f("Mar  5 10:15:01 bastion systemd-logind[1]: New session 5 of user alice.", nil)

	// A December line read in January belongs to the year before.
	l, _ := parseHeader("Dec 31 23:59:59 h sshd[1]: x", time.Date(2025, 1, 1, 0, 5, 0, 0, time.UTC), time.UTC)
	if l.t.Year() != 2024 {
		t.Errorf("year %d, want 2024", l.t.Year())
	}
}

// run starts a Source and returns its events channel and a stop function.
func run(t *testing.T, cfg Config) (*Source, chan source.Event, func()) {
	t.Helper()
	s := New(cfg)
	events := make(chan source.Event, 4096)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, func(e source.Event) { events <- e }) }()
	return s, events, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func take(t *testing.T, events chan source.Event, n int) []source.Event {
	t.Helper()
	var out []source.Event
	for len(out) < n {
		select {
		case e := <-events:
			out = append(out, e)
		case <-time.After(20 * time.Second):
			t.Fatalf("%d events within 20s, want %d: %v", len(out), n, out)
		}
	}
	return out
}

func failLine(i int) string {
	return fmt.Sprintf("Mar  5 10:15:%02d bastion sshd[%d]: Failed password for root from 198.51.100.7 port %d ssh2\n", i%60, 4000+i, 50000+i)
}

func appendTo(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// The follower reads every line once across an append, a partial line, a
// rotation (rename then a new file, with lines written to the old one
// after the last poll) and a restart.
func TestFollowAuthLog(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	authLog := filepath.Join(dir, "auth.log")
	appendTo(t, authLog, failLine(0)+failLine(1)+"Mar  5 10:15:02 bastion sshd[9]: Server listening on 0.0.0.0 port 22.\n")
	cfg := Config{AuthLog: authLog, Wtmp: Off, StateDir: state, Poll: 20 * time.Millisecond, Location: time.UTC,
		Now: func() time.Time { return testNow }}
	_, events, stop := run(t, cfg)
	seen := map[string]int{}
	ports := map[int64]bool{}
	record := func(evs []source.Event) {
		for _, e := range evs {
			seen[e["_id"].(string)]++
			ports[e["src_port"].(int64)] = true
		}
	}
	record(take(t, events, 2))
	appendTo(t, authLog, failLine(2)+"Mar  5 10:15:03 bastion sshd[1]: Failed pass") // unfinished line
	record(take(t, events, 1))
	appendTo(t, authLog, "word for root from 198.51.100.7 port 50003 ssh2\n")
	record(take(t, events, 1))
	stop()

	// While stopped: more lines, then the rotation, then lines in the new file.
	appendTo(t, authLog, failLine(4))
	if err := os.Rename(authLog, authLog+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, authLog, failLine(5)+failLine(6))
	_, events, stop = run(t, cfg)
	record(take(t, events, 3))
	stop()
	for id, n := range seen {
		if n != 1 {
			t.Errorf("_id %s seen %d times", id, n)
		}
	}
	for _, p := range []int64{50000, 50001, 50002, 50003, 50004, 50005, 50006} {
		if !ports[p] {
			t.Errorf("the attempt from port %d was not read", p)
		}
	}
	if len(ports) != 7 {
		t.Errorf("%d attempts, want 7", len(ports))
	}
	select {
	case e := <-events:
		t.Errorf("an extra event: %v", e)
	default:
	}
}

// utmpRecord builds a wtmp record as glibc writes it.
func utmpRecord(typ int16, pid int32, line, user, host string, sec int32, ip4 []byte) []byte {
	b := make([]byte, utmpSize)
	le := binary.LittleEndian
	le.PutUint16(b[0:], uint16(typ))
	le.PutUint32(b[4:], uint32(pid))
	copy(b[8:40], line)
	copy(b[44:76], user)
	copy(b[76:332], host)
	le.PutUint32(b[340:], uint32(sec))
	le.PutUint32(b[344:], 250000)
	copy(b[348:], ip4)
	return b
}

func TestWtmp(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	wtmp := filepath.Join(dir, "wtmp")
	var b []byte
	b = append(b, utmpRecord(utBootTime, 0, "~", "reboot", "6.1.0-18-amd64", 1709600000, nil)...)
	b = append(b, utmpRecord(utUserProcess, 811, "pts/0", "ubuntu", "198.51.100.7", 1709600100, []byte{198, 51, 100, 7})...)
	b = append(b, utmpRecord(utDeadProcess, 811, "pts/0", "", "", 1709600200, nil)...)
	b = append(b, utmpRecord(utUserProcess, 900, "tty1", "root", "", 1709600300, nil)...)
	b = append(b, make([]byte, 100)...) // a record being written
	if err := os.WriteFile(wtmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{AuthLog: Off, Journalctl: Off, Wtmp: wtmp, StateDir: state}
	_, events, stop := run(t, cfg)
	evs := take(t, events, 4)
	stop()
	want := []map[string]any{
		{"event_type": "host", "type": "boot", "kernel": "6.1.0-18-amd64", "event_time": int64(1709600000250)},
		{"event_type": "login", "type": "user_start", "user": "ubuntu", "src_ip": "198.51.100.7", "tty": "pts/0", "pid": int64(811)},
		{"event_type": "logout", "type": "user_end", "user": "ubuntu", "tty": "pts/0"},
		{"event_type": "login", "type": "user_start", "user": "root", "tty": "tty1", "src_ip": nil},
	}
	for i, w := range want {
		for k, v := range w {
			if evs[i][k] != v {
				t.Errorf("event %d: %s = %#v, want %#v (%v)", i, k, evs[i][k], v, evs[i])
			}
		}
	}
	// A restart reads only what was appended.
	f, _ := os.OpenFile(wtmp, os.O_WRONLY, 0)
	f.WriteAt(utmpRecord(utDeadProcess, 900, "tty1", "root", "", 1709600400, nil), int64(4*utmpSize))
	f.Close()
	_, events, stop = run(t, cfg)
	evs = take(t, events, 1)
	stop()
	if evs[0]["type"] != "user_end" || evs[0]["user"] != "root" {
		t.Errorf("after restart: %v", evs[0])
	}
	select {
	case e := <-events:
		t.Errorf("an extra event after restart: %v", e)
	default:
	}
}

// FuzzWtmp feeds wtmpEvents arbitrary bytes: no panic, whole records only.
func FuzzWtmp(f *testing.F) {
	f.Add(utmpRecord(utUserProcess, 1, "pts/0", "u", "10.0.0.1", 1709600100, nil))
	f.Add(append(utmpRecord(utBootTime, 0, "~", "reboot", "k", 1, nil), utmpRecord(utDeadProcess, 1, "pts/0", "", "", 2, nil)...))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		used := wtmpEvents(b, func(ev source.Event) {
			n++
			if _, ok := ev["_id"].(string); !ok {
				t.Fatalf("no _id: %v", ev)
			}
		})
		if used%utmpSize != 0 || used > len(b) || n > len(b)/utmpSize {
			t.Fatalf("used %d of %d bytes, %d events", used, len(b), n)
		}
	})
}

// The journal is read through journalctl's JSON output (a stand-in
// journalctl here) and its cursor is saved for the next start.
func TestJournal(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	out := filepath.Join(dir, "entries.json")
	entries := `{"__CURSOR":"s=1;i=1","__REALTIME_TIMESTAMP":"1709633701000000","SYSLOG_IDENTIFIER":"sshd","_PID":"4242","_HOSTNAME":"bastion","MESSAGE":"Failed password for root from 198.51.100.7 port 52114 ssh2"}
{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1709633702000000","SYSLOG_IDENTIFIER":"sshd","_PID":"4242","MESSAGE":[1,2,3]}
{"__CURSOR":"s=1;i=3","__REALTIME_TIMESTAMP":"1709633703000000","SYSLOG_IDENTIFIER":"sshd","_PID":"4243","MESSAGE":"Accepted password for root from 198.51.100.7 port 52115 ssh2"}
`
	if err := os.WriteFile(out, []byte(entries), 0o644); err != nil {
		t.Fatal(err)
	}
	args := filepath.Join(dir, "args")
	bin := filepath.Join(dir, "journalctl")
	script := "#!/bin/sh\necho \"$@\" >> " + args + "\ncat " + out + "\nexec sleep 30\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := Config{AuthLog: Off, Wtmp: Off, Journalctl: bin, StateDir: state, Poll: time.Millisecond}
	_, events, stop := run(t, cfg)
	evs := take(t, events, 2)
	stop()
	if evs[0]["type"] != "user_auth" || evs[0]["success"] != false || evs[0]["event_time"] != int64(1709633701000) ||
		evs[0]["log_source"] != "journald" || evs[1]["type"] != "user_login" {
		t.Errorf("events %v", evs)
	}
	if b, _ := os.ReadFile(filepath.Join(state, "logins-journal.cursor")); string(b) != "s=1;i=3" {
		t.Errorf("cursor %q, want s=1;i=3", b)
	}
	_, _, stop = run(t, cfg)
	// The second start asks for the entries after the cursor.
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(args)
		if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) == 2 {
			if !strings.Contains(lines[0], "--boot") || !strings.Contains(lines[1], "--after-cursor=s=1;i=3") {
				t.Errorf("journalctl arguments %q", lines)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("journalctl not started again: %q", b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
}
