package auditd

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/elastic/go-libaudit/v2/auparse"
)

// corpusLines returns the record lines of every audit log the tests know:
// the linux datasets, testdata, go-libaudit's auparse logs and aucoalesce
// cases.
func corpusLines(t testing.TB) []string {
	t.Helper()
	texts := []string{readTestdata(t, "enriched.log"), seqLines}
	zips, _ := filepath.Glob(filepath.Join(datasets, "*.zip"))
	for _, z := range zips {
		texts = append(texts, readZip(t, filepath.Base(z)))
	}
	if dir := libauditDir(); dir != "" {
		logs, _ := filepath.Glob(filepath.Join(dir, "auparse", "testdata", "*.log"))
		for _, l := range logs {
			b, err := os.ReadFile(l)
			if err != nil {
				t.Fatal(err)
			}
			texts = append(texts, string(b))
		}
		cases, _ := filepath.Glob(filepath.Join(dir, "aucoalesce", "testdata", "*.yaml"))
		for _, c := range cases {
			for _, text := range readYAMLCases(t.(*testing.T), c) {
				texts = append(texts, text)
			}
		}
	}
	var lines []string
	for _, text := range texts {
		for _, l := range strings.Split(text, "\n") {
			if _, body, ok := splitLine(strings.TrimSpace(l)); ok {
				if _, rest, ok := cutNode(body); ok {
					body = rest
				}
				if i := strings.IndexByte(body, 0x1d); i >= 0 {
					body = strings.TrimRight(body[:i], " ")
				}
				lines = append(lines, body)
			}
		}
	}
	return lines
}

// checkFields parses line with fieldParser and with auparse alone and
// says whether the parser took it; it fails t where the two differ.
func checkFields(t *testing.T, p *fieldParser, line string) bool {
	t.Helper()
	fast, err := auparse.ParseLogLine(line)
	if err != nil {
		return false
	}
	slow, _ := auparse.ParseLogLine(line)
	if !p.fill(fast) {
		return false
	}
	want, werr := slow.Data()
	wantTags, _ := slow.Tags()
	got, gerr := fast.Data()
	gotTags, _ := fast.Tags()
	if werr != nil || gerr != nil {
		t.Fatalf("%q: parsed, but auparse fails it (%v; %v)", line, werr, gerr)
	}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotTags, wantTags) {
		t.Fatalf("%q:\n got %q tags %q\nwant %q tags %q", line, got, gotTags, want, wantTags)
	}
	return true
}

// TestFieldsMatchAuparse holds fieldParser to auparse on every record of
// the corpus, and checks that it parses most of them itself.
func TestFieldsMatchAuparse(t *testing.T) {
	lines := corpusLines(t)
	var p fieldParser
	took := 0
	for _, l := range lines {
		if checkFields(t, &p, l) {
			took++
		}
	}
	if len(lines) < 200 || took < len(lines)*3/4 {
		t.Errorf("parsed %d of %d records itself, want at least three quarters of 200 or more", took, len(lines))
	}
}

var fuzzTypes = []string{"SYSCALL", "EXECVE", "PATH", "CWD", "PROCTITLE", "USER_CMD", "USER_LOGIN", "LOGIN",
	"USER_START", "USER_END", "CRED_DISP", "USER_ACCT", "TTY", "SOCKADDR", "CONFIG_CHANGE"}

func FuzzFieldsMatchAuparse(f *testing.F) {
	f.Add(uint8(0), `arch=c000003e syscall=59 success=yes exit=-2 items=2 auid=4294967295 ses=-1 comm="a b" exe=2F62696E key=6B65790161 subj=u:r:t:s0`)
	f.Add(uint8(1), `argc=3 a0="ls" a1=2D6C00 a2=x`)
	f.Add(uint8(9), `pid=1 msg='op=PAM:session_open acct="root" exe="/usr/sbin/cron" hostname=? addr=? terminal=cron res=success'`)
	f.Add(uint8(7), `pid=1 old auid=1 new auid=2 old ses=3 new ses=4 res=1`)
	f.Add(uint8(2), `item=0 name="/a b" obj=a:b:c name=2F6100 mode=0100644 key="key=x"`)
	f.Add(uint8(0), `arch=c000003e arch=40000003 syscall=59 syscall=2 exe=x exe=2F78 subj=a:b subj=c:d success=no res=1 key=a key=6100 exit=-1 exit=1`)
	f.Fuzz(func(t *testing.T, typ uint8, body string) {
		var p fieldParser
		line := "type=" + fuzzTypes[int(typ)%len(fuzzTypes)] + " msg=audit(1700000000.123:42): " + body
		checkFields(t, &p, line)
	})
}

// benchRecords are the records of the benchmark's log, parsed.
func benchRecords(b *testing.B) []string {
	text, _ := benchLog(b, 6000)
	return strings.Split(strings.TrimSpace(text), "\n")
}

// BenchmarkFieldParser reads the records' fields with fieldParser;
// BenchmarkFieldsAuparse, its baseline, with auparse's Data.
func BenchmarkFieldParser(b *testing.B) {
	lines := benchRecords(b)
	var p fieldParser
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		msg, _ := auparse.ParseLogLine(lines[i%len(lines)])
		if !p.fill(msg) {
			b.Fatalf("declined %q", lines[i%len(lines)])
		}
	}
}

func BenchmarkFieldsAuparse(b *testing.B) {
	lines := benchRecords(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		msg, _ := auparse.ParseLogLine(lines[i%len(lines)])
		if _, err := msg.Data(); err != nil {
			b.Fatal(err)
		}
	}
}
