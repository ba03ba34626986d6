package logins

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/atomicfile"
	"github.com/spoor-dev/spoor/internal/parse"
)

// journalEntry is the part of `journalctl -o json` output read here.
type journalEntry struct {
	Cursor   string `json:"__CURSOR"`
	Realtime string `json:"__REALTIME_TIMESTAMP"` // microseconds
	Ident    string `json:"SYSLOG_IDENTIFIER"`
	PID      string `json:"_PID"`
	Host     string `json:"_HOSTNAME"`
	// MESSAGE is a string, or an array of bytes when it is not UTF-8
	// (those are skipped).
	Message json.RawMessage `json:"MESSAGE"`
}

// journalLine turns one line of `journalctl -o json` into a syslog line.
func journalLine(b []byte) (line, string, bool) {
	var e journalEntry
	if err := json.Unmarshal(b, &e); err != nil || e.Cursor == "" {
		return line{}, "", false
	}
	var msg string
	if err := json.Unmarshal(e.Message, &msg); err != nil {
		return line{}, "", false
	}
	us, err := strconv.ParseInt(e.Realtime, 10, 64)
	if err != nil {
		return line{}, "", false
	}
	return line{t: time.UnixMicro(us), host: e.Host, prog: e.Ident, pid: atoi(e.PID), msg: msg}, e.Cursor, true
}

// followJournal runs journalctl --follow from the saved cursor (the
// current boot at the first start) and restarts it if it stops, until ctx
// ends. The cursor is saved every Poll, so a restart reads at most that
// much again; the _id is the entry's cursor, so those dedupe.
func (s *Source) followJournal(ctx context.Context, bin string, emit source.Emit) error {
	curFile := filepath.Join(s.cfg.StateDir, "logins-journal.cursor")
	cursor := ""
	if b, err := os.ReadFile(curFile); err == nil {
		cursor = strings.TrimSpace(string(b))
	}
	saved := cursor
	save := func() {
		if cursor != saved {
			if _, err := atomicfile.Write(curFile, []byte(cursor), 0o600); err != nil {
				s.log.Warn("journal cursor", "err", err)
				return
			}
			saved = cursor
		}
	}
	defer save()
	for {
		args := []string{"-o", "json", "--no-pager", "--follow"}
		if cursor != "" {
			args = append(args, "--after-cursor="+cursor)
		} else {
			args = append(args, "--boot")
		}
		// The programs whose entries are read (journalctl ORs matches on
		// one field).
		for _, id := range []string{"sshd", "sshd-session", "sudo", "su", "login"} {
			args = append(args, "SYSLOG_IDENTIFIER="+id)
		}
		cmd := exec.CommandContext(ctx, bin, args...)
		out, err := cmd.StdoutPipe()
		if err == nil {
			err = cmd.Start()
		}
		if err == nil {
			lastSave := time.Now()
			sc := bufio.NewScanner(out)
			sc.Buffer(make([]byte, 64<<10), maxLine)
			for sc.Scan() {
				l, cur, ok := journalLine(sc.Bytes())
				if !ok {
					continue
				}
				cursor = cur
				if ev, ok := authEvent(l); ok {
					ev["log_source"] = "journald"
					ev["_id"] = parse.HashID("journald", cur)
					emit(ev)
				}
				if time.Since(lastSave) >= s.cfg.Poll {
					save()
					lastSave = time.Now()
				}
			}
			err = cmd.Wait()
		}
		save()
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("journalctl stopped; restarting in 5s", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
		}
	}
}
