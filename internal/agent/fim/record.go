package fim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// Kind is what a path is.
type Kind uint8

const (
	KindFile Kind = iota + 1
	KindDir
	KindSymlink
	KindOther // device, fifo, socket
)

func (k Kind) String() string {
	switch k {
	case KindFile:
		return "file"
	case KindDir:
		return "dir"
	case KindSymlink:
		return "symlink"
	case KindOther:
		return "other"
	}
	return "unknown"
}

// Record is what the baseline remembers of one path: enough to tell a
// change (size, times, inode, owner, mode, content hash) and to describe
// the path once it is gone.
type Record struct {
	Kind  Kind
	Size  int64
	Mtime int64 // ns since the epoch
	Ctime int64 // ns; changes with content and with attributes, and cannot be set from user space
	Mode  uint32
	UID   uint32
	GID   uint32
	Dev   uint64
	Ino   uint64
	// Hashed says SHA256 holds the content's hash; a regular file over the
	// size limit is not hashed (Skipped).
	Hashed  bool
	Skipped bool
	SHA256  [32]byte
	Link    string // a symlink's target
}

// The on-disk record (the value of a path's key in the baseline):
//
//	byte    version (1)
//	byte    kind
//	byte    flags: 1 hashed, 2 hash skipped (over the size limit)
//	varint  size, mtime, ctime
//	uvarint mode, uid, gid, dev, ino
//	[32]    sha256, only when hashed
//	uvarint length + bytes of the link target, only for a symlink
const (
	recordVersion = 1
	flagHashed    = 1
	flagSkipped   = 2
	maxLink       = 4096 // PATH_MAX
)

var errRecord = errors.New("bad baseline record")

// encode appends r's on-disk form to b.
func (r *Record) encode(b []byte) []byte {
	var flags byte
	if r.Hashed {
		flags |= flagHashed
	}
	if r.Skipped {
		flags |= flagSkipped
	}
	b = append(b, recordVersion, byte(r.Kind), flags)
	b = binary.AppendVarint(b, r.Size)
	b = binary.AppendVarint(b, r.Mtime)
	b = binary.AppendVarint(b, r.Ctime)
	b = binary.AppendUvarint(b, uint64(r.Mode))
	b = binary.AppendUvarint(b, uint64(r.UID))
	b = binary.AppendUvarint(b, uint64(r.GID))
	b = binary.AppendUvarint(b, r.Dev)
	b = binary.AppendUvarint(b, r.Ino)
	if r.Hashed {
		b = append(b, r.SHA256[:]...)
	}
	if r.Kind == KindSymlink {
		b = binary.AppendUvarint(b, uint64(len(r.Link)))
		b = append(b, r.Link...)
	}
	return b
}

// decodeRecord reads a record written by encode; anything else is an error,
// never a panic (the baseline file may be torn or tampered with).
func decodeRecord(b []byte) (Record, error) {
	var r Record
	if len(b) < 3 {
		return r, fmt.Errorf("%w: %d bytes", errRecord, len(b))
	}
	if b[0] != recordVersion {
		return r, fmt.Errorf("%w: version %d", errRecord, b[0])
	}
	r.Kind = Kind(b[1])
	if r.Kind < KindFile || r.Kind > KindOther {
		return r, fmt.Errorf("%w: kind %d", errRecord, b[1])
	}
	flags := b[2]
	if flags&^(flagHashed|flagSkipped) != 0 {
		return r, fmt.Errorf("%w: flags %#x", errRecord, flags)
	}
	r.Hashed, r.Skipped = flags&flagHashed != 0, flags&flagSkipped != 0
	d := decoder{b: b[3:]}
	r.Size, r.Mtime, r.Ctime = d.varint(), d.varint(), d.varint()
	r.Mode, r.UID, r.GID = d.uint32(), d.uint32(), d.uint32()
	r.Dev, r.Ino = d.uvarint(), d.uvarint()
	if r.Hashed {
		copy(r.SHA256[:], d.take(32))
	}
	if r.Kind == KindSymlink {
		n := d.uvarint()
		if n > maxLink {
			d.err = true
		} else {
			r.Link = string(d.take(int(n)))
		}
	}
	if d.err || len(d.b) != 0 {
		return Record{}, fmt.Errorf("%w: truncated or trailing bytes", errRecord)
	}
	return r, nil
}

// decoder reads varints, remembering the first failure.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint32() uint32 {
	v := d.uvarint()
	if v > 1<<32-1 {
		d.err = true
	}
	return uint32(v)
}

func (d *decoder) take(n int) []byte {
	if len(d.b) < n {
		d.err, d.b = true, nil
		return make([]byte, n)
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// fromInfo fills the metadata of a record from lstat's answer (no hash).
func fromInfo(fi fs.FileInfo) Record {
	r := Record{Size: fi.Size(), Mtime: fi.ModTime().UnixNano(), Mode: uint32(fi.Mode().Perm())}
	switch m := fi.Mode(); {
	case m.IsRegular():
		r.Kind = KindFile
	case m.IsDir():
		r.Kind = KindDir
	case m&fs.ModeSymlink != 0:
		r.Kind = KindSymlink
	default:
		r.Kind = KindOther
	}
	// setuid, setgid and sticky matter to a FIM (a new setuid binary).
	if fi.Mode()&fs.ModeSetuid != 0 {
		r.Mode |= 0o4000
	}
	if fi.Mode()&fs.ModeSetgid != 0 {
		r.Mode |= 0o2000
	}
	if fi.Mode()&fs.ModeSticky != 0 {
		r.Mode |= 0o1000
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		r.UID, r.GID = st.Uid, st.Gid
		r.Dev, r.Ino = uint64(st.Dev), st.Ino
		r.Ctime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
	}
	return r
}

// sameAttrs says mode and owner are unchanged.
func (r *Record) sameAttrs(o *Record) bool {
	return r.Mode == o.Mode && r.UID == o.UID && r.GID == o.GID
}
