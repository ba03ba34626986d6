package fim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/fsnotify/fsnotify"

	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/parse"
)

// Actions of file events. modify and attrib are the names the default
// rules (cron-file-write) and `spoor gen` use.
const (
	ActionCreate = "create"
	ActionModify = "modify" // content changed (the previous hash is in previous_sha256)
	ActionDelete = "delete"
	ActionRename = "rename" // path is the new name, old_path the old one
	ActionAttrib = "attrib" // mode or owner changed (chmod, chown)
)

// item is one path being reconciled.
type item struct {
	path   string
	op     fsnotify.Op
	old    Record
	hadOld bool
	cur    Record
	exists bool
	used   bool // a gone item that became the old half of a rename
}

type devIno struct{ dev, ino uint64 }

// reconcile compares paths with the baseline, emits an event per change
// and writes the baseline after emitting (a crash in between finds the
// change again at start, with the same _id). A directory that is new, or
// gone, brings the paths below it in: entries made before its watch
// existed have no inotify events, and a renamed directory's entries are
// renames too.
func (r *run) reconcile(ctx context.Context, paths []string, ops map[string]fsnotify.Op, how string) {
	queued := make(map[string]bool, len(paths))
	queue := make([]string, 0, len(paths))
	add := func(p string) {
		if !queued[p] {
			queued[p] = true
			queue = append(queue, p)
		}
	}
	for _, p := range paths {
		add(p)
	}
	var gone, present []*item
	for i := 0; i < len(queue); i++ {
		if ctx.Err() != nil {
			return
		}
		p := queue[i]
		if !r.inScope(p) {
			continue
		}
		it := &item{path: p, op: ops[p]}
		it.old, it.hadOld = r.base.get(p)
		fi, err := os.Lstat(p)
		if err != nil {
			if it.hadOld {
				gone = append(gone, it)
				if it.old.Kind == KindDir {
					for _, c := range sortedKeys(r.base.under(p)) {
						add(c)
					}
				}
			}
			continue
		}
		it.cur, it.exists = fromInfo(fi), true
		if it.cur.Kind == KindDir && (!it.hadOld || it.old.Kind != KindDir || it.old.Ino != it.cur.Ino) {
			r.watch(p)
			if entries, err := os.ReadDir(p); err == nil {
				for _, e := range entries {
					add(filepath.Join(p, e.Name()))
				}
			}
		}
		present = append(present, it)
	}

	// A path gone and one appeared with the same inode are the two names
	// of a rename, when inotify said the gone one was moved, or, where
	// inotify said nothing (a scan, a file in a moved directory), when the
	// content is unchanged too: a deleted file's inode is reused at once.
	renamedFrom := map[devIno]*item{}
	for _, g := range gone {
		if g.op.Has(fsnotify.Remove) && !g.op.Has(fsnotify.Rename) {
			continue
		}
		renamedFrom[devIno{g.old.Dev, g.old.Ino}] = g
	}
	pair := func(it *item) *item {
		g := renamedFrom[devIno{it.cur.Dev, it.cur.Ino}]
		if g == nil || g.used || g.old.Kind != it.cur.Kind {
			return nil
		}
		if !g.op.Has(fsnotify.Rename) && (g.old.Mtime != it.cur.Mtime || g.old.Size != it.cur.Size) {
			return nil
		}
		g.used = true
		return g
	}
	var changes []change
	for _, it := range present {
		sameInode := it.hadOld && it.old.Kind == it.cur.Kind && it.old.Ino == it.cur.Ino && it.old.Dev == it.cur.Dev
		var from *item
		if !sameInode {
			from = pair(it)
		}
		var prev *Record
		if from != nil {
			prev = &from.old
		} else if it.hadOld {
			prev = &it.old
		}
		cur, ok := r.observe(it.path, prev)
		if !ok {
			continue
		}
		it.cur = cur
		var ev source.Event
		switch {
		case from != nil:
			ev = r.event(ActionRename, it.path, &it.cur, &from.old, how)
			ev["old_path"] = from.path
			if it.hadOld && it.old.Hashed {
				// The rename replaced a file: what was there before.
				ev["replaced_sha256"] = hex.EncodeToString(it.old.SHA256[:])
			}
			changes = append(changes, change{path: from.path, delete: true})
		case !it.hadOld:
			ev = r.event(ActionCreate, it.path, &it.cur, nil, how)
		case contentChanged(&it.old, &it.cur):
			ev = r.event(ActionModify, it.path, &it.cur, &it.old, how)
		case !it.old.sameAttrs(&it.cur):
			ev = r.event(ActionAttrib, it.path, &it.cur, &it.old, how)
		}
		if ev != nil {
			r.emit(ev)
		}
		if ev != nil || it.cur != it.old {
			changes = append(changes, change{path: it.path, rec: it.cur})
		}
	}
	for _, g := range gone {
		if g.used {
			continue
		}
		action := ActionDelete
		if g.op.Has(fsnotify.Rename) {
			action = ActionRename // moved out of the watched paths
		}
		ev := r.event(action, g.path, &g.old, nil, how)
		if action == ActionRename {
			ev["old_path"] = g.path
			ev["moved_out"] = true
		}
		r.emit(ev)
		changes = append(changes, change{path: g.path, delete: true})
	}
	if r.cfg.Flushed != nil && len(changes) > 0 {
		if err := r.cfg.Flushed(ctx); err != nil {
			r.log.Warn("fim: events not durable, baseline left as it was", "err", err)
			return
		}
	}
	if err := r.base.apply(changes, nil); err != nil {
		r.log.Warn("fim baseline", "err", err)
	}
}

// contentChanged says a path's content differs from its baseline: the
// hash when both have one, else the size and mtime (files over the hash
// limit), a symlink's target, or its kind.
func contentChanged(old, cur *Record) bool {
	switch {
	case old.Kind != cur.Kind:
		return true
	case cur.Kind == KindSymlink:
		return old.Link != cur.Link
	case cur.Kind != KindFile:
		return false
	case old.Hashed && cur.Hashed:
		return old.SHA256 != cur.SHA256
	}
	return old.Size != cur.Size || old.Mtime != cur.Mtime || old.Hashed != cur.Hashed
}

// observe lstats p and hashes its content when it may have changed since
// prev (nil: unknown); ok is false when p vanished meanwhile.
func (r *run) observe(p string, prev *Record) (Record, bool) {
	fi, err := os.Lstat(p)
	if err != nil {
		return Record{}, false
	}
	cur := fromInfo(fi)
	switch cur.Kind {
	case KindSymlink:
		cur.Link, _ = os.Readlink(p)
	case KindFile:
		if prev != nil && prev.Kind == KindFile && prev.Size == cur.Size && prev.Mtime == cur.Mtime &&
			prev.Ctime == cur.Ctime && prev.Ino == cur.Ino && prev.Dev == cur.Dev {
			cur.Hashed, cur.Skipped, cur.SHA256 = prev.Hashed, prev.Skipped, prev.SHA256
			return cur, true
		}
		if r.cfg.MaxHashBytes < 0 || cur.Size > r.cfg.MaxHashBytes {
			cur.Skipped = true
			return cur, true
		}
		if sum, err := hashFile(p, r.cfg.MaxHashBytes); err == nil {
			cur.SHA256, cur.Hashed = sum, true
		}
	}
	return cur, true
}

// hashFile hashes at most limit bytes of p (a file that grew past the limit
// while read is not hashed).
func hashFile(p string, limit int64) ([32]byte, error) {
	var sum [32]byte
	f, err := os.Open(p)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, limit+1))
	if err != nil {
		return sum, err
	}
	if n > limit {
		return sum, fmt.Errorf("%s grew past the hash limit", p)
	}
	h.Sum(sum[:0])
	return sum, nil
}

// event builds a file event in Threat Stack's shape: path as a list (the
// typed path column), the owner as uid/gid/user/group, mode in octal.
func (r *run) event(action, p string, cur, prev *Record, how string) source.Event {
	ev := source.Event{
		"event_type":  "file",
		"event_time":  r.cfg.Now().UnixMilli(),
		"action":      action,
		"path":        []string{p},
		"filename":    filepath.Base(p),
		"file_type":   cur.Kind.String(),
		"size":        cur.Size,
		"mode":        fmt.Sprintf("%04o", cur.Mode),
		"uid":         int64(cur.UID),
		"gid":         int64(cur.GID),
		"mtime":       cur.Mtime / 1e6,
		"inode":       int64(cur.Ino),
		"detected_by": how,
	}
	if u := r.owners.user(cur.UID); u != "" {
		ev["user"] = u
	}
	if g := r.owners.group(cur.GID); g != "" {
		ev["group"] = g
	}
	hash := ""
	if cur.Hashed {
		hash = hex.EncodeToString(cur.SHA256[:])
		ev["sha256"] = hash
	} else if cur.Skipped {
		ev["hash_skipped"] = "size_limit"
	}
	if cur.Kind == KindSymlink {
		ev["link_target"] = cur.Link
	}
	if prev != nil {
		if prev.Hashed && (action == ActionModify || action == ActionRename) && prev.SHA256 != cur.SHA256 {
			ev["previous_sha256"] = hex.EncodeToString(prev.SHA256[:])
		}
		if prev.Mode != cur.Mode {
			ev["previous_mode"] = fmt.Sprintf("%04o", prev.Mode)
		}
		if prev.UID != cur.UID {
			ev["previous_uid"] = int64(prev.UID)
		}
		if prev.GID != cur.GID {
			ev["previous_gid"] = int64(prev.GID)
		}
		if action == ActionModify && prev.Size != cur.Size {
			ev["previous_size"] = prev.Size
		}
	}
	// The same observation gives the same _id (a change found again after
	// a crash before the baseline was written); ctime and inode, which no
	// copy preserves, keep two hosts' identical files apart.
	ev["_id"] = parse.HashID("fim", action, p, hash, strconv.FormatInt(cur.Size, 10),
		strconv.FormatInt(cur.Mtime, 10), strconv.FormatInt(cur.Ctime, 10), strconv.FormatUint(cur.Ino, 10),
		strconv.FormatUint(cur.Dev, 10), fmt.Sprint(cur.Mode, cur.UID, cur.GID))
	return ev
}

// owners caches uid and gid names (the lookups read /etc/passwd or NSS).
type owners struct {
	users, groups map[uint32]string
}

func newOwners() *owners {
	return &owners{users: map[uint32]string{}, groups: map[uint32]string{}}
}

func (o *owners) user(uid uint32) string {
	if n, ok := o.users[uid]; ok {
		return n
	}
	n := ""
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		n = u.Username
	}
	o.users[uid] = n
	return n
}

func (o *owners) group(gid uint32) string {
	if n, ok := o.groups[gid]; ok {
		return n
	}
	n := ""
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		n = g.Name
	}
	o.groups[gid] = n
	return n
}

func sortedKeys(m map[string]Record) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return dedupe(out)
}
