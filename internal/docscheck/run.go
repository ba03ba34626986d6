package docscheck

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DocListen is the server address the documents write; the examples run
// against Config.Listen instead, so runs in parallel never collide.
const DocListen = "127.0.0.1:7878"

// Config is where and how a document's examples run.
type Config struct {
	Dir     string        // the scratch working directory, shared by the documents run in it
	Env     []string      // the shell's whole environment
	Listen  string        // the loopback address that stands for DocListen
	Timeout time.Duration // for one command; a server put in the background gets as long to answer
	// Log, when set, hears of each command that took over a second, so
	// the slow examples are easy to find (the check runs in make test).
	Log func(format string, args ...any)
}

// Failure is a command that failed or whose output no longer matches.
type Failure struct {
	File   string
	Line   int
	Cmd    string
	Err    error
	Output string
}

func (f Failure) Error() string {
	out := f.Output
	if lines := strings.Split(out, "\n"); len(lines) > 60 {
		out = strings.Join(lines[:60], "\n") + fmt.Sprintf("\n[%d more lines]", len(lines)-60)
	}
	return fmt.Sprintf("%s:%d: %v\n$ %s\n%s", f.File, f.Line, f.Err, f.Cmd, out)
}

// Stats counts what a run did.
type Stats struct {
	Commands, Checked int // run, and of those with shown output
	SkippedBlocks     int
}

// Run runs the blocks of one document, in order, in one shell session
// (`bash --noprofile --norc` with pipefail), so variables and exports of
// one block reach the next; each command's stdout and stderr are captured
// together. When the document is done, whatever it left running (a server
// put in the background) gets SIGTERM, then SIGKILL after 15 s.
func Run(ctx context.Context, cfg Config, blocks []Block) (Stats, []Failure, error) {
	var st Stats
	outDir, err := os.MkdirTemp("", "docscheck-out-")
	if err != nil {
		return st, nil, err
	}
	defer os.RemoveAll(outDir)
	sh, err := startShell(cfg)
	if err != nil {
		return st, nil, err
	}
	defer sh.stop()
	var fails []Failure
	n := 0
	for _, b := range blocks {
		if b.Skip != "" {
			st.SkippedBlocks++
			continue
		}
		for _, c := range b.Commands {
			n++
			st.Commands++
			if c.Want != nil {
				st.Checked++
			}
			fail := func(err error, out string) {
				fails = append(fails, Failure{File: b.File, Line: c.Line, Cmd: c.Text, Err: err, Output: out})
			}
			text := strings.ReplaceAll(c.Text, DocListen, cfg.Listen)
			outFile := filepath.Join(outDir, strconv.Itoa(n))
			began := time.Now()
			status, err := sh.run(ctx, text, outFile, cfg.Timeout)
			if d := time.Since(began); cfg.Log != nil && d > time.Second {
				first, _, _ := strings.Cut(c.Text, "\n")
				cfg.Log("%s:%d: %v: %s", b.File, c.Line, d.Round(time.Millisecond), first)
			}
			raw, _ := os.ReadFile(outFile)
			out := strings.ReplaceAll(string(raw), cfg.Listen, DocListen)
			if err != nil {
				fail(err, out)
				return st, fails, nil // the session is gone: nothing after it can run
			}
			if status != 0 {
				fail(fmt.Errorf("exit status %d", status), out)
				continue
			}
			if background(c.Text) {
				if err := waitHealthy(ctx, cfg.Listen, cfg.Timeout); err != nil {
					raw, _ := os.ReadFile(outFile)
					fail(err, string(raw))
					return st, fails, nil
				}
			}
			if c.Want != nil {
				if err := Match(c.Want, out); err != nil {
					fail(err, out)
				}
			}
		}
	}
	return st, fails, nil
}

// shell is a bash session fed one command at a time on its stdin.
type shell struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *lockedBuffer
	done   string // the line bash prints after each command, before its status
}

func startShell(cfg Config) (*shell, error) {
	c := exec.Command("bash", "--noprofile", "--norc")
	c.Dir, c.Env = cfg.Dir, cfg.Env
	// Its own process group, so what the examples leave running is
	// stopped with it.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := c.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	sh := &shell{cmd: c, stdin: stdin, lines: make(chan string), stderr: &lockedBuffer{},
		done: fmt.Sprintf("docscheck-done-%d", time.Now().UnixNano())}
	c.Stderr = sh.stderr
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("start bash: %w", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			sh.lines <- sc.Text()
		}
		close(sh.lines)
	}()
	if _, err := io.WriteString(stdin, "set -o pipefail\n"); err != nil {
		sh.stop()
		return nil, err
	}
	return sh, nil
}

// run runs one command with its output in outFile and returns its exit
// status. An error means the session itself failed (timeout, bash gone).
func (sh *shell) run(ctx context.Context, text, outFile string, timeout time.Duration) (int, error) {
	script := fmt.Sprintf("{\n%s\n} >%s 2>&1 </dev/null\necho %s $?\n", text, shellQuote(outFile), sh.done)
	if _, err := io.WriteString(sh.stdin, script); err != nil {
		return 0, fmt.Errorf("write to bash: %w (%s)", err, sh.stderr)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case l, ok := <-sh.lines:
			if !ok {
				return 0, fmt.Errorf("bash ended: %s", sh.stderr)
			}
			if s, found := strings.CutPrefix(l, sh.done+" "); found {
				return strconv.Atoi(s)
			}
		case <-t.C:
			return 0, fmt.Errorf("no answer within %v", timeout)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// stop ends the session and everything it started: SIGTERM to the
// process group, so a server flushes and exits as it does on Ctrl-C, then
// SIGKILL for what is still there after 15 s.
func (sh *shell) stop() {
	go func() {
		for range sh.lines { // what bash still prints, so its reader ends
		}
	}()
	sh.stdin.Close()
	pg := sh.cmd.Process.Pid
	syscall.Kill(-pg, syscall.SIGTERM)
	waited := make(chan struct{})
	go func() { sh.cmd.Wait(); close(waited) }()
	for i := 0; i < 150 && groupAlive(pg); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	syscall.Kill(-pg, syscall.SIGKILL)
	<-waited
}

// groupAlive reports whether a process of group pg is still running.
// Zombies do not count: an orphan's parent may never reap it.
func groupAlive(pg int) bool {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) > 2 && fields[0] != "Z" && fields[2] == strconv.Itoa(pg) {
			return true
		}
	}
	return false
}

// waitHealthy waits until a server answers /healthz at addr: a person
// who starts a server with & types the next command later than a script.
func waitHealthy(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.Join(fmt.Errorf("no server answered /healthz on %s (as %s) within %v", addr, DocListen, timeout), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockedBuffer is bash's stderr: written by exec's copier, read for
// messages while bash runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
