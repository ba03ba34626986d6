package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	libaudit "github.com/elastic/go-libaudit/v2"
	"github.com/elastic/go-libaudit/v2/auparse"
	"github.com/elastic/go-libaudit/v2/rule"
	"github.com/elastic/go-libaudit/v2/rule/flags"

	"github.com/spoor-dev/spoor/internal/agent/source"
)

// Defaults of NetlinkConfig.
const (
	DefaultQueue = 16384
	// quietFlush is how long the socket may be silent before the last
	// event counts as whole (the kernel ends most events with EOE anyway).
	quietFlush = 100 * time.Millisecond
	// statusEvery is how often the kernel's lost count is read.
	statusEvery = 10 * time.Second
	// idleSleep is the reader's pause on an empty socket.
	idleSleep = 5 * time.Millisecond
)

// DefaultRules are the audit rules the agent installs unless told not to:
// process executions, network connections, identity changes, kernel
// modules, ptrace, and writes to the files that give away a host.
var DefaultRules = []string{
	"-a always,exit -F arch=b64 -S execve,execveat -k spoor_exec",
	"-a always,exit -F arch=b32 -S execve,execveat -k spoor_exec",
	"-a always,exit -F arch=b64 -S connect,accept,accept4 -F success=1 -k spoor_net",
	"-a always,exit -F arch=b64 -S setuid,setgid,setreuid,setregid,setresuid,setresgid -k spoor_id",
	"-a always,exit -F arch=b64 -S init_module,finit_module,delete_module -k spoor_module",
	"-a always,exit -F arch=b64 -S ptrace -k spoor_ptrace",
	"-w /etc/passwd -p wa -k spoor_identity",
	"-w /etc/shadow -p wa -k spoor_identity",
	"-w /etc/group -p wa -k spoor_identity",
	"-w /etc/sudoers -p wa -k spoor_identity",
	"-w /etc/ssh/sshd_config -p wa -k spoor_sshd",
	"-w /root/.ssh -p wa -k spoor_ssh",
	"-w /etc/crontab -p wa -k spoor_cron",
	"-w /etc/ld.so.preload -p wa -k spoor_preload",
}

// NetlinkConfig configures the kernel audit source.
type NetlinkConfig struct {
	Host  string   // names the events
	Rules []string // auditctl rule lines to install (and remove on stop)
	// Queue bounds the records waiting to be decoded (default 16384):
	// the socket is read whatever the decoding does, and what does not
	// fit is counted lost ("backlog"), never waited for.
	Queue  int
	Logger *slog.Logger
}

// Netlink is the audit source that reads the kernel's audit netlink
// socket: unicast (as the audit daemon) when no auditd holds it, else the
// read-only multicast group, as auditbeat does.
type Netlink struct {
	cfg       NetlinkConfig
	ctl       *libaudit.AuditClient // unicast: status, rules, and events when it is the daemon
	rd        *libaudit.AuditClient // where events are read (ctl or a multicast client)
	multicast bool
	rules     []rule.WireFormat // installed by us, removed on stop
	lostStart uint32

	mu     sync.Mutex
	losses map[string]int64
}

// ParseRules reads auditctl rule lines ("#" comments and blank lines
// skipped) into the kernel's wire format.
func ParseRules(lines []string) ([]rule.WireFormat, error) {
	var out []rule.WireFormat
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		r, err := flags.Parse(l)
		if err != nil {
			return nil, fmt.Errorf("audit rule %d %q: %w", i+1, l, err)
		}
		if r.TypeOf() == rule.DeleteAllRuleType {
			continue // the agent removes only what it added
		}
		wf, err := rule.Build(r)
		if err != nil {
			return nil, fmt.Errorf("audit rule %d %q: %w", i+1, l, err)
		}
		out = append(out, wf)
	}
	return out, nil
}

// OpenNetlink connects to the kernel's audit system, installs the rules and
// takes the events: an error here (EPERM without CAP_AUDIT_CONTROL and
// CAP_AUDIT_READ, EPROTONOSUPPORT in a container without audit) is the
// caller's cue to follow auditd's log instead.
func OpenNetlink(cfg NetlinkConfig) (*Netlink, error) {
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	wfs, err := ParseRules(cfg.Rules)
	if err != nil {
		return nil, err
	}
	ctl, err := libaudit.NewAuditClient(nil)
	if err != nil {
		return nil, fmt.Errorf("audit netlink: %w", err)
	}
	n := &Netlink{cfg: cfg, ctl: ctl, losses: map[string]int64{}}
	st, err := ctl.GetStatus()
	if err != nil {
		ctl.Close()
		return nil, fmt.Errorf("audit status: %w", err)
	}
	n.lostStart = st.Lost
	for _, wf := range wfs {
		if err := ctl.AddRule(wf); err != nil {
			if strings.Contains(err.Error(), "rule exists") {
				continue // someone's, left alone
			}
			n.Close()
			return nil, fmt.Errorf("add audit rule: %w", err)
		}
		n.rules = append(n.rules, wf)
	}
	if err := ctl.SetEnabled(true, libaudit.WaitForReply); err != nil {
		n.Close()
		return nil, fmt.Errorf("enable audit: %w", err)
	}
	if st.PID != 0 && alive(int(st.PID)) {
		// auditd holds the unicast socket: read beside it.
		rd, err := libaudit.NewMulticastAuditClient(nil)
		if err != nil {
			n.Close()
			return nil, fmt.Errorf("audit multicast: %w", err)
		}
		n.rd, n.multicast = rd, true
		cfg.Logger.Info("audit: auditd holds the audit socket, reading its multicast group", "auditd_pid", st.PID)
	} else {
		if err := ctl.SetPID(libaudit.WaitForReply); err != nil {
			n.Close()
			return nil, fmt.Errorf("take the audit socket: %w", err)
		}
		n.rd = ctl
	}
	return n, nil
}

// alive says whether process pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Name implements source.Source.
func (n *Netlink) Name() string { return "audit-netlink" }

// Multicast says whether events are read beside auditd.
func (n *Netlink) Multicast() bool { return n.multicast }

// Losses implements source.Lossy: "kernel_lost" (the kernel's lost count
// since the agent started), "backlog" (records the agent's queue could not
// take), "reassembly_gaps" and "unreadable_records".
func (n *Netlink) Losses() map[string]int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[string]int64, len(n.losses))
	for k, v := range n.losses {
		out[k] = v
	}
	return out
}

// Run implements source.Source: one goroutine only reads the socket into
// a bounded queue; this one decodes.
func (n *Netlink) Run(ctx context.Context, emit source.Emit) error {
	queue := make(chan []byte, n.cfg.Queue)
	g := newGrouper(n.cfg.Host, emit)
	var stop atomic.Bool
	readDone := make(chan error, 1)
	go func() { readDone <- n.read(queue, &stop) }()
	status := time.NewTicker(statusEvery)
	defer status.Stop()
	quiet := time.NewTimer(quietFlush)
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			stop.Store(true)
			<-readDone
		drain:
			for {
				select {
				case line := <-queue:
					g.line(ctx, line, 0)
				default:
					break drain
				}
			}
			g.flush(context.WithoutCancel(ctx), true)
			n.publish(g)
			return n.Close()
		case err := <-readDone:
			return fmt.Errorf("audit netlink: %w", err)
		case line := <-queue:
			g.line(ctx, line, 0)
			if len(queue) == 0 {
				g.flush(ctx, false)
				quiet.Reset(quietFlush)
			}
		case <-quiet.C:
			g.flush(ctx, true)
			n.publish(g)
			quiet.Reset(quietFlush)
		case <-status.C:
			n.kernelStatus()
		}
	}
}

// read receives records and queues them as log lines, dropping (and
// counting) what the queue cannot take: the kernel is never kept waiting.
// The socket is read without blocking (a blocked read would outlive Close),
// with a short sleep when it is empty, until stop.
func (n *Netlink) read(queue chan<- []byte, stop *atomic.Bool) error {
	for !stop.Load() {
		msg, err := n.rd.Receive(true)
		if err != nil {
			switch {
			case errors.Is(err, syscall.EAGAIN):
				time.Sleep(idleSleep)
			case errors.Is(err, syscall.EINTR):
			case errors.Is(err, syscall.ENOBUFS):
				n.lose("backlog", 1) // the socket's own buffer overflowed
			default:
				return err
			}
			continue
		}
		if msg.Type < auparse.AUDIT_USER_AUTH || msg.Type > auparse.AUDIT_LAST_USER_MSG2 && msg.Type < 1300 {
			continue // replies to control messages, not events
		}
		line := make([]byte, 0, len(msg.Data)+32)
		line = append(line, "type="...)
		line = append(line, msg.Type.String()...)
		line = append(line, " msg="...)
		line = append(line, msg.Data...)
		select {
		case queue <- line:
		default:
			n.lose("backlog", 1)
		}
	}
	return nil
}

func (n *Netlink) lose(reason string, k int64) {
	n.mu.Lock()
	n.losses[reason] += k
	n.mu.Unlock()
}

// publish copies the decoder's tallies into the losses.
func (n *Netlink) publish(g *grouper) {
	n.mu.Lock()
	n.losses["reassembly_gaps"] = g.gaps
	n.losses["unreadable_records"] = g.rejects
	n.mu.Unlock()
	n.kernelStatus()
}

// kernelStatus reads the kernel's count of records it dropped.
func (n *Netlink) kernelStatus() {
	if n.multicast {
		return // reading status needs the unicast socket, which auditd owns
	}
	st, err := n.ctl.GetStatus()
	if err != nil {
		return
	}
	n.mu.Lock()
	n.losses["kernel_lost"] = int64(st.Lost - n.lostStart)
	n.mu.Unlock()
	if st.Backlog > st.BacklogLimit/2 {
		n.cfg.Logger.Warn("audit: kernel backlog over half full", "backlog", st.Backlog, "limit", st.BacklogLimit)
	}
}

// Close removes the rules the agent added and gives the audit socket back.
// Audit stays enabled: another reader (auditd, a second agent) may rely on
// it, and with no rules the kernel sends next to nothing.
func (n *Netlink) Close() error {
	var errs []error
	if n.rd != nil && n.rd != n.ctl {
		errs = append(errs, n.rd.Close())
	}
	if n.ctl != nil {
		if ctl, err := libaudit.NewAuditClient(nil); err == nil { // replies go to a socket of their own
			for _, wf := range n.rules {
				if err := ctl.DeleteRule(wf); err != nil {
					errs = append(errs, fmt.Errorf("remove audit rule: %w", err))
				}
			}
			ctl.Close()
		}
		errs = append(errs, n.ctl.Close())
		n.ctl, n.rules = nil, nil
	}
	n.rd = nil
	if err := errors.Join(errs...); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}
