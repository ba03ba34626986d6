package auditd

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spoor-dev/spoor/internal/event"
)

// FuzzDecode feeds arbitrary text to the Decoder: it must not panic, and
// every event it makes must have a Raw that is one JSON object within the
// size limit.
func FuzzDecode(f *testing.F) {
	f.Add(seqLines)
	if b, err := os.ReadFile("testdata/enriched.log"); err == nil {
		f.Add(string(b))
		f.Add(prefixLines(string(b), "<13>Nov 10 07:48:12 relay audisp-syslog: node=n1 "))
	}
	for _, l := range strings.Split(seqLines, "\n") {
		f.Add(l)
	}
	f.Add("type=EXECVE msg=audit(1.1:1): argc=2 a0_len=4 a0[0]=6162 a0[1]=6364 a1=\"x\"\ntype=SYSCALL msg=audit(1.1:1): arch=c000003e syscall=59\ntype=PROCTITLE msg=audit(1.1:1): proctitle=\"x\"")
	f.Add("type=SOCKADDR msg=audit(1.1:7): saddr=0A000050000000002001DB8000000000000000000000000100000000\ntype=SYSCALL msg=audit(1.1:7): arch=c000003e syscall=43 success=yes exit=3\ntype=EOE msg=audit(1.1:7):")
	f.Add("node=x type=USER_LOGIN msg=audit(1.1:2): msg='acct=\"\xff\" addr=::1 res=failed'\x1dUID=\"r\xc3\"")
	f.Add(execLines(1700000000, 500) + daemonEnd + daemonStart + execLines(1700000100, 2) + daemonAbort)
	f.Add(`type=USER_CMD msg=audit(1.1:3): pid=1 uid=0 auid=0 ses=1 msg='cwd="/" cmd=6C73202D6C exe="/usr/bin/sudo" terminal=pts/0 res=success'`)
	f.Fuzz(func(t *testing.T, text string) {
		c := &collector{}
		if err := New().Decode(context.Background(), strings.NewReader(text), c); err != nil {
			t.Fatalf("decode of in-memory text: %v", err)
		}
		for _, e := range c.events {
			if len(e.Raw) > event.MaxEventBytes || !utf8.Valid(e.Raw) {
				t.Fatalf("Raw of %d bytes, valid UTF-8 %v", len(e.Raw), utf8.Valid(e.Raw))
			}
			var m map[string]any
			if err := json.Unmarshal(e.Raw, &m); err != nil {
				t.Fatalf("Raw is not a JSON object: %v: %s", err, e.Raw)
			}
		}
		for _, r := range c.rejects {
			if r.Line <= 0 || r.Reason == "" {
				t.Fatalf("rejection %+v", r)
			}
		}
	})
}
