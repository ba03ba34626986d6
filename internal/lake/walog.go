package lake

import (
	"context"

	"github.com/spoor-dev/spoor/internal/wal"
)

// walLog is the store's view of the write-ahead log.
type walLog struct {
	dir      string
	w        *wal.WAL
	problems []Problem
}

func openWAL(dir string, opts Options) (*walLog, error) {
	w, corrupt, err := wal.Open(dir, wal.Options{Logger: opts.Logger, Fault: opts.Fault})
	if err != nil {
		return nil, err
	}
	l := &walLog{dir: dir, w: w}
	for _, c := range corrupt {
		l.problems = append(l.problems, Problem{What: "wal", Path: dir, Msg: c.Error()})
	}
	return l, nil
}

func (l *walLog) append(ctx context.Context, rec []byte) error {
	_, err := l.w.Append(ctx, rec)
	return err
}

func (l *walLog) checkpoint(ctx context.Context) (wal.Pos, error) { return l.w.Cut(ctx) }

func (l *walLog) removeBefore(p wal.Pos) error { return l.w.RemoveBefore(p) }

func (l *walLog) replay(ctx context.Context, fn func([]byte) error) error {
	return l.w.Replay(ctx, wal.Pos{}, func(_ wal.Pos, rec []byte) error { return fn(rec) })
}

func (l *walLog) size() int64 { return l.w.Size() }

func (l *walLog) close() error { return l.w.Close() }
