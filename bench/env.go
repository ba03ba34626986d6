package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

const modulePath = "github.com/spoor-dev/spoor"

// repoRoot finds the module root from the working directory upwards.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module "+modulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run from inside the %s checkout (no go.mod for it above %s)", modulePath, mustGetwd())
		}
		dir = parent
	}
}

func mustGetwd() string { d, _ := os.Getwd(); return d }

// machineInfo describes where the figures were measured.
type machineInfo struct {
	nproc       int
	memBytes    int64
	cpuModel    string
	kernel      string
	goVersion   string
	duckdbGo    string
	duckdbLib   string
	zstdVersion string
	commit      string
	dirty       bool
	loadStart   string // /proc/loadavg's 1, 5 and 15 minute figures
	loadEnd     string
}

// loadAvg is the 1, 5 and 15 minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func (b *bench) machine(ctx context.Context) error {
	m := &b.rep.machine
	m.nproc = runtime.NumCPU()
	m.loadStart = loadAvg()
	m.goVersion = runtime.Version()
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpuModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if m.cpuModel == "" {
		m.cpuModel = "unknown"
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				m.memBytes = kb * 1024
			}
		}
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.kernel = utsString(u.Sysname[:]) + " " + utsString(u.Release[:]) + " " + utsString(u.Machine[:])
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/duckdb/duckdb-go/v2" {
				m.duckdbGo = d.Version
			}
		}
	}
	db, err := openDuck(ctx, 1, "")
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, "SELECT library_version || ' (' || source_id || ')' FROM pragma_version()").Scan(&m.duckdbLib); err != nil {
		return fmt.Errorf("duckdb version: %w", err)
	}
	if out, err := exec.CommandContext(ctx, "git", "-C", b.root, "rev-parse", "--short=12", "HEAD").Output(); err == nil {
		m.commit = strings.TrimSpace(string(out))
		if st, err := exec.CommandContext(ctx, "git", "-C", b.root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
			m.dirty = len(bytes.TrimSpace(st)) > 0
		}
	}
	logf("machine: %d CPUs (%s), %s RAM, %s, DuckDB %s", m.nproc, m.cpuModel, gib(m.memBytes), m.goVersion, m.duckdbLib)
	return nil
}

func utsString(a []int8) string {
	var sb strings.Builder
	for _, c := range a {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}

// Generated events average about 1.7 KB of NDJSON; the scratch directory holds
// the file, spoor's data dir (twice while profiling), DuckDB's Parquet and a
// zstd copy.
const approxEventBytes = 1700

func (b *bench) checkDisk() error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(b.dir, &st); err != nil {
		return err
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	need := b.cfg.events * approxEventBytes * 13 / 10
	logf("disk: %s free in %s, about %s needed", gib(free), b.dir, gib(need))
	if free < need {
		return fmt.Errorf("not enough disk in %s: %s free, about %s needed for %d events (use -scratch DIR elsewhere or fewer -events)", b.dir, gib(free), gib(need), b.cfg.events)
	}
	return nil
}

// build compiles spoor from the checkout into the scratch directory.
func (b *bench) build(ctx context.Context) error {
	b.spoor = filepath.Join(b.dir, "spoor")
	logf("building spoor (go build -o %s ./cmd/spoor)", b.spoor)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", b.spoor, "./cmd/spoor")
	cmd.Dir = b.root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/spoor: %w", err)
	}
	if out, err := exec.CommandContext(ctx, "zstd", "--version").Output(); err == nil {
		if v := regexp.MustCompile(`v\d+(\.\d+)+`).Find(out); v != nil {
			b.rep.machine.zstdVersion = "zstd " + string(v)
		} else {
			b.rep.machine.zstdVersion = strings.TrimSpace(string(out))
		}
	}
	return nil
}

// result is one timed run of a command.
type result struct {
	wall   time.Duration
	cpu    time.Duration // user + system of the child
	maxRSS int64         // bytes
	stdout []byte
	stderr []byte
}

// runCmd runs a command, timing its wall clock from start to exit and
// reading its CPU time and peak RSS from rusage. Stdout goes to out when
// given, else it is kept.
func runCmd(ctx context.Context, out io.Writer, name string, args ...string) (result, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var so, se bytes.Buffer
	if out != nil {
		cmd.Stdout = out
	} else {
		cmd.Stdout = &so
	}
	cmd.Stderr = &se
	hwm := selfHWM()
	stop := heartbeat(filepath.Base(name) + " " + firstArg(args))
	t0 := time.Now()
	err := cmd.Run()
	stop()
	r := result{wall: time.Since(t0), stdout: so.Bytes(), stderr: se.Bytes()}
	if cmd.ProcessState != nil {
		r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			// The child starts as a vfork of this process, so the
			// kernel's figure is at least this process's own peak:
			// only a larger one is the child's.
			if rss := ru.Maxrss * 1024; rss > hwm {
				r.maxRSS = rss
			}
		}
	}
	if err != nil {
		msg := strings.TrimSpace(se.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "..."
		}
		return r, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, msg)
	}
	return r, nil
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// selfHWM is this process's peak resident set (VmHWM), in bytes.
func selfHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// selfCPU is the CPU time (user + system) this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// openDuck opens an in-memory DuckDB for the baselines, with threads
// threads and tmp as its spill directory.
func openDuck(ctx context.Context, threads int, tmp string) (*sql.DB, error) {
	conn, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	db := sql.OpenDB(conn)
	// One connection: the settings below are per database anyway, and the
	// baseline is one client running one query at a time.
	db.SetMaxOpenConns(1)
	settings := []string{
		fmt.Sprintf("SET threads = %d", threads),
		"SET TimeZone = 'UTC'",
		"SET preserve_insertion_order = false",
	}
	if tmp != "" {
		settings = append(settings, "SET temp_directory = "+sqlQuote(tmp))
	}
	for _, s := range settings {
		if _, err := db.ExecContext(ctx, s); err != nil {
			db.Close()
			return nil, fmt.Errorf("duckdb %s: %w", s, err)
		}
	}
	return db, nil
}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// preRead settles the machine before a timed command: it flushes dirty
// pages, so no command pays for the writeback of an earlier one (gen's
// output, the previous run's parts), then reads the input once so every
// command starts with it in the page cache.
func preRead(path string) error {
	syscall.Sync()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

// dropDir removes a directory, logging rather than failing.
func dropDir(path string) {
	if err := os.RemoveAll(path); err != nil {
		logf("could not remove %s: %v", path, err)
	}
}

func gib(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// dirBytes sums the sizes of the files under dir whose names end in suffix.
func dirBytes(dir, suffix string) (n int64, files int, err error) {
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, suffix) {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
			files++
		}
		return nil
	})
	return n, files, err
}
