package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
)

// The default gen windows (2020-02-05 for 12 days and 2020-09-15 for 3
// days) hold 360 hours.
const genHours = 360

// genInfo is the generated data set.
type genInfo struct {
	hosts   int
	rate    float64
	events  int64 // as gen counted them
	bytes   int64
	command string
	wall    time.Duration
}

var genCount = regexp.MustCompile(`gen: (\d+) events`)

// genArgs are the arguments of spoor gen for hosts and rate.
func (b *bench) genArgs(out string, hosts int, rate float64) []string {
	return []string{"gen", "--out", out, "--hosts", strconv.Itoa(hosts), "--rate", strconv.FormatFloat(rate, 'f', 3, 64), "--seed", strconv.FormatUint(b.cfg.seed, 10)}
}

// generate writes at least -events events with spoor gen. Events come out
// as about hosts x hours x rate, less a few per cent; gen is deterministic and
// fast, so the rate is calibrated by generating to /dev/null first.
func (b *bench) generate(ctx context.Context) error {
	n := b.cfg.events
	hosts := int(min(max(n/50_000, 20), 200))
	rate := float64(n) / float64(hosts*genHours)
	var got int64
	for i := 0; i < 4; i++ {
		logf("calibrating gen: --hosts %d --rate %.3f (to /dev/null)", hosts, rate)
		r, err := runCmd(ctx, io.Discard, b.spoor, b.genArgs("-", hosts, rate)...)
		if err != nil {
			return err
		}
		m := genCount.FindSubmatch(r.stderr)
		if m == nil {
			return fmt.Errorf("spoor gen printed no event count: %s", r.stderr)
		}
		got, _ = strconv.ParseInt(string(m[1]), 10, 64)
		if got >= n && float64(got) <= float64(n)*1.02 {
			break
		}
		rate *= float64(n) / float64(got) * 1.004
	}
	if got < n {
		logf("gen calibration ended %d events short of %d; going on with %d", n-got, n, got)
	}
	b.raw = filepath.Join(b.dir, "events.ndjson")
	args := b.genArgs(b.raw, hosts, rate)
	logf("generating: spoor %s", join(args))
	r, err := runCmd(ctx, nil, b.spoor, args...)
	if err != nil {
		return err
	}
	st, err := os.Stat(b.raw)
	if err != nil {
		return err
	}
	m := genCount.FindSubmatch(r.stderr)
	if m == nil {
		return fmt.Errorf("spoor gen printed no event count: %s", r.stderr)
	}
	got, _ = strconv.ParseInt(string(m[1]), 10, 64)
	args[2] = "events.ndjson"
	b.rep.gen = genInfo{hosts: hosts, rate: rate, events: got, bytes: st.Size(), command: "spoor " + join(args), wall: r.wall}
	logf("generated %d events, %s (%.0f bytes/event) in %.1fs", got, gib(st.Size()), float64(st.Size())/float64(got), r.wall.Seconds())
	return nil
}

// needle is an agent and a 90 s window around one of its events.
type needle struct {
	agent    string
	from, to int64 // epoch ms, inclusive
}

// pickNeedle takes the first event with an agent and a time after the middle
// of the file, and centres a 90 s window on it.
func pickNeedle(path string) (needle, error) {
	f, err := os.Open(path)
	if err != nil {
		return needle{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return needle{}, err
	}
	if _, err := f.Seek(st.Size()/2, io.SeekStart); err != nil {
		return needle{}, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	if _, err := br.ReadSlice('\n'); err != nil { // the rest of a line
		return needle{}, err
	}
	for {
		l, err := br.ReadBytes('\n')
		if len(l) > 0 {
			var ev struct {
				AgentID   string `json:"agent_id"`
				EventTime int64  `json:"event_time"`
			}
			if json.Unmarshal(l, &ev) == nil && ev.AgentID != "" && ev.EventTime > 0 {
				return needle{agent: ev.AgentID, from: ev.EventTime - 45_000, to: ev.EventTime + 45_000}, nil
			}
		}
		if err != nil {
			return needle{}, fmt.Errorf("no event with agent_id and event_time in the second half of %s", path)
		}
	}
}

// gzipSize compresses the file with klauspost gzip level 6 (the same
// algorithm and level as gzip -6), as independent 16 MiB members on every
// core, and returns the compressed size. Members cost a few bytes each and
// restart the 32 KiB window; on 16 MiB blocks that is noise.
func gzipSize(ctx context.Context, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	const block = 16 << 20
	var (
		total atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		ferr  error
	)
	workers := runtime.GOMAXPROCS(0)
	blocks := make(chan []byte, workers)
	free := make(chan []byte, 2*workers+1)
	for range cap(free) {
		free <- make([]byte, block)
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cw := &countWriter{}
			zw, _ := gzip.NewWriterLevel(cw, 6)
			for buf := range blocks {
				cw.n = 0
				zw.Reset(cw)
				_, err := zw.Write(buf)
				if err == nil {
					err = zw.Close()
				}
				if err != nil {
					mu.Lock()
					ferr = err
					mu.Unlock()
				}
				total.Add(cw.n)
				free <- buf[:cap(buf)]
			}
		}()
	}
	var rerr error
	for ctx.Err() == nil {
		buf := <-free
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			blocks <- buf[:n]
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	close(blocks)
	wg.Wait()
	if rerr == nil {
		rerr = ctx.Err()
	}
	if rerr == nil {
		rerr = ferr
	}
	return total.Load(), rerr
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// join renders arguments as a shell command line.
func join(args []string) string {
	s := ""
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		s += shellQuote(a)
	}
	return s
}
