package wal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spoor-dev/spoor/internal/atomicfile"
)

const segmentExt = ".wal"

// segment is what the log knows about one segment file.
type segment struct {
	n     int
	size  int64 // bytes on disk; for the active segment, bytes fsynced
	valid int64 // end of the last good record; == size unless corrupt
}

func segmentName(n int) string { return fmt.Sprintf("%08d%s", n, segmentExt) }

// parseSegmentName returns the sequence number of a segment file name.
func parseSegmentName(name string) (int, bool) {
	digits, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(digits) < 8 || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil && n > 0
}

// listSegments returns the sequence numbers of the segment files in dir,
// in ascending order.
func listSegments(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ns []int
	for _, e := range entries {
		if n, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			ns = append(ns, n)
		}
	}
	slices.Sort(ns)
	return ns, nil
}

// createSegment creates segment n for appending and makes its directory
// entry durable.
func createSegment(dir string, n int, fault func(op, path string) error) (*os.File, error) {
	path := filepath.Join(dir, segmentName(n))
	if fault != nil {
		if err := fault("create", path); err != nil {
			return nil, fmt.Errorf("create segment %d: %w", n, err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create segment %d: %w", n, err)
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkSegment reads segment n from f and returns what it holds, with the
// first invalid record if any (Segment set).
func checkSegment(f *os.File, n int, sr *segmentReader) (segment, *CorruptionError, error) {
	fi, err := f.Stat()
	if err != nil {
		return segment{}, nil, fmt.Errorf("stat segment %d: %w", n, err)
	}
	s := segment{n: n, size: fi.Size()}
	sr.reset(f, 0, s.size)
	for {
		_, _, err := sr.next()
		var ce *CorruptionError
		switch {
		case err == io.EOF:
			s.valid = s.size
			return s, nil, nil
		case errors.As(err, &ce):
			ce.Segment = n
			s.valid = ce.Offset
			return s, ce, nil
		case err != nil:
			return segment{}, nil, fmt.Errorf("read segment %d: %w", n, err)
		}
	}
}

// missing reports the gap between segments after and before, both present.
func missing(after, before int) CorruptionError {
	reason := fmt.Sprintf("missing segment %d", after+1)
	if before-after > 2 {
		reason = fmt.Sprintf("missing segments %d-%d", after+1, before-1)
	}
	return CorruptionError{Segment: after + 1, Reason: reason}
}
