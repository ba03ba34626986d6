package logins

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/spoor-dev/spoor/internal/atomicfile"
)

// position is where the follower stopped: the file (device and inode, so
// a rotation is told from a truncation) and the offset after the last
// whole line read.
type position struct {
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	Offset int64  `json:"offset"`
}

// follower reads the lines appended to a log file across rotations
// (rename and create, or copytruncate), remembering its position in a
// state file so a restart neither skips nor repeats lines.
//
// It is small on purpose: the agent's audit.log follower (internal/agent,
// internal/agent/audit) does the same job for audit.log; the two are to
// become one.
type follower struct {
	path    string
	posFile string
	pos     position
	// beforeSave, when set, makes what was read durable downstream first.
	beforeSave func() error
	loaded     bool
	skipped    int64 // lines over maxLine
}

// maxLine bounds a line; longer ones are skipped (and counted).
const maxLine = 64 << 10

// lineFunc receives a whole line (without its newline) with the inode and
// offset that identify it on this host.
type lineFunc func(line []byte, ino uint64, offset int64)

func (f *follower) load() {
	f.loaded = true
	b, err := os.ReadFile(f.posFile)
	if err != nil {
		return
	}
	var p position
	if json.Unmarshal(b, &p) == nil && p.Offset >= 0 {
		f.pos = p
	}
}

func (f *follower) save() error {
	if f.beforeSave != nil {
		if err := f.beforeSave(); err != nil {
			return fmt.Errorf("save position of %s: events not durable: %w", f.path, err)
		}
	}
	b, _ := json.Marshal(f.pos)
	if _, err := atomicfile.Write(f.posFile, b, 0o600); err != nil {
		return fmt.Errorf("save position of %s: %w", f.path, err)
	}
	return nil
}

// poll reads what was appended since the last poll and saves the position
// after fn has had the lines (at least once: a crash between the two reads
// them again, with the same inode and offsets, hence the same _ids).
// gap reports a rotated file that could not be finished.
func (f *follower) poll(fn lineFunc) (lines int, gap bool, err error) {
	if !f.loaded {
		f.load()
	}
	fi, err := os.Stat(f.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, false, nil
		}
		return 0, false, err
	}
	dev, ino := devIno(fi)
	start := f.pos
	if f.pos.Ino != 0 && (ino != f.pos.Ino || dev != f.pos.Dev) {
		// Rotated: finish the old file (now path.1) from where we were.
		if old, ok := f.rotated(); ok {
			n, _, err := f.read(old, f.pos.Offset, fn)
			lines += n
			old.Close()
			if err != nil {
				return lines, false, err
			}
		} else {
			gap = true
		}
		f.pos = position{Dev: dev, Ino: ino}
	} else if f.pos.Ino == 0 {
		f.pos = position{Dev: dev, Ino: ino}
	}
	if fi.Size() < f.pos.Offset { // truncated in place (copytruncate)
		f.pos.Offset = 0
	}
	if fi.Size() > f.pos.Offset {
		file, err := os.Open(f.path)
		if err != nil {
			return lines, gap, err
		}
		n, off, err := f.read(file, f.pos.Offset, fn)
		file.Close()
		lines += n
		f.pos.Offset = off
		if err != nil {
			return lines, gap, err
		}
	}
	if f.pos != start {
		if err := f.save(); err != nil {
			return lines, gap, err
		}
	}
	return lines, gap, nil
}

// rotated opens the rotated copy of the followed file, if it is there.
func (f *follower) rotated() (*os.File, bool) {
	for _, name := range []string{f.path + ".1", f.path + ".0"} {
		file, err := os.Open(name)
		if err != nil {
			continue
		}
		fi, err := file.Stat()
		if err == nil {
			if dev, ino := devIno(fi); dev == f.pos.Dev && ino == f.pos.Ino {
				return file, true
			}
		}
		file.Close()
	}
	return nil, false
}

// read hands fn the whole lines of file from off and returns the offset
// after the last one. A line longer than the reader's buffer (64 KiB) is
// skipped; an unfinished last line waits for its newline.
func (f *follower) read(file *os.File, off int64, fn lineFunc) (int, int64, error) {
	fi, err := file.Stat()
	if err != nil {
		return 0, off, err
	}
	_, ino := devIno(fi)
	if _, err := file.Seek(off, io.SeekStart); err != nil {
		return 0, off, err
	}
	r := bufio.NewReaderSize(file, maxLine)
	n := 0
	long := int64(-1) // where the line being skipped started
	for {
		chunk, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if long < 0 {
				long = off
			}
			off += int64(len(chunk))
			continue
		}
		if err != nil { // io.EOF
			if long >= 0 {
				return n, long, nil
			}
			return n, off, nil
		}
		start := off
		off += int64(len(chunk))
		if long >= 0 {
			long = -1
			f.skipped++
			continue
		}
		fn(chunk[:len(chunk)-1], ino, start)
		n++
	}
}

func devIno(fi os.FileInfo) (uint64, uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), st.Ino
	}
	return 0, 0
}
