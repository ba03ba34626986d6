package auditd

import (
	"reflect"
	"strconv"
	"strings"
	"unsafe"

	"github.com/elastic/go-libaudit/v2/auparse"
)

// Why this file exists: aucoalesce asks each record for its fields
// (AuditMessage.Data), which auparse extracts with a regular expression,
// three quarters of the decoder's time. fieldParser reads the same fields
// in one pass and hands them to the message's own cache, so aucoalesce
// finds them parsed: its coalescing and normalisation are unchanged.
//
// The parser answers exactly what auparse would, or declines and leaves
// the record to auparse: records with a backslash (escaped quotes, where
// the expression's backtracking decides), a quote left open, an unusual
// type (AVC, SECCOMP, SOCKADDR) or fields whose absence auparse reports as
// an error. TestFieldsMatchAuparse and FuzzFieldsMatchAuparse hold it to
// auparse.

// msgCache is where an auparse.AuditMessage keeps what Data and Tags
// return: its unexported data and tags fields, found by name and type once.
// ok is false when go-libaudit changed them: every record is then left to
// auparse, as slow as before but as correct.
var msgCache = func() (c struct {
	data, tags uintptr
	ok         bool
}) {
	t := reflect.TypeOf(auparse.AuditMessage{})
	d, ok1 := t.FieldByName("data")
	g, ok2 := t.FieldByName("tags")
	c.ok = ok1 && ok2 && d.Type == reflect.TypeOf(map[string]string(nil)) && g.Type == reflect.TypeOf([]string(nil))
	c.data, c.tags = d.Offset, g.Offset
	return c
}()

// kv is one field of a record: orig is its text as written (quotes kept),
// value what auparse makes of it.
type kv struct {
	key, orig, value string
	gone             bool
}

// fieldParser parses records' fields; it keeps its scratch space between
// records.
type fieldParser struct {
	f    []kv
	tags []string
}

// fill parses msg's fields into its cache and reports whether it did; a
// record it declines is parsed by auparse when asked.
func (p *fieldParser) fill(msg *auparse.AuditMessage) bool {
	if !msgCache.ok || strings.IndexByte(msg.RawData, '\\') >= 0 {
		return false
	}
	off := messageOffset(msg.RawData)
	if off < 0 {
		return false
	}
	text := msg.RawData[off:]
	switch msg.RecordType {
	case auparse.AUDIT_AVC, auparse.AUDIT_SECCOMP, auparse.AUDIT_SOCKADDR:
		return false
	case auparse.AUDIT_LOGIN:
		text = strings.Replace(text, "old ", "old_", 2)
		text = strings.Replace(text, "new ", "new_", 2)
	case auparse.AUDIT_CRED_DISP, auparse.AUDIT_USER_START, auparse.AUDIT_USER_END:
		text = strings.Replace(text, " (hostname=", " hostname=", 2)
		text = strings.TrimRight(text, ")'")
	}
	p.f, p.tags = p.f[:0], nil
	if !p.scan(text) || !p.enrich(msg.RecordType) {
		return false
	}
	n := 0
	for i := range p.f {
		if !p.f[i].gone {
			n++
		}
	}
	data := make(map[string]string, n)
	for i := range p.f {
		if f := &p.f[i]; !f.gone {
			data[f.key] = f.value
		}
	}
	base := unsafe.Pointer(msg)
	*(*map[string]string)(unsafe.Add(base, msgCache.data)) = data
	*(*[]string)(unsafe.Add(base, msgCache.tags)) = p.tags
	return true
}

// messageOffset is where auparse starts reading fields in a record's
// RawData: the first ':' or ' ' after the header's closing parenthesis,
// counted from that parenthesis (as auparse counts it), or -1.
func messageOffset(raw string) int {
	start := strings.IndexByte(raw, '(')
	if start < 0 {
		return -1
	}
	dot := strings.IndexByte(raw[start:], '.')
	if dot < 0 {
		return -1
	}
	sep := strings.IndexByte(raw[start+dot:], ':')
	if sep < 0 {
		return -1
	}
	end := strings.IndexByte(raw[start+dot+sep:], ')')
	if end < 0 {
		return -1
	}
	return strings.IndexAny(raw[start+dot+sep+end:], ": ")
}

func isKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// scan finds the key=value pairs of s as auparse's expression does
// (leftmost matches of a lowercase key, '=', then an unquoted, a
// '-quoted or a "-quoted value; s holds no backslash), and adds them as
// auparse does: useless values dropped, msg='...' read for the pairs it
// holds. It returns false where it cannot tell.
func (p *fieldParser) scan(s string) bool {
	for i := 0; i < len(s); {
		if !isKeyChar(s[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isKeyChar(s[j]) {
			j++
		}
		// No start inside a run of key characters matches if its first
		// does not: they all need the same '=' and value.
		if j >= len(s) || s[j] != '=' {
			i = j
			continue
		}
		v := j + 1
		if v >= len(s) || isSpace(s[v]) {
			i = v
			continue
		}
		end := v
		if q := s[v]; q == '"' || q == '\'' {
			k := strings.IndexByte(s[v+1:], q)
			if k < 0 {
				return false // the expression looks for matches inside the value: let auparse
			}
			end = v + 1 + k + 1
		} else {
			for end < len(s) && s[end] != '"' && s[end] != '\'' && !isSpace(s[end]) {
				end++
			}
		}
		key, orig := s[i:j], s[v:end]
		i = end
		value := trimQuotes(orig)
		switch value {
		case "", "?", "?,", "(null)":
			continue
		}
		if key == "msg" {
			if !p.scan(value) {
				return false
			}
			continue
		}
		p.add(key, orig, value)
	}
	return true
}

// trimQuotes is strings.Trim(s, `'" `) without building the cut set on
// every call (a tenth of the parser's time).
func trimQuotes(s string) string {
	cut := func(c byte) bool { return c == '\'' || c == '"' || c == ' ' }
	for s != "" && cut(s[0]) {
		s = s[1:]
	}
	for s != "" && cut(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// A key written twice is held twice (add does not search): the last one
// is the field, as in auparse's map, so find searches from the end, del
// removes every copy and fill's map keeps the last.

func (p *fieldParser) find(key string) *kv {
	for i := len(p.f) - 1; i >= 0; i-- {
		if f := &p.f[i]; f.key == key && !f.gone {
			return f
		}
	}
	return nil
}

// add sets key, hiding an earlier field of that key.
func (p *fieldParser) add(key, orig, value string) {
	p.f = append(p.f, kv{key: key, orig: orig, value: value})
}

func (p *fieldParser) del(key string) {
	for i := range p.f {
		if p.f[i].key == key {
			p.f[i].gone = true
		}
	}
}

// enrich turns raw values into auparse's (names for numbers, decoded hex,
// result, tags), in auparse's order. It returns false where auparse would
// fail the record.
func (p *fieldParser) enrich(t auparse.AuditMessageType) bool {
	for _, k := range [...]string{"auid", "old-auid", "ses"} {
		if f := p.find(k); f != nil && (f.value == "4294967295" || f.value == "-1") {
			f.value = "unset"
		}
	}
	p.selinux("subj")
	p.result()
	if f := p.find("exit"); f != nil {
		if code, err := strconv.Atoi(f.value); err == nil && code < 0 {
			if name, ok := auparse.AuditErrnoToName[-code]; ok {
				f.value = name
			}
		}
	}
	p.ruleKey()
	p.hexDecode("cwd")

	switch t {
	case auparse.AUDIT_SYSCALL:
		arch := p.find("arch")
		if arch == nil {
			return false
		}
		n, err := strconv.ParseInt(arch.value, 16, 64)
		if err != nil {
			return false
		}
		arch.value = auparse.AuditArch(n).String()
		sc := p.find("syscall")
		if sc == nil {
			return false
		}
		num, err := strconv.Atoi(sc.value)
		if err != nil {
			return false
		}
		if name, ok := auparse.AuditSyscalls[arch.value][num]; ok {
			sc.value = name
		}
		return p.hexDecode("exe")
	case auparse.AUDIT_PROCTITLE:
		return p.hexDecode("proctitle")
	case auparse.AUDIT_USER_CMD:
		return p.hexDecode("cmd")
	case auparse.AUDIT_TTY, auparse.AUDIT_USER_TTY:
		return p.hexDecode("data")
	case auparse.AUDIT_EXECVE:
		return p.execve()
	case auparse.AUDIT_PATH:
		p.selinux("obj")
		p.hexDecode("name")
	case auparse.AUDIT_USER_LOGIN:
		p.hexDecode("acct")
	}
	return true
}

// selinux splits a context "user:role:domain:level:category" into
// key_user, key_role ...
func (p *fieldParser) selinux(key string) {
	f := p.find(key)
	if f == nil {
		return
	}
	parts := strings.SplitN(f.value, ":", 5)
	p.del(key)
	for i, part := range parts {
		k := key + [...]string{"_user", "_role", "_domain", "_level", "_category"}[i]
		p.add(k, part, part)
	}
}

// result replaces success= (syscalls) or res= (others) by result.
func (p *fieldParser) result() {
	f := p.find("success")
	if f == nil {
		if f = p.find("res"); f == nil {
			return
		}
	}
	p.del(f.key)
	r := "fail"
	if v := strings.ToLower(f.value); v == "yes" || v == "1" || strings.HasPrefix(v, "suc") {
		r = "success"
	}
	p.add("result", r, r)
}

// ruleKey moves the audit rule's key= into the tags: hex holds several
// keys apart by \x01, "key=net" is the key net.
func (p *fieldParser) ruleKey() {
	f := p.find("key")
	if f == nil {
		return
	}
	p.del("key")
	if b, ok := upperHex(f.orig); ok {
		p.tags = strings.Split(string(b), "\x01")
		return
	}
	if parts := strings.SplitN(f.value, "=", 2); len(parts) == 2 {
		p.tags = parts[1:]
	} else {
		p.tags = parts
	}
}

// hexDecode decodes key's value when it was written in hex (NULs between
// the strings become spaces). It returns false when key is absent, which
// auparse reports as an error for the keys a record type must have.
func (p *fieldParser) hexDecode(key string) bool {
	f := p.find(key)
	if f == nil {
		return false
	}
	if b, ok := upperHex(f.orig); ok {
		f.value = strings.ReplaceAll(string(b), "\x00", " ")
	}
	return true
}

// execve decodes the hex arguments a0..a(argc-1), each up to its first
// NUL.
func (p *fieldParser) execve() bool {
	argc := p.find("argc")
	if argc == nil {
		return false
	}
	n, err := strconv.ParseUint(argc.value, 10, 32)
	if err != nil {
		return false
	}
	for i := uint64(0); i < n; i++ {
		f := p.find("a" + strconv.FormatUint(i, 10))
		if f == nil {
			return false
		}
		if b, ok := upperHex(f.orig); ok {
			if z := strings.IndexByte(string(b), 0); z >= 0 {
				b = b[:z]
			}
			f.value = string(b)
		}
	}
	return true
}

// upperHex decodes s, an even number of digits 0-9 and A-F (audit's hex:
// lowercase is text).
func upperHex(s string) ([]byte, bool) {
	if len(s)%2 != 0 {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
			return nil, false
		}
	}
	b := make([]byte, len(s)/2)
	for i := range b {
		b[i] = hexVal(s[2*i])<<4 | hexVal(s[2*i+1])
	}
	return b, true
}

func hexVal(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}
