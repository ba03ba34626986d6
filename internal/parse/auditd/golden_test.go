package auditd

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/spoor-dev/spoor/internal/event"
)

// TestLibauditGolden runs the Decoder over go-libaudit's aucoalesce test
// logs and compares what spoor stores with the library's golden output.
//
// Deliberate differences, checked as such:
//   - auid and ses "unset" are stored as the number 4294967295;
//   - bind/listen SOCKADDR addresses, which the library leaves out of
//     source/destination, are stored as dst_ip/dst_port (the local end);
//   - Raw is the library's event plus "records" and "warnings".
func TestLibauditGolden(t *testing.T) {
	dir := libauditDir()
	if dir == "" {
		t.Skip("go-libaudit module directory not found (go list -m failed)")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "aucoalesce", "testdata", "*.yaml"))
	if len(files) == 0 {
		t.Skipf("no aucoalesce testdata under %s", dir)
	}
	total, want := 0, 0
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			cases := readYAMLCases(t, file)
			golden := readGolden(t, strings.TrimSuffix(file, ".yaml")+".json.golden")
			want += len(golden)
			if len(cases) != len(golden) {
				t.Errorf("%d test cases, %d golden events", len(cases), len(golden))
			}
			for name, text := range cases {
				g, ok := golden[name]
				if !ok {
					t.Errorf("%s: no golden output", name)
					continue
				}
				t.Run(name, func(t *testing.T) {
					c := decode(t, text)
					if len(c.events) != 1 || len(c.rejects) != 0 {
						t.Fatalf("got %d events, rejects %v; want 1 event", len(c.events), c.rejects)
					}
					compareGolden(t, c.events[0], g)
					total++
				})
			}
		})
	}
	if total != want || total == 0 {
		t.Errorf("%d golden events agree, of %d", total, want)
	}
}

type goldenCase struct {
	Event    map[string]any `json:"event"`
	Warnings []string       `json:"warnings"`
}

func readYAMLCases(t *testing.T, file string) map[string]string {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests map[string]string `yaml:"tests"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Tests
}

func readGolden(t *testing.T, file string) map[string]goldenCase {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var list []struct {
		Name string `json:"test_name"`
		goldenCase
	}
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]goldenCase{}
	for _, g := range list {
		out[g.Name] = g.goldenCase
	}
	return out
}

// str walks a decoded JSON object by keys.
func str(m map[string]any, keys ...string) string {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[k]
	}
	s, _ := v.(string)
	return s
}

func compareGolden(t *testing.T, e *event.Event, g goldenCase) {
	ge := g.Event
	// Raw holds the library's event unchanged.
	var raw map[string]any
	if err := json.Unmarshal(e.Raw, &raw); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	ws, _ := raw["warnings"].([]any)
	for _, w := range ws {
		warnings = append(warnings, w.(string))
	}
	delete(raw, "records")
	delete(raw, "warnings")
	if !reflect.DeepEqual(raw, ge) {
		a, _ := json.MarshalIndent(raw, "", " ")
		b, _ := json.MarshalIndent(ge, "", " ")
		t.Errorf("Raw differs from golden:\n%s\nwant\n%s", a, b)
	}
	sort.Strings(warnings)
	if !slices.Equal(warnings, g.Warnings) {
		t.Errorf("warnings %q, golden %q", warnings, g.Warnings)
	}

	wantStr := func(f event.FieldID, want string) {
		t.Helper()
		if want == "" {
			if e.Has(f) {
				t.Errorf("%s = %q, golden has none", event.Get(f).Name, e.Str[f])
			}
			return
		}
		checkStr(t, e, f, want)
	}
	wantInt := func(f event.FieldID, want string) {
		t.Helper()
		if want == "" {
			if e.Has(f) {
				t.Errorf("%s = %d, golden has none", event.Get(f).Name, e.Int[f])
			}
			return
		}
		if want == "unset" {
			want = "4294967295"
		}
		n, err := strconv.ParseInt(want, 10, 64)
		if err != nil {
			t.Errorf("golden %s %q is not a number", event.Get(f).Name, want)
			return
		}
		checkInt(t, e, f, n)
	}
	checkStr(t, e, event.Type, str(ge, "record_type"))
	wantStr(event.Syscall, str(ge, "data", "syscall"))
	wantStr(event.Exe, str(ge, "process", "exe"))
	command := str(ge, "process", "name")
	if f := strings.Fields(str(ge, "data", "cmd")); command == "" && len(f) > 0 {
		command = path.Base(f[0]) // USER_CMD: the command sudo ran
	}
	wantStr(event.Command, command)
	wantStr(event.CWD, str(ge, "process", "cwd"))
	wantInt(event.PID, str(ge, "process", "pid"))
	wantInt(event.PPID, str(ge, "process", "ppid"))
	wantInt(event.UID, str(ge, "user", "ids", "uid"))
	wantInt(event.AUID, str(ge, "user", "ids", "auid"))
	wantInt(event.GID, str(ge, "user", "ids", "gid"))
	wantInt(event.Session, str(ge, "session"))
	switch str(ge, "result") {
	case "success":
		checkBool(t, e, event.Success, true)
	case "fail":
		checkBool(t, e, event.Success, false)
	default:
		if e.Has(event.Success) {
			t.Errorf("success set for result %q", str(ge, "result"))
		}
	}
	proc, _ := ge["process"].(map[string]any)
	if args, ok := proc["args"].([]any); ok {
		var want []string
		for _, a := range args {
			want = append(want, a.(string))
		}
		checkList(t, e, event.Args, want)
	}
	var paths []string
	if ps, ok := ge["paths"].([]any); ok {
		for _, p := range ps {
			if n := str(p.(map[string]any), "name"); n != "" {
				paths = append(paths, n)
			}
		}
	}
	if len(paths) > 0 {
		checkList(t, e, event.Path, paths)
	} else if e.Has(event.Path) {
		t.Errorf("path = %q, golden has none", e.List(event.Path))
	}
	// Addresses: the library's source is spoor's src, destination dst.
	if ip := str(ge, "source", "ip"); ip != "" {
		checkStr(t, e, event.SrcIP, ip)
		checkStr(t, e, event.Direction, "inbound")
		if p := str(ge, "source", "port"); p != "" {
			wantInt(event.SrcPort, p)
		}
	} else if e.Has(event.SrcIP) {
		t.Errorf("src_ip = %q, golden has no source ip", e.Str[event.SrcIP])
	}
	if ip := str(ge, "destination", "ip"); ip != "" {
		checkStr(t, e, event.DstIP, ip)
		checkStr(t, e, event.Direction, "outbound")
		if p := str(ge, "destination", "port"); p != "" {
			wantInt(event.DstPort, p)
		}
	} else if s := str(ge, "data", "syscall"); e.Has(event.DstIP) && s != "bind" && s != "listen" {
		t.Errorf("dst_ip = %q, golden has no destination ip", e.Str[event.DstIP])
	}
}
