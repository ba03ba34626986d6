package cluster

import "testing"

func TestPattern(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"/usr/sbin/chronyd", "/usr/sbin/chronyd"},
		{"/usr/bin/python3.6 -m app", "/usr/bin/python3.6 -m app"},
		{"gcc -march=x86_64 foo.c", "gcc -march=x86_64 foo.c"},
		{"sleep 3600", "sleep <num>"},
		{"kill -9 4242", "kill -<num> <num>"},
		{"cat /proc/1234/status", "cat /proc/<num>/status"},
		{"ping -c 3 10.0.1.65", "ping -c <num> <ip>"},
		{"curl http://169.254.169.254/latest/meta-data/", "curl http://<ip>/latest/meta-data/"},
		{"ssh -p 2222 root@192.168.0.10", "ssh -p <num> root@<ip>"},
		{"nmap -sT -p 22,80,443 10.0.1.0/24", "nmap -sT -p <num>,<num>,<num> <ip>/<num>"},
		{"connect fe80::1ff:fe23:4567:890a port 22", "connect <ip> port <num>"},
		{"dig @2001:db8::1 example.com", "dig @<ip> example.com"},
		{"date +%H:%M:%S", "date +%H:%M:%S"},
		{"docker rm 1c9e2f0a-4b5d-4e6f-8a9b-0c1d2e3f4a5b", "docker rm <uuid>"},
		{"agent 436DD34C-F795-11EA-A752-21E3E3EB7C50 up", "agent <uuid> up"},
		{"sha256sum e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256sum <hex>"},
		{"mov 0xdeadbeef", "mov <hex>"},
		{"echo deadbeefcafe", "echo deadbeefcafe"},
		{"rm -f /tmp/tmp.Xk3Jd9QaZp", "rm -f /tmp/tmp.<rand>"},
		{"rm -f /tmp/tmp.abcdefghij", "rm -f /tmp/tmp.<rand>"},
		{"python /tmp/tmpk3j_x9a2/run.py", "python /tmp/tmp<rand>/run.py"},
		{"systemd-tmpfiles --clean", "systemd-tmpfiles --clean"},
		{"/tmp/EXCITED_WHILE", "/tmp/EXCITED_WHILE"},
		{"tar xzf backup-2020-02-14.tgz", "tar xzf backup-<num>-<num>-<num>.tgz"},
		{"logrotate /etc/logrotate.conf", "logrotate /etc/logrotate.conf"},
		{"run-parts /etc/cron.hourly", "run-parts /etc/cron.hourly"},
	} {
		if got := Pattern(c.in); got != c.want {
			t.Errorf("Pattern(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Two runs of the same command with different volatile parts share a
// pattern; different commands do not.
func TestPatternGroups(t *testing.T) {
	same := [][2]string{
		{"sleep 10", "sleep 99999"},
		{"mktemp -> /tmp/tmp.AAAAbbbb12", "mktemp -> /tmp/tmp.zzZZ9988yy"},
		{"scp -t /tmp/ from 185.220.101.47", "scp -t /tmp/ from 45.77.65.211"},
	}
	for _, p := range same {
		if Pattern(p[0]) != Pattern(p[1]) {
			t.Errorf("%q and %q differ: %q vs %q", p[0], p[1], Pattern(p[0]), Pattern(p[1]))
		}
	}
	if Pattern("/usr/bin/wget x") == Pattern("/usr/bin/curl x") {
		t.Error("different commands share a pattern")
	}
}
