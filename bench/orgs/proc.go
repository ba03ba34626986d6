package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// measured is what one child process cost.
type measured struct {
	wall time.Duration
	cpu  time.Duration
	rss  int64 // peak resident set, bytes
}

// proc is a started child process whose peak resident memory is read from
// /proc while it runs. rusage alone is not enough: a child forked from this
// process inherits its high-water mark until exec, so a small child of a big
// parent would report the parent's peak.
type proc struct {
	cmd    *exec.Cmd
	name   string
	t0     time.Time
	hwm    atomic.Int64
	stderr *tailBuffer
	done   chan struct{}
}

// startProc starts name with args; its stdout goes to stdout (discarded when
// nil) and the end of its stderr is kept for error messages.
func startProc(ctx context.Context, stdout io.Writer, name string, args ...string) (*proc, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	// Cancelled runs get SIGTERM first, so servers flush and exit cleanly.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	cmd.Stdout = stdout
	p := &proc{cmd: cmd, name: shortName(name, args), stderr: &tailBuffer{max: 4000}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	p.t0 = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.name, err)
	}
	go p.watch()
	return p, nil
}

// watch polls the child's VmHWM until it exits.
func (p *proc) watch() {
	path := fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if n := statusKB(path, "VmHWM:"); n*1024 > p.hwm.Load() {
			p.hwm.Store(n * 1024)
		}
		select {
		case <-p.done:
			return
		case <-t.C:
		}
	}
}

// wait waits for the child to exit and returns what it cost.
func (p *proc) wait() (measured, error) {
	err := p.cmd.Wait()
	close(p.done)
	m := measured{wall: time.Since(p.t0), rss: p.hwm.Load()}
	if st := p.cmd.ProcessState; st != nil {
		m.cpu = st.UserTime() + st.SystemTime()
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			// Only a figure above this process's own peak is the child's.
			if rss := ru.Maxrss * 1024; rss > m.rss && rss > statusKB("/proc/self/status", "VmHWM:")*1024 {
				m.rss = rss
			}
		}
	}
	if err != nil {
		return m, fmt.Errorf("%s: %w\n%s", p.name, err, strings.TrimSpace(p.stderr.String()))
	}
	return m, nil
}

// stop asks the child to end (SIGTERM) and waits for it.
func (p *proc) stop() (measured, error) {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return measured{}, fmt.Errorf("stop %s: %w", p.name, err)
	}
	return p.wait()
}

// run runs a command to its end, measured; its stdout is returned.
func run(ctx context.Context, name string, args ...string) ([]byte, measured, error) {
	var out bytes.Buffer
	p, err := startProc(ctx, &out, name, args...)
	if err != nil {
		return nil, measured{}, err
	}
	m, err := p.wait()
	return out.Bytes(), m, err
}

// statusKB reads a "Key:  N kB" line of a /proc status file (0 when absent).
func statusKB(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func shortName(name string, args []string) string {
	s := name[strings.LastIndexByte(name, '/')+1:]
	if len(args) > 0 {
		s += " " + args[0]
	}
	return s
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// settle flushes dirty pages and reads path once, so a timed command neither
// pays for an earlier one's writeback nor starts with a cold page cache.
func settle(path string) error {
	syscall.Sync()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}
