// Package sweep searches every host of an organization for indicators of
// compromise (hashes, addresses, networks, domains, paths, file names,
// command-line fragments) in one scan of the events, and reports the hits
// by host and indicator: seed 000's "is anyone else compromised?".
package sweep

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"
)

// The kinds of IoC.
const (
	SHA256   = "sha256"
	SHA1     = "sha1"
	MD5      = "md5"
	IP       = "ip"       // IPv4 or IPv6 address
	CIDR     = "cidr"     // IPv4 network
	Domain   = "domain"   // DNS name
	Path     = "path"     // absolute path, Unix or Windows
	FileName = "filename" // base name of a file
	Cmdline  = "cmdline"  // substring of a command line
)

// Kinds lists every kind.
var Kinds = []string{SHA256, SHA1, MD5, IP, CIDR, Domain, Path, FileName, Cmdline}

// IoC is one indicator.
type IoC struct {
	Kind  string
	Value string // as written, hashes lowercased
	// Line is the input line it came from, 1-based; 0 when built in code.
	Line int
}

func (i IoC) String() string { return i.Kind + ":" + i.Value }

// knownBinaries are tool names that count as file names without an
// extension.
var knownBinaries = map[string]bool{
	"nmap": true, "sliver": true, "ncat": true, "nc": true, "netcat": true, "socat": true, "chisel": true,
	"mimikatz": true, "psexec": true, "xmrig": true, "masscan": true, "hydra": true, "linpeas": true, "pspy": true,
	"meterpreter": true, "beacon": true, "ngrok": true, "frpc": true, "procdump": true, "rubeus": true,
	"sharphound": true, "lazagne": true, "kerbrute": true, "zmap": true, "gost": true, "ligolo": true,
}

// fileExts are extensions that make a dotted name a file, not a domain.
var fileExts = map[string]bool{
	"exe": true, "dll": true, "sys": true, "bat": true, "cmd": true, "ps1": true, "psm1": true, "vbs": true, "js": true,
	"jar": true, "sh": true, "py": true, "pl": true, "rb": true, "php": true, "elf": true, "bin": true, "so": true,
	"o": true, "ko": true, "dmp": true, "txt": true, "log": true, "zip": true, "gz": true, "tgz": true, "tar": true,
	"7z": true, "rar": true, "doc": true, "docx": true, "docm": true, "xls": true, "xlsx": true, "xlsm": true,
	"pdf": true, "lnk": true, "hta": true, "scr": true, "msi": true, "iso": true, "img": true, "conf": true,
	"service": true, "timer": true, "plist": true, "deb": true, "rpm": true, "apk": true, "out": true, "tmp": true,
}

var (
	hexRe    = regexp.MustCompile(`^[0-9a-fA-F]+$`)
	winPath  = regexp.MustCompile(`^[A-Za-z]:\\`)
	tldRe    = regexp.MustCompile(`^[A-Za-z]{2,24}$|^xn--[a-z0-9-]+$`)
	labelRe  = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$`)
	extRe    = regexp.MustCompile(`\.([A-Za-z0-9]{1,8})$`)
	kindNick = map[string]string{"ipv4": IP, "ipv6": IP, "file": FileName, "name": FileName, "substring": Cmdline,
		"command": Cmdline, "cmd": Cmdline, "hostname": Domain, "fqdn": Domain, "net": CIDR, "network": CIDR}
)

// ParseIoCs reads one IoC a line; blank lines and lines starting with #
// are skipped. The kind is inferred (see Infer) unless the line says
// "kind:value". A bad line gives an error naming it and is left out.
func ParseIoCs(r io.Reader) ([]IoC, []error) {
	var out []IoC
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ioc, err := ParseIoC(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		ioc.Line = n
		out = append(out, ioc)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("read iocs: %w", err))
	}
	return out, errs
}

// ParseIoC parses one IoC, "kind:value" or a value whose kind is inferred.
func ParseIoC(s string) (IoC, error) {
	s = strings.TrimSpace(s)
	if k, v, ok := strings.Cut(s, ":"); ok {
		k = strings.ToLower(strings.TrimSpace(k))
		if nk, ok := kindNick[k]; ok {
			k = nk
		}
		if k == "hash" {
			return hashIoC(strings.TrimSpace(v))
		}
		for _, kk := range Kinds {
			if k == kk {
				return Forced(k, strings.TrimSpace(v))
			}
		}
	}
	if s == "" {
		return IoC{}, fmt.Errorf("empty ioc")
	}
	return IoC{Kind: Infer(s), Value: normValue(Infer(s), s)}, nil
}

func hashIoC(v string) (IoC, error) {
	if hexRe.MatchString(v) {
		switch len(v) {
		case 64:
			return IoC{Kind: SHA256, Value: strings.ToLower(v)}, nil
		case 40:
			return IoC{Kind: SHA1, Value: strings.ToLower(v)}, nil
		case 32:
			return IoC{Kind: MD5, Value: strings.ToLower(v)}, nil
		}
	}
	return IoC{}, fmt.Errorf("%q is not a sha256, sha1 or md5 hash", v)
}

// Forced builds an IoC of a given kind, checking the value fits it.
func Forced(kind, v string) (IoC, error) {
	if v == "" {
		return IoC{}, fmt.Errorf("empty %s", kind)
	}
	switch kind {
	case SHA256, SHA1, MD5:
		h, err := hashIoC(v)
		if err != nil || h.Kind != kind {
			return IoC{}, fmt.Errorf("%q is not a %s hash", v, kind)
		}
		return h, nil
	case IP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return IoC{}, fmt.Errorf("%q is not an IP address", v)
		}
		return IoC{Kind: IP, Value: a.Unmap().String()}, nil
	case CIDR:
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return IoC{}, fmt.Errorf("%q is not a CIDR network", v)
		}
		if !p.Addr().Is4() {
			return IoC{}, fmt.Errorf("%q: only IPv4 networks are supported", v)
		}
		return IoC{Kind: CIDR, Value: p.Masked().String()}, nil
	}
	return IoC{Kind: kind, Value: normValue(kind, v)}, nil
}

func normValue(kind, v string) string {
	switch kind {
	case SHA256, SHA1, MD5:
		return strings.ToLower(v)
	case IP:
		if a, err := netip.ParseAddr(v); err == nil {
			return a.Unmap().String()
		}
	case CIDR:
		if p, err := netip.ParsePrefix(v); err == nil {
			return p.Masked().String()
		}
	case Domain:
		return strings.TrimSuffix(strings.ToLower(v), ".")
	}
	return v
}

// Infer guesses the kind of a value: a hash by its hex length, an IP
// address, an IPv4 CIDR network, an absolute path (/ or C:\), a file name
// (no slash, with a known extension or a known tool's name), a domain (a
// dot and a TLD-like last label, no slash), else a command-line substring.
func Infer(s string) string {
	if hexRe.MatchString(s) {
		switch len(s) {
		case 64:
			return SHA256
		case 40:
			return SHA1
		case 32:
			return MD5
		}
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return IP
	}
	if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Is4() {
		return CIDR
	}
	if strings.HasPrefix(s, "/") || winPath.MatchString(s) {
		return Path
	}
	if strings.ContainsAny(s, `/\ `) {
		return Cmdline
	}
	if m := extRe.FindStringSubmatch(s); m != nil && fileExts[strings.ToLower(m[1])] {
		return FileName
	}
	if isDomain(s) {
		return Domain
	}
	if knownBinaries[strings.ToLower(s)] || extRe.MatchString(s) {
		return FileName
	}
	return Cmdline
}

func isDomain(s string) bool {
	s = strings.TrimSuffix(s, ".")
	labels := strings.Split(s, ".")
	if len(labels) < 2 || !tldRe.MatchString(labels[len(labels)-1]) {
		return false
	}
	for _, l := range labels {
		if len(l) > 63 || !labelRe.MatchString(l) {
			return false
		}
	}
	return true
}
