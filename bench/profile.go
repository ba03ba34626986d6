package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// profEntry is one line of go tool pprof -top.
type profEntry struct {
	flatPct, cumPct string
	name            string
}

// profileInfo is a CPU profile of one more spoor ingest run.
type profileInfo struct {
	command   string
	wall      time.Duration
	header    string // pprof's duration and sample lines
	flat, cum []profEntry
}

// cpuProfile ingests the file once more into a fresh data dir with spoor's
// hidden --cpuprofile flag and summarises the profile with go tool pprof.
func (b *bench) cpuProfile(ctx context.Context) error {
	dir := filepath.Join(b.dir, "data-profile")
	prof := filepath.Join(b.dir, "ingest.pprof")
	if err := preRead(b.raw); err != nil {
		return err
	}
	logf("CPU profile: spoor --cpuprofile %s ingest --data %s %s", prof, dir, b.raw)
	r, err := runCmd(ctx, nil, b.spoor, "--cpuprofile", prof, "ingest", "--data", dir, b.raw)
	dropDir(dir)
	if err != nil {
		return err
	}
	p := &b.rep.profile
	p.command = "spoor --cpuprofile ingest.pprof ingest --data DIR events.ndjson"
	p.wall = r.wall
	for _, mode := range []string{"-top", "-cum"} {
		args := []string{"tool", "pprof", "-top", "-nodecount=15"}
		if mode == "-cum" {
			args = append(args, "-cum")
		}
		args = append(args, b.spoor, prof)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = b.root
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
		}
		header, entries := parsePprof(string(out))
		if mode == "-top" {
			p.header, p.flat = header, entries
		} else {
			p.cum = entries
		}
	}
	if len(p.flat) > 0 {
		logf("  top of the profile: %s %s, %s %s, %s %s", p.flat[0].name, p.flat[0].flatPct,
			p.flat[min(1, len(p.flat)-1)].name, p.flat[min(1, len(p.flat)-1)].flatPct,
			p.flat[min(2, len(p.flat)-1)].name, p.flat[min(2, len(p.flat)-1)].flatPct)
	}
	return nil
}

// parsePprof reads pprof -top text: its Duration line and the table rows.
func parsePprof(out string) (header string, entries []profEntry) {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if strings.HasPrefix(l, "Duration:") {
			header = strings.TrimSpace(l)
			continue
		}
		if len(f) < 6 || !strings.HasSuffix(f[1], "%") || !strings.HasSuffix(f[4], "%") {
			continue
		}
		entries = append(entries, profEntry{flatPct: f[1], cumPct: f[4], name: strings.Join(f[5:], " ")})
	}
	return header, entries
}
